"""Where the database lives: `--db`, then DISPATCH_DATABASE_URL, then a SQLite file in the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

ENV_URL = "DISPATCH_DATABASE_URL"


def default_sqlite_path() -> Path:
    return user_data_path("dispatch", appauthor=False, ensure_exists=True) / "dispatch.sqlite"


def resolve_database_url(explicit: str | None = None) -> str:
    """A plain path is taken as a SQLite file; anything with '://' is a SQLAlchemy URL."""
    value = explicit or os.environ.get(ENV_URL)
    if not value:
        return f"sqlite:///{default_sqlite_path()}"
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    if value.startswith("postgresql://"):
        # psycopg 3 is the driver we ship.
        return "postgresql+psycopg://" + value.removeprefix("postgresql://")
    return value
