"""What in the live feed the dispatcher must be told about at once, as one line each.

The app turns each alert into a notification (Textual `notify`), counts it on its view's title tab
until the dispatcher looks, and keeps it in the `:messages` log. Sick calls, jobs others put back in
the queue, dead letters and technicians' messages to the office are read from the feed here;
lateness is noticed by the jobs queue (it holds each job's risk) and a change to the job on screen by
the job detail, with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from data.feed import EventRecord

Severity = Literal["information", "warning", "error"]


@dataclass(frozen=True)
class Alert:
    text: str
    severity: Severity = "warning"
    """Textual's notification severity."""
    view: str | None = None
    """The view whose title tab counts it until the dispatcher looks ("jobs", "deliveries"); None: no badge."""
    count: int = 1
    """How many things it is about (jobs back in the queue), for that badge."""


@dataclass(frozen=True)
class Logged:
    """One line of the `:messages` log: when (the console's clock), what, how serious."""

    at: datetime
    text: str
    severity: Severity
    notified: bool
    """Shown as a notification too (an alert, or a status message too long for the status line)."""


MESSAGE_EVENTS = frozenset({"message.internal", "message.customer"})


def has_messages(events: Iterable[EventRecord]) -> bool:
    """A batch that holds messages: the unread count must be read again."""
    return any(e.type in MESSAGE_EVENTS for e in events)


def _shown(refs: list[str], most: int = 8) -> str:
    return ", ".join(refs[:most]) + (f" and {len(refs) - most} more" if len(refs) > most else "")


class FeedAlerts:
    """Reads each feed batch for alerts; remembers the jobs a sick call announced, so their unassignment
    that follows (often in a later batch) is not announced a second time."""

    def __init__(self, me: str, local: Callable[[datetime], datetime]) -> None:
        self.me = me
        self.local = local
        """Puts an instant in the branch's zone on the console's clock."""
        self._announced: set[str] = set()

    def read(self, events: Iterable[EventRecord]) -> list[Alert]:
        found: list[Alert] = []
        returned: dict[str, list[str]] = {}
        for e in events:
            if e.type == "technician.absent":
                alert = self._absent(e)
                if alert is not None:
                    found.append(alert)
            elif e.type == "job.unassigned" and e.actor != self.me:
                ref = str(e.payload.get("ref") or e.subject_id)
                if ref in self._announced:
                    self._announced.discard(ref)
                else:
                    returned.setdefault(e.actor, []).append(ref)
            elif e.type == "delivery.dead_lettered":
                found.append(_dead_letter(e))
            elif e.type in MESSAGE_EVENTS and e.payload.get("author_kind") == "technician":
                found.append(_message(e))
        for who, refs in returned.items():
            found.append(
                Alert(
                    f"{len(refs)} job(s) back in the queue, unassigned by {who}: {_shown(refs)}",
                    view="jobs",
                    count=len(refs),
                )
            )
        return found

    def _absent(self, e: EventRecord) -> Alert | None:
        affected = [str(ref) for ref in e.payload.get("affected_jobs") or []]
        if not affected:
            return None
        self._announced.update(affected)
        until = e.payload.get("ends_at")  # ISO text once it has been through the event log
        until = datetime.fromisoformat(until) if isinstance(until, str) else until
        when = f" until {self.local(until):%H:%M}" if isinstance(until, datetime) else ""
        code, kind = e.payload.get("code", "a technician"), e.payload.get("kind", "absent")
        return Alert(
            f"{code} is {kind}{when}: {len(affected)} job(s) need a new technician: {_shown(affected)} (R re-plans)",
            view="jobs",
            count=len(affected),
        )


def _dead_letter(e: EventRecord) -> Alert:
    p = e.payload
    attempts = f" after {p['attempts']} attempts" if p.get("attempts") else ""
    error = f": {p['error']}" if p.get("error") else ""
    return Alert(
        f"delivery {e.subject_id} ({p.get('event_type', '?')} to {p.get('connector', '?')}) "
        f"gave up{attempts}{error} (6: deliveries)",
        "error",
        view="deliveries",
    )


def _message(e: EventRecord) -> Alert:
    p = e.payload
    where = f" on {p['job_ref']}" if p.get("job_ref") else ""
    body = str(p.get("body", ""))
    shown = body if len(body) <= 80 else body[:79] + "…"
    return Alert(f"message from {p.get('author', '?')}{where}: {shown} (dispatch messages list)", "information")


def job_became(ref: str, before: str | None, after: str | None) -> Alert | None:
    """A job whose risk rose ("at risk", then "late"); None when it did not."""
    rank = {None: 0, "": 0, "at risk": 1, "late": 2}
    if rank.get(after, 0) > rank.get(before, 0):
        return Alert(f"{ref} is now {after}", "error" if after == "late" else "warning", view="jobs")
    return None


def changed_by_someone_else(ref: str, events: Iterable[EventRecord], me: str) -> Alert | None:
    """The job on screen was changed by another user in these events; None when only by `me`."""
    others = [e for e in events if e.actor != me]
    if not others:
        return None
    who = ", ".join(dict.fromkeys(e.actor for e in others))
    what = ", ".join(dict.fromkeys(e.type for e in others))
    return Alert(f"{ref}, which you are looking at, was just changed by {who} ({what})")
