"""Messages that carry live data and selections between the feed, the app and the screens.

Flow: `FeedSource` posts `EventsArrived` (raw batches) and `FeedStateChanged` to the app. The app
coalesces raw batches and, once per tick (10 Hz at most), posts ONE `EventsArrived` with everything new
to each view screen, visible or not. The view on screen applies it as keyed updates of the rows/blocks
the events touch (see `touched_jobs` / `touched_technicians`), never as a full reload per event; a
hidden one only marks them stale and reads them once it is shown (`screens.base.LiveScreen`).

Screens post `JobSelected` / `TechnicianSelected` whenever their cursor lands on a job or technician:
the app only re-checks which keys to offer. What a key acts on is asked of the screen on view
(`screens.base.TargetScreen.job_target` / `technician_target`), never taken from these messages, so
a hidden screen re-announcing its cursor after a live refresh changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from data.feed import EventRecord
from data.queries.first_run import Progress
from dispatch_tui.actions import Outcome, UndoStep
from dispatch_tui.alerts import Alert


class EventsArrived(Message, bubble=False):
    """New committed events, oldest first (`events[-1].seq` is the newest). Does not bubble."""

    def __init__(self, events: list[EventRecord]) -> None:
        super().__init__()
        self.events = events

    @property
    def touched_jobs(self) -> set[str]:
        """Ids (as text) of jobs these events changed."""
        return {e.subject_id for e in self.events if e.subject_type == "job"}

    @property
    def touched_technicians(self) -> set[str]:
        """Ids (as text) of technicians these events changed, including through their jobs."""
        ids = {e.subject_id for e in self.events if e.subject_type == "technician"}
        for e in self.events:
            if e.subject_type == "job":
                for key in ("technician_id", "previous_technician_id"):
                    value = e.payload.get(key)
                    if value is not None:
                        ids.add(str(value))
        return ids


@dataclass
class FeedState:
    """What the status line shows about the live feed."""

    state: str  # "live", "connecting", "stopped", "error", "fake"
    last_seq: int = 0
    detail: str = ""


class FeedStateChanged(Message):
    def __init__(self, state: FeedState) -> None:
        super().__init__()
        self.state = state


class JobSelected(Message):
    """The cursor of a view is on this job (ref like "J000123"); None clears the selection.

    `version` is the job version the view shows: actions pass it to the service so that a job
    someone else changed meanwhile is refused with "changed by X at T" instead of overwritten.
    """

    def __init__(self, ref: str | None, version: int | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.version = version


class TechnicianSelected(Message):
    """The cursor of a view is on this technician (code like "T012"); None clears the selection."""

    def __init__(self, code: str | None) -> None:
        super().__init__()
        self.code = code


class OpenJob(Message):
    """Ask the app to show the job detail screen."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref


class DayChosen(Message):
    """Ask the app to view another local day, optionally switching view ("board", "calendar", ...)."""

    def __init__(self, day: date, view: str | None = None) -> None:
        super().__init__()
        self.day = day
        self.view = view


class ViewRefreshed(Message):
    """A view just applied fresh rows (the status line's "updated ... ago" restarts).

    `full` is True after a complete (re)load rather than a keyed update.
    """

    def __init__(self, full: bool = False) -> None:
        super().__init__()
        self.full = full


class Notice(Message):
    """A line for the status line: level is "info", "ok", "warning" or "error"."""

    def __init__(self, text: str, level: str = "info") -> None:
        super().__init__()
        self.text = text
        self.level = level


class AlertRaised(Message):
    """A screen noticed something the dispatcher must be told at once (the app notifies and logs it)."""

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert


class UnreadCounted(Message):
    """How many messages from the field the user has not read (the title shows it)."""

    def __init__(self, unread: int) -> None:
        super().__init__()
        self.unread = unread


class FirstRunChecked(Message):
    """How far the company has come (a new one gets the first-run guide)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class ActionSucceeded(Message, bubble=False):
    """A key's service call (run in a thread worker) is done; `undoing` is the undo step it carried out.

    The app records the undo and says what happened, then passes a copy to the dialog that asked, if any."""

    def __init__(self, outcome: Outcome, undoing: UndoStep | None = None, reply_to: MessagePump | None = None) -> None:
        super().__init__()
        self.outcome = outcome
        self.undoing = undoing
        self.reply_to = reply_to


class ActionRefused(Message, bubble=False):
    """A key's call was refused or failed; `text` is what to show in place (the console stays up)."""

    def __init__(self, text: str, reply_to: MessagePump | None = None) -> None:
        super().__init__()
        self.text = text
        self.reply_to = reply_to


class ReadAnswered(Message, bubble=False):
    """A read behind a key (a job's state, the picker's technicians) came back from its worker: `then(answer)`
    runs on the app's loop (it opens the dialog the read was for)."""

    def __init__(self, answer: Any, then: Callable[[Any], None]) -> None:
        super().__init__()
        self.answer = answer
        self.then = then
