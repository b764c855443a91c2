"""`dispatch serve`: run the HTTP field API for technicians' phone apps and vehicle trackers."""

from __future__ import annotations

import typer

from dispatch_tui.cli.context import db, err, handles_errors

WORKER_HEALTHCHECK_SECONDS = 60


@handles_errors
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (PostgreSQL: scale out)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical, error, warning, info."),
) -> None:
    """Serve the field API (OpenAPI at /docs) and the technicians' web app (/app/) until stopped with Ctrl-C."""
    import uvicorn

    from integrations.field_api import create_app

    database = db()
    if workers > 1 and database.is_sqlite:
        err.print("SQLite allows one writer: serving with 1 worker process", highlight=False)
        workers = 1
    err.print(
        f"field API on http://{host}:{port}  (technicians' app: http://{host}:{port}/app/, docs: /docs)",
        highlight=False,
    )
    if workers == 1:
        uvicorn.run(create_app(database), host=host, port=port, log_level=log_level)
    else:
        # Each worker process opens its own connection pool from the same URL.
        import os

        os.environ["DISPATCH_FIELD_API_DATABASE_URL"] = database.url
        uvicorn.run(
            "integrations.field_api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            # A worker process imports the whole application before it can answer the supervisor's
            # health ping; on a loaded host that takes longer than uvicorn's 5 s default, and the
            # supervisor would kill and respawn it forever.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
