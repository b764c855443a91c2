"""`dispatch deliveries`: list, inspect, retry, replay (optionally re-mapped) and skip outbox deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.table import Table

from data.errors import InvalidInput
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json
from integrations.config import load_config
from integrations.delivery.store import (
    DeliveryView,
    list_deliveries,
    replay_delivery,
    retry_dead_letters,
    retry_delivery,
    show_delivery,
    skip_delivery,
)

deliveries_app = typer.Typer(help="Integration deliveries: the outbox and its dead letters.", no_args_is_help=True)


def _when(view: DeliveryView) -> str:
    return f"{view.updated_at:%Y-%m-%d %H:%M:%S}"


@deliveries_app.command("list")
@handles_errors
def list_command(
    status: str | None = typer.Option(None, "--status", help="pending, in_flight, delivered, dead or skipped."),
    connector: str | None = typer.Option(None, "--connector", help="Only this connector."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """List deliveries, newest first (times in UTC)."""
    rows = list_deliveries(db(), status=status, connector=connector, limit=limit)
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    table = Table("id", "connector", "event", "type", "subject", "status", "tries", "code", "updated (UTC)", "error")
    for r in rows:
        table.add_row(
            str(r.id),
            r.connector,
            str(r.event_seq) + (f"/{r.request_index}" if r.request_index else ""),
            r.event_type,
            r.subject_key,
            r.status,
            str(r.attempts),
            str(r.last_status_code or ""),
            _when(r),
            (r.last_error or "")[:60],
        )
    out.print(table)


@deliveries_app.command("show")
@handles_errors
def show_command(
    delivery_id: int = typer.Argument(..., help="Delivery id."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """One delivery with its request and the last response."""
    d = show_delivery(db(), delivery_id)
    if as_json:
        print_json(d.__dict__)
        return
    for key, value in d.__dict__.items():
        if key in ("request", "last_response"):
            continue
        out.print(f"{key:>16}: {value if value is not None else ''}", markup=False, highlight=False)
    out.print("         request:", markup=False)
    out.print(
        json.dumps(d.request, indent=2, ensure_ascii=False) if d.request else "(none: mapping failed)", markup=False
    )
    out.print("   last response:", markup=False)
    out.print(d.last_response or "(none)", markup=False, highlight=False)


@deliveries_app.command("retry")
@handles_errors
def retry_command(
    delivery_id: int | None = typer.Argument(None, help="Delivery id (or --all)."),
    all_dead: bool = typer.Option(False, "--all", help="Every dead delivery (narrowed by --connector, --since)."),
    connector: str | None = typer.Option(None, "--connector", help="With --all: only this connector."),
    since: str | None = typer.Option(
        None,
        "--since",
        help="With --all: dead-lettered at or after this UTC date or time (2026-12-01, 2026-12-01T08:00).",
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a sentence."),
) -> None:
    """Queue a pending or dead delivery (or, with --all, every dead one) for the worker, with a fresh retry budget.

    Nothing is sent by this command: a running `dispatch worker` sends it on its next pass.
    """
    if (delivery_id is None) == (not all_dead):
        raise InvalidInput("give either a delivery id or --all")
    if delivery_id is not None:
        if connector or since:
            raise InvalidInput("--connector and --since go with --all only")
        d = retry_delivery(db(), actor(), delivery_id)
        if as_json:
            print_json({"queued": 1, **d.__dict__})
            return
        out.print(f"delivery {d.id} queued: the worker sends it on its next pass", highlight=False)
        return
    count = retry_dead_letters(db(), actor(), connector=connector, since=_parse_since(since))
    if as_json:
        print_json({"queued": count})
        return
    out.print(f"{count} dead deliveries queued: the worker sends them on its next pass", highlight=False)


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--since: {value!r} is not a date or time such as 2026-12-01 or 2026-12-01T08:00") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@deliveries_app.command("replay")
@handles_errors
def replay_command(
    delivery_id: int = typer.Argument(..., help="Delivery id."),
    remap: bool = typer.Option(False, "--remap", help="Re-map the original event with the current mapping first."),
    config: str | None = typer.Option(None, "--config", help="integrations.toml to re-map with."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Send a delivery again (same idempotency key; a re-mapped request gets a new one)."""
    settings = load_config(config) if remap else None
    d = replay_delivery(db(), actor(), delivery_id, remap=remap, config=settings)
    if as_json:
        print_json(d.__dict__)
        return
    out.print(f"delivery {d.id} queued to send again (key {d.idempotency_key})", highlight=False)


@deliveries_app.command("skip")
@handles_errors
def skip_command(
    delivery_id: int = typer.Argument(..., help="Delivery id."),
    reason: str = typer.Option("", "--reason", help="Why, for the audit log."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Never send this delivery; later ones for the same subject stop waiting for it."""
    d = skip_delivery(db(), actor(), delivery_id, reason)
    if as_json:
        print_json(d.__dict__)
        return
    out.print(f"delivery {d.id} skipped", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(deliveries_app, name="deliveries")
