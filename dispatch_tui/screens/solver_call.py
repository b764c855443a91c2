"""One slow call (the scheduler) run in a thread worker by the dialog that shows its answer.

The dialog opens at once with a progress indicator; the worker posts `Answered` or `Failed` to it.
Esc dismisses the dialog, which cancels its worker: a late answer is dropped, never applied, and the
search itself is ended when it runs in the solver process (`cancel`). A
refusal from a service shows its own message; any other failure shows its kind only (the text of an
unexpected error may carry customer data), goes to the log, and the console stays up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from rich.text import Text
from textual import work
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import LoadingIndicator, Static
from textual.worker import get_current_worker

from dispatch_tui.call_failure import failure_text
from dispatch_tui.messages import Notice

T = TypeVar("T")
R = TypeVar("R")


class Answered(Message):
    """The scheduler's answer arrived (the dialog knows its type)."""

    def __init__(self, answer: object) -> None:
        super().__init__()
        self.answer = answer


class Failed(Message):
    """The call failed; `text` is what to show in place."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SolverDialog(ModalScreen[R], Generic[T, R]):
    """A dialog whose content comes from `compute()` (blocking), called once in a thread worker.

    Subclasses compose a `LoadingIndicator` and a `#error` Static, and handle `Answered`."""

    what = "the call"
    """What is being computed, for the failure message ("the re-plan")."""

    def __init__(self, compute: Callable[[], T], cancel: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.compute = compute
        self.cancel_search = cancel
        """Ends the search under way (the solver process's) when the dialog closes before the answer."""
        self.settled = False

    def start(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="solver")
    def _compute(self) -> None:
        worker = get_current_worker()
        try:
            result: Message = Answered(self.compute())
        except Exception as e:  # never a traceback on screen: a refusal in its words, anything else by kind
            result = Failed(failure_text(self.what, e))
        if not worker.is_cancelled:
            self.post_message(result)

    def on_answered(self, _message: Answered) -> None:
        self.settled = True  # Textual calls this and the subclass's handler too (each class in the MRO)

    def on_unmount(self) -> None:
        if not self.settled and self.cancel_search is not None:
            self.cancel_search()

    def on_failed(self, message: Failed) -> None:
        """The failure in place of the answer (the dialog's `#error` line), and on the status line."""
        self.settled = True
        self.query_one(LoadingIndicator).display = False
        self.query_one("#error", Static).update(Text(message.text, style="bold red"))
        self.app.post_message(Notice(message.text, "error"))
