"""What in the live feed the dispatcher must be told about at once, as one line each.

The app turns each alert into a notification (Textual `notify`) and keeps it in the `:messages`
log. Sick calls, dead letters and technicians' messages to the office are read from the feed here;
lateness is noticed by the jobs queue (it holds each job's risk) and a change to the job on screen
by the job detail, with the same words.
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


def feed_alerts(events: Iterable[EventRecord], local: Callable[[datetime], datetime]) -> list[Alert]:
    """Alerts for a batch of committed events; `local` puts an instant in the branch's zone."""
    found: list[Alert] = []
    for e in events:
        if e.type in MESSAGE_EVENTS and e.payload.get("author_kind") == "technician":
            p = e.payload
            where = f" on {p['job_ref']}" if p.get("job_ref") else ""
            body = str(p.get("body", ""))
            shown = body if len(body) <= 80 else body[:79] + "…"
            found.append(
                Alert(f"message from {p.get('author', '?')}{where}: {shown} (dispatch messages list)", "information")
            )
        elif e.type == "technician.absent":
            affected = [str(ref) for ref in e.payload.get("affected_jobs") or []]
            if not affected:
                continue
            until = e.payload.get("ends_at")  # ISO text once it has been through the event log
            until = datetime.fromisoformat(until) if isinstance(until, str) else until
            when = f" until {local(until):%H:%M}" if isinstance(until, datetime) else ""
            shown = ", ".join(affected[:8]) + (f" and {len(affected) - 8} more" if len(affected) > 8 else "")
            code, kind = e.payload.get("code", "a technician"), e.payload.get("kind", "absent")
            found.append(
                Alert(f"{code} is {kind}{when}: {len(affected)} job(s) need a new technician: {shown} (R re-plans)")
            )
        elif e.type == "delivery.dead_lettered":
            p = e.payload
            attempts = f" after {p['attempts']} attempts" if p.get("attempts") else ""
            error = f": {p['error']}" if p.get("error") else ""
            found.append(
                Alert(
                    f"delivery {e.subject_id} ({p.get('event_type', '?')} to {p.get('connector', '?')}) "
                    f"gave up{attempts}{error} (6: deliveries)",
                    "error",
                )
            )
    return found


def job_became(ref: str, before: str | None, after: str | None) -> Alert | None:
    """A job whose risk rose ("at risk", then "late"); None when it did not."""
    rank = {None: 0, "": 0, "at risk": 1, "late": 2}
    if rank.get(after, 0) > rank.get(before, 0):
        return Alert(f"{ref} is now {after}", "error" if after == "late" else "warning")
    return None


def changed_by_someone_else(ref: str, events: Iterable[EventRecord], me: str) -> Alert | None:
    """The job on screen was changed by another user in these events; None when only by `me`."""
    others = [e for e in events if e.actor != me]
    if not others:
        return None
    who = ", ".join(dict.fromkeys(e.actor for e in others))
    what = ", ".join(dict.fromkeys(e.type for e in others))
    return Alert(f"{ref}, which you are looking at, was just changed by {who} ({what})")
