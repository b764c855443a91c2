"""`dispatch events tail`: what happened, from the event log; `--follow` keeps listening."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

import typer

from data.feed import EventRecord, subscribe, tail
from dispatch_tui.cli.context import db, handles_errors

events_app = typer.Typer(help="The event log: who did what, when.", no_args_is_help=True)


def _line(e: EventRecord) -> str:
    payload = e.payload
    ref = payload.get("ref") or payload.get("code") or payload.get("login")
    detail = ", ".join(
        f"{k}={v}"
        for k, v in payload.items()
        if k not in ("ref", "code", "login") and v not in (None, [], {}) and not isinstance(v, dict | list)
    )
    parts = [f"#{e.seq}", f"{e.at:%Y-%m-%d %H:%M:%S}", e.type, f"{e.subject_type}:{e.subject_id}"]
    if ref:
        parts.append(str(ref))
    parts.append(f"by {e.actor} ({e.source})")
    if detail:
        parts.append(detail)
    return " ".join(parts)


def _emit(events: list[EventRecord], as_json: bool, types: list[str] | None, budget: int | None = None) -> int:
    """Print events (up to `budget`); returns how many were printed."""
    printed = 0
    for e in events:
        if types and e.type not in types:
            continue
        if budget is not None and printed >= budget:
            break
        printed += 1
        if as_json:
            sys.stdout.write(json.dumps(e.as_dict(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(_line(e) + "\n")  # one line per event, never wrapped: grep-able
    sys.stdout.flush()
    return printed


@events_app.command("tail")
@handles_errors
def tail_command(
    after: int = typer.Option(0, "--after", help="Only events after this seq."),
    types: list[str] | None = typer.Option(None, "--type", help="Only this event type (repeatable)."),
    limit: int = typer.Option(1000, "--limit", help="At most this many (without --follow)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events as they commit."),
    count: int | None = typer.Option(
        None, "--count", min=1, help="Stop after this many events (with --follow: wait for them)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print the event log after a sequence number (times in UTC)."""
    database = db()
    events = tail(database, after, limit, types or None)
    printed = _emit(events, as_json, types, count)
    if not follow or (count is not None and printed >= count):
        return
    cursor = events[-1].seq if events else after

    async def listen() -> None:
        nonlocal printed
        async for batch in subscribe(database, cursor):
            printed += _emit(batch, as_json, types, None if count is None else count - printed)
            if count is not None and printed >= count:
                return

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(listen())


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
