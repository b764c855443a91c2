"""The field API application: technicians' phones and vehicle trackers talk to Dispatch through it."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from data.db import Database
from integrations.field_api import problems
from integrations.field_api.auth import TokenCache
from integrations.field_api.limits import BodyLimits
from integrations.field_api.ping_writer import PingWriter
from integrations.field_api.routers import app_shell, files, jobs, me, messages, positions, sync
from integrations.field_api.routers.positions import PingFastPath
from integrations.observability import MetricsMiddleware, RequestMetrics, backlog_registry, database_ready

DESCRIPTION = """
The HTTP API behind technicians' phone apps and vehicle trackers.

* **Authentication**: every `/v1` call carries `Authorization: Bearer <token>`, a per-technician token from
  `dispatch tokens issue TECH`. Missing, invalid or revoked tokens get **401**.
* **Errors** are JSON `{"error": {"code", "message", "field"}}`: 403 another technician's job, 404 unknown job,
  409 illegal transition or concurrent change, 422 invalid input (the `field` names it).
* **Times** must carry a time zone (ISO 8601 with offset). **Money** travels as decimal strings (`"12.50"`).
  **Coordinates** are WGS84 degrees.
* **Offline first**: `POST /v1/sync` applies a batch of the phone's own events once each, in the phone's
  time order, answering `applied`, `duplicate` or `rejected` per item.
"""

TAGS = [
    {"name": "me", "description": "The calling technician, their day and their van"},
    {"name": "jobs", "description": "Reporting on one of my jobs"},
    {"name": "positions", "description": "Live position pings"},
    {"name": "files", "description": "Photos and signature images"},
    {"name": "sync", "description": "Offline batches"},
    {"name": "health", "description": "Liveness, readiness and metrics for load balancers and Prometheus"},
]


WRITE_SLOTS = 8  # of the 15 connections a process's pool holds; the rest serve reads and the ping writer


def create_app(db: Database) -> FastAPI:
    """A field API bound to one database; run it with uvicorn (`dispatch serve`)."""
    app = FastAPI(
        title="Dispatch field API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.db = db
    # SQLite: one writer at a time. PostgreSQL: writers share the pool; past WRITE_SLOTS they queue here
    # rather than time out waiting for a connection.
    app.state.write_lock = (
        threading.Lock() if db is not None and db.is_sqlite else threading.BoundedSemaphore(WRITE_SLOTS)
    )
    app.state.ping_writer = PingWriter(db, app.state.write_lock)
    app.state.token_cache = TokenCache()
    problems.install(app)
    registry = backlog_registry(db)
    app.add_middleware(MetricsMiddleware, metrics=RequestMetrics(registry))
    app.add_middleware(PingFastPath, field_api=app)
    app.add_middleware(BodyLimits)  # added last, so it runs first: limits before anything reads
    for module in (me, messages, jobs, files, positions, sync, app_shell):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"], summary="Liveness", response_model=dict[str, str])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: the database answers", response_model=dict[str, str])
    def readyz() -> JSONResponse:
        problem = database_ready(db)
        if problem is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        body = generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_environment() -> FastAPI:
    """Factory for multi-process serving: each process opens the database named in the environment."""
    import os

    from data.db import open_database
    from integrations.logs import configure_from_environment

    configure_from_environment()
    return create_app(open_database(os.environ.get("DISPATCH_FIELD_API_DATABASE_URL"), migrate=False))
