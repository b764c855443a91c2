"""Days as people type them on a command line: one parser behind every date option.

`2026-11-25`, `today`, `tomorrow`, `yesterday`, a weekday (`mon`, `friday`: the coming one, a week
ahead when it is today), `+2d` / `-1d`, `in 3 days`, `2 days ago`. ISO dates are read directly; everything else goes to
`dateparser` (English only, relative to now in the branch's zone, future preferred), so the grammar is a
well-kept library's rather than a list of our own rules.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from data.errors import InvalidInput

DATE_HELP = "YYYY-MM-DD, today, tomorrow, a weekday (mon), +2d or '3 days ago'"


def now(tz: str) -> datetime:
    """The moment relative dates count from (one function, so tests can freeze it)."""
    return datetime.now(ZoneInfo(tz))


def parse_day(value: str | None, tz: str, option: str = "--date") -> date:
    """A local calendar day in zone `tz`; no value means today there."""
    today = now(tz)
    if value is None:
        return today.date()
    text = value.strip().lower()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    import dateparser  # imported here: it takes a moment, and ISO dates never need it

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": today.replace(tzinfo=None),
            "DATE_ORDER": "YMD",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        raise InvalidInput(f"'{value}' is not a date ({DATE_HELP})", record="option", field=option)
    return parsed.date()


def parse_moment(value: str, day: date, tz: str, option: str) -> datetime:
    """ISO 8601 with an offset (2026-11-25T09:00+02:00) or a local HH:MM on `day` in the branch zone."""
    text = value.strip()
    if len(text) <= 5 and ":" in text:
        try:
            clock = time.fromisoformat(text.zfill(5))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a time (HH:MM)", record="option", field=option) from None
        return datetime.combine(day, clock, ZoneInfo(tz))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"'{value}' is neither HH:MM nor ISO 8601 (2026-11-25T09:00+02:00)", record="option", field=option
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(
            f"'{value}' needs an offset, e.g. {text}+02:00, or give HH:MM", record="option", field=option
        )
    return moment


def parse_at(value: str | None, tz: str, day: str | None = None, option: str = "--at") -> datetime:
    """A moment: no value means now; HH:MM is on `day` (default today) in zone `tz`; or ISO 8601."""
    if value is None and day is None:
        return now(tz)
    when = parse_day(day, tz)
    if value is None:
        current = now(tz)
        return current if current.date() == when else datetime.combine(when, time.min, ZoneInfo(tz))
    return parse_moment(value, when, tz, option)
