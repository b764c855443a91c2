"""`dispatch worker`: deliver subscribed events to every configured connector until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from dispatch_tui.cli.context import db, err, handles_errors, out, print_json
from integrations.config import load_config
from integrations.delivery.worker import Worker, default_worker_id


@handles_errors
def worker_command(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=256, help="Requests in flight at once."),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Name in leases (default: host-pid)."),
    config: str | None = typer.Option(
        None, "--config", help="integrations.toml (default: $DISPATCH_INTEGRATIONS_CONFIG, then the user config dir)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's counts as JSON at exit."),
) -> None:
    """Run the delivery worker (several may run at once on PostgreSQL; one on SQLite)."""
    settings = load_config(config)
    database = db()
    if not settings.enabled():
        err.print("no enabled connectors in the integrations configuration: nothing to deliver", highlight=False)
    name = worker_id or default_worker_id()
    worker = Worker(database, settings, worker_id=name, concurrency=concurrency)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await worker.run(once=once, stop=stop)

    if not once:
        err.print(f"worker {name}: delivering to {', '.join(sorted(worker.connectors)) or 'nothing'}", highlight=False)
    asyncio.run(main())
    stats = worker.stats
    if as_json:
        print_json({"worker_id": name, "planned": stats.planned, "sent": stats.sent, "by_status": stats.by_status})
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items())) or "nothing sent"
        out.print(f"worker {name}: planned {stats.planned}, sent {stats.sent} ({counts})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
