"""A proposed re-plan shown as a diff (moves, new assignments, jobs left out and why): apply or discard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dispatch_tui.actions import ReplanProposal


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


class ReplanScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ReplanScreen { align: center middle; }
    ReplanScreen > Vertical { width: 90%; height: 90%; border: round $warning; background: $surface; padding: 0 1; }
    ReplanScreen #error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("y,enter", "apply", "Apply"),
        Binding("n,escape", "discard", "Discard"),
    ]

    def __init__(
        self, title: str, proposal: ReplanProposal, zone: tzinfo, apply: Callable[[], Awaitable[str | None]]
    ) -> None:
        super().__init__()
        self.title_text = title
        self.proposal = proposal
        self.zone = zone
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            with VerticalScroll():
                yield Static(render_proposal(self.proposal, self.zone), markup=False)
            yield Static("", id="error", markup=False)
            yield Static(Text("y apply (one change, undoable with u) · n discard", style="dim"), markup=False)

    async def action_apply(self) -> None:
        if self.proposal.empty:
            self.dismiss(False)
            return
        refusal = await self.apply()
        if refusal:
            self.query_one("#error", Static).update(Text(refusal, style="bold red"))
        else:
            self.dismiss(True)

    def action_discard(self) -> None:
        self.dismiss(False)
