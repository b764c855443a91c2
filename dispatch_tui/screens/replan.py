"""A proposed re-plan shown as a diff (moves, new assignments, jobs left out and why): apply or discard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message_pump import MessagePump
from textual.widgets import Label, LoadingIndicator, Static

from dispatch_tui.actions import ReplanProposal
from dispatch_tui.messages import ActionRefused, ActionSucceeded
from dispatch_tui.screens.solver_call import Answered, Failed, SolverDialog


def render_proposal(p: ReplanProposal, zone: tzinfo) -> Text:
    out = Text()
    if p.empty:
        out.append("The current plan is already the best the scheduler finds: nothing to change.\n", style="green")
        return out
    if p.moves:
        out.append(f"Moves ({len(p.moves)})\n", style="bold")
        for ref, old_t, new_t, old_s, new_s in p.moves:
            who = f"{old_t} -> {new_t}" if old_t != new_t else old_t
            out.append(f"  ~ {ref:<9} {who:<14} {old_s.astimezone(zone):%H:%M} -> {new_s.astimezone(zone):%H:%M}\n")
    if p.new_assignments:
        out.append(f"New assignments ({len(p.new_assignments)})\n", style="bold")
        for ref, tech, start in p.new_assignments:
            out.append(f"  + {ref:<9} {tech:<14} {start.astimezone(zone):%H:%M}\n", style="green")
    if p.left_out:
        out.append(f"Left out ({len(p.left_out)})\n", style="bold")
        for ref, reason in p.left_out:
            out.append(f"  - {ref:<9} {reason}\n", style="red")
    return out


class ReplanScreen(SolverDialog[ReplanProposal, bool]):
    """The proposal computed in a worker (progress shown meanwhile), then apply (y) or discard (n, Esc).

    With no `apply` (a read-only session) the proposal is shown and applying is never offered.
    """

    DEFAULT_CSS = """
    ReplanScreen { align: center middle; }
    ReplanScreen > Vertical { width: 90%; height: 90%; border: round $warning; background: $surface; padding: 0 1; }
    ReplanScreen LoadingIndicator { height: 3; }
    ReplanScreen #error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("y,enter", "apply", "Apply"),
        Binding("n,escape", "discard", "Discard"),
    ]
    what = "the re-plan"

    def __init__(
        self,
        title: str,
        compute: Callable[[], ReplanProposal],
        zone: tzinfo,
        apply: Callable[[ReplanProposal, MessagePump], None] | None,
        cancel: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(compute, cancel)
        self.title_text = title
        self.proposal: ReplanProposal | None = None
        self.zone = zone
        self.apply = apply
        self.applying = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield LoadingIndicator()
            with VerticalScroll():
                yield Static("", id="proposal", markup=False)
            yield Static("", id="error", markup=False)
            yield Static(Text("computing the re-plan... · n discard", style="dim"), id="hint", markup=False)

    def on_mount(self) -> None:
        self.start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return self.apply is not None and self.proposal is not None and not self.proposal.empty
        return True

    def on_answered(self, message: Answered) -> None:
        proposal = cast(ReplanProposal, message.answer)
        self.proposal = proposal
        self.query_one(LoadingIndicator).display = False
        self.query_one("#proposal", Static).update(render_proposal(proposal, self.zone))
        if self.apply is None:
            hint = "read-only: supervisors cannot apply a re-plan · n close"
        elif proposal.empty:
            hint = "nothing to apply · n close"
        else:
            hint = "y apply (one change, undoable with u) · n discard"
        self.query_one("#hint", Static).update(Text(hint, style="dim"))
        self.refresh_bindings()

    def on_failed(self, _message: Failed) -> None:
        # SolverDialog.on_failed runs too (Textual calls each class's handler): it shows the error.
        self.query_one("#hint", Static).update(Text("n close", style="dim"))

    def action_apply(self) -> None:
        """Apply in a worker; the answer closes the dialog or shows the refusal here."""
        proposal = self.proposal
        if self.apply is None or proposal is None or proposal.empty or self.applying:
            return
        self.applying = True
        self.query_one("#hint", Static).update(Text("applying the re-plan...", style="dim"))
        self.apply(proposal, self)

    def on_action_succeeded(self, _message: ActionSucceeded) -> None:
        self.dismiss(True)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.applying = False
        self.query_one("#error", Static).update(Text(message.text, style="bold red"))
        self.query_one("#hint", Static).update(Text("n close", style="dim"))

    def action_discard(self) -> None:
        self.dismiss(False)
