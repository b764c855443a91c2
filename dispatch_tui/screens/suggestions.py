"""`s` on a job: the scheduler's ranked places for it; one key (1-9 or Enter) assigns the chosen one.

The dialog opens at once with a progress indicator while the scheduler works in a thread worker
(`SolverDialog`); the keys and the live feed go on meanwhile, and Esc cancels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message_pump import MessagePump
from textual.widgets import Label, LoadingIndicator, OptionList, Static
from textual.widgets.option_list import Option

from dispatch_tui.actions import Suggestion
from dispatch_tui.messages import ActionRefused, ActionSucceeded, Notice
from dispatch_tui.screens.solver_call import Answered, SolverDialog
from dispatch_tui.widgets.keyed_table import fit


class SuggestionsScreen(SolverDialog[list[Suggestion], Suggestion | None]):
    DEFAULT_CSS = """
    SuggestionsScreen { align: center middle; }
    SuggestionsScreen > Vertical { width: 90; max-width: 100%; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    SuggestionsScreen OptionList { height: auto; max-height: 12; }
    SuggestionsScreen LoadingIndicator { height: 3; }
    SuggestionsScreen #error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        *[Binding(str(i), f"pick({i - 1})", f"Pick {i}", show=False) for i in range(1, 10)],
    ]
    what = "the suggestion search"

    def __init__(
        self,
        job_ref: str,
        compute: Callable[[], list[Suggestion]],
        zone: tzinfo,
        choose: Callable[[Suggestion, MessagePump], None],
        cancel: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(compute, cancel)
        self.job_ref = job_ref
        self.suggestions: list[Suggestion] = []
        self.zone = zone
        self.choose = choose
        self.chosen: Suggestion | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Where could {self.job_ref} go? (cheapest first)", style="bold"))
            yield LoadingIndicator()
            options = OptionList(id="suggestions")
            options.display = False
            yield options
            yield Static("", id="none", markup=False)
            yield Static("", id="error", markup=False)
            yield Static(Text("1-9 or Enter assigns · Esc cancels", style="dim"), markup=False)

    def _line(self, i: int, s: Suggestion) -> Text:
        t = Text()
        t.append(f"{i + 1}  ", style="bold")
        t.append(f"{s.technician:<6} {fit(s.technician_name, 20):<20} {s.start.astimezone(self.zone):%H:%M}  ")
        t.append(s.explained, style="bold red" if s.lateness_minutes else "yellow" if s.overtime_minutes else "")
        return t

    def on_mount(self) -> None:
        self.start()

    def on_answered(self, message: Answered) -> None:
        self.suggestions = cast(list[Suggestion], message.answer)
        self.query_one(LoadingIndicator).display = False
        options = self.query_one(OptionList)
        options.add_options([Option(self._line(i, s), id=str(i)) for i, s in enumerate(self.suggestions)])
        options.display = True
        options.focus()
        if not self.suggestions:
            text = Text("No technician can take this job today (skills, shifts, windows).", style="yellow")
            self.query_one("#none", Static).update(text)
        self.app.post_message(Notice(f"{len(self.suggestions)} place(s) for {self.job_ref}"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(int(event.option.id or 0))

    def action_pick(self, index: int) -> None:
        """Assign the chosen place in a worker; the answer closes the dialog or shows the refusal here."""
        if not 0 <= index < len(self.suggestions) or self.chosen is not None:
            return
        self.chosen = self.suggestions[index]
        self.query_one("#error", Static).update(Text("assigning...", style="dim"))
        self.choose(self.chosen, self)

    def on_action_succeeded(self, _message: ActionSucceeded) -> None:
        self.dismiss(self.chosen)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.chosen = None
        self.query_one("#error", Static).update(Text(message.text, style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)
