"""`dispatch worker`: deliver subscribed events to every configured connector until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import typer

from dispatch_tui.cli.context import db, err, handles_errors, out, print_json
from integrations.config import load_config
from integrations.delivery.worker import Worker, default_worker_id

log = logging.getLogger("dispatch.worker")
REPORT_SECONDS = 10.0
OUTCOME_WORDS = {"pending": "retried", "delivered": "sent"}  # a send that ends pending will be retried


@handles_errors
def worker_command(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=256, help="Requests in flight at once."),
    worker_id: str | None = typer.Option(None, "--worker-id", help="Name in leases (default: host-pid)."),
    config: str | None = typer.Option(
        None, "--config", help="integrations.toml (default: $DISPATCH_INTEGRATIONS_CONFIG, then the user config dir)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's counts as JSON at exit."),
    metrics_port: int = typer.Option(
        0, "--metrics-port", min=0, max=65535, help="Serve Prometheus metrics on this port (0: off)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Interface for --metrics-port."),
) -> None:
    """Run the delivery worker (several may run at once on PostgreSQL; one on SQLite)."""
    settings = load_config(config)
    database = db()
    if not settings.enabled():
        err.print("no enabled connectors in the integrations configuration: nothing to deliver", highlight=False)
    name = worker_id or default_worker_id()
    worker = Worker(database, settings, worker_id=name, concurrency=concurrency)

    if metrics_port:
        from prometheus_client import start_http_server

        from integrations.observability import backlog_registry

        start_http_server(metrics_port, metrics_host, registry=backlog_registry(database))
        log.info("worker %s: metrics on http://%s:%d/metrics", name, metrics_host, metrics_port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        reporter = asyncio.create_task(_report(worker, stop))
        try:
            await worker.run(once=once, stop=stop)
        finally:
            stop.set()
            await reporter

    if not once:
        err.print(f"worker {name}: delivering to {', '.join(sorted(worker.connectors)) or 'nothing'}", highlight=False)
    log.info("worker %s started: connectors %s", name, ", ".join(sorted(worker.connectors)) or "none")
    asyncio.run(main())
    stats = worker.stats
    log.info("worker %s stopped: planned %d, sent %d, by outcome %s", name, stats.planned, stats.sent, stats.by_status)
    if as_json:
        print_json({"worker_id": name, "planned": stats.planned, "sent": stats.sent, "by_status": stats.by_status})
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items())) or "nothing sent"
        out.print(f"worker {name}: planned {stats.planned}, sent {stats.sent} ({counts})", highlight=False)


async def _report(worker: Worker, stop: asyncio.Event) -> None:
    """Log what was sent, retried and given up on since the last line, every REPORT_SECONDS while busy."""
    last: dict[str, int] = {}
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPORT_SECONDS)
        now = dict(worker.stats.by_status)
        delta = {k: v - last.get(k, 0) for k, v in now.items() if v != last.get(k, 0)}
        if delta:
            said = ", ".join(f"{OUTCOME_WORDS.get(k, k)} {v}" for k, v in sorted(delta.items()))
            log.info("deliveries %s", said, extra={f"deliveries_{k}": v for k, v in delta.items()})
            if delta.get("dead"):
                log.warning("%d deliveries dead: see `dispatch deliveries list --status dead`", delta["dead"])
        last = now
        if stop.is_set():
            return


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
