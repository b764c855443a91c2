"""Runs what a key asks of the database in a thread worker and brings the answer back as a message.

`perform(call)` makes one change (an `actions` function) and posts `ActionSucceeded` or `ActionRefused`;
`read(query, then)` reads what a dialog needs before it opens and posts `ReadAnswered`. No handler awaits
either: the key returns at once, the cursor keys and the live feed go on, and the answer lands when the
database lets go. The app then keeps the undo step, says what happened, and hands the dialog that asked
(`reply_to`) a copy so it closes, or shows the refusal in place and stays open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import TYPE_CHECKING, TypeVar

from textual.app import App
from textual.message_pump import MessagePump
from textual.worker import get_current_worker

from data.errors import DispatchError
from dispatch_tui import actions
from dispatch_tui.call_failure import failure_text
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import ActionRefused, ActionSucceeded, ReadAnswered
from dispatch_tui.screens.base import JobTarget, job_target, technician_target

T = TypeVar("T")


class ActionRunner(App[None]):
    """The worker side of every key: `perform`, `read`, their answers, the one-step undo and the key's target."""

    ctx: ConsoleContext
    undo_step: actions.UndoStep | None
    _written: dict[str, int]
    """Job ref -> the version our own last action left, so the next key does not trip over it."""

    @property
    def read_only(self) -> bool:
        return self.ctx.read_only

    if TYPE_CHECKING:  # provided by DispatchApp

        def notice(self, text: str, level: str = "info") -> None: ...
        def _refresh_keys(self) -> None: ...

    # Where the answers go.

    def perform(
        self,
        call: Callable[[], actions.Outcome],
        *,
        reply_to: MessagePump | None = None,
        undoing: actions.UndoStep | None = None,
    ) -> None:
        """Make one change in a thread worker; the answer comes back as `ActionSucceeded` / `ActionRefused`."""

        def work() -> None:
            try:
                answer: ActionSucceeded | ActionRefused = ActionSucceeded(call(), undoing, reply_to)
            except Exception as e:  # a refusal in its words; anything else by kind only, the console stays up
                answer = ActionRefused(failure_text("the change", e, self._told(e)), reply_to)
            self.post_message(answer)

        # Not exclusive: a write already sent to the database is never dropped, its answer always shown.
        self.run_worker(work, thread=True, group="action", exit_on_error=False)

    def read(self, query: Callable[[], T], then: Callable[[T], None], *, what: str = "the lookup") -> None:
        """Read in a thread worker, then `then(answer)` on the app's loop; a newer read drops an older answer."""

        def work() -> None:
            worker = get_current_worker()
            try:
                answer: ReadAnswered | ActionRefused = ReadAnswered(query(), then)
            except Exception as e:
                answer = ActionRefused(failure_text(what, e, self._told(e)))
            if not worker.is_cancelled:
                self.post_message(answer)

        self.run_worker(work, thread=True, group="read", exclusive=True, exit_on_error=False)

    def _told(self, error: Exception) -> str | None:
        return self.ctx.told(error) if isinstance(error, DispatchError) else None

    def on_action_succeeded(self, message: ActionSucceeded) -> None:
        outcome = message.outcome
        if outcome.job is not None:
            self._written[outcome.job[0]] = outcome.job[1]
        had_undo = self.undo_step is not None
        if message.undoing is not None:
            self.undo_step = None
            self.notice(f"undone: {message.undoing.description}", "ok")
        else:
            self.undo_step = outcome.undo
            self.notice(outcome.text + (f" · u: {outcome.undo.description}" if outcome.undo else ""), "ok")
        if had_undo != (self.undo_step is not None):
            self._refresh_keys()
        if message.reply_to is not None:
            message.reply_to.post_message(ActionSucceeded(outcome, message.undoing))

    def on_action_refused(self, message: ActionRefused) -> None:
        self.notice(message.text, "error")
        if message.reply_to is not None:
            message.reply_to.post_message(ActionRefused(message.text))

    def on_read_answered(self, message: ReadAnswered) -> None:
        message.then(message.answer)

    # What a key acts on: asked of the screen on view, never remembered from another one.

    def job_target(self) -> JobTarget | None:
        """The job under the cursor of the screen on view, at the newest version this console knows."""
        target = job_target(self.screen) if self.screen_stack else None  # none while closing
        if target is None:
            return None
        own = self._written.get(target.ref)
        if own is not None and (target.version is None or own > target.version):
            return JobTarget(target.ref, own)
        return target

    @property
    def selected_job(self) -> str | None:
        target = self.job_target()
        return target.ref if target else None

    @property
    def selected_technician(self) -> str | None:
        return technician_target(self.screen) if self.screen_stack else None

    def _need_job(self) -> JobTarget | None:
        target = self.job_target()
        if target is None:
            self.notice("no job under the cursor here (2 opens the jobs queue, or :job REF)", "warning")
        return target

    def _parse_time(self, text: str) -> datetime | str | None:
        """'HH:MM' on the viewed day in the branch's zone; '' is None; anything else is a message."""
        text = text.strip()
        if not text:
            return None
        try:
            clock = time.fromisoformat(text if len(text) > 2 else f"{text}:00")
        except ValueError:
            return f"'{text}' is not a time: use HH:MM, e.g. 10:30"
        return datetime.combine(self.ctx.day, clock, self.ctx.zone)

    def action_undo(self) -> None:
        step = self.undo_step
        if step is None:
            self.notice("nothing to undo", "warning")
            return
        self.undo_step = None  # a refused undo is not offered again
        self._refresh_keys()
        self.perform(step.call, undoing=step)
