"""Where the database lives: `--db`, then DISPATCH_DATABASE_URL, then a SQLite file in the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from data.paths import data_file

ENV_URL = "DISPATCH_DATABASE_URL"


def default_sqlite_path() -> Path:
    return data_file("dispatch.sqlite")


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


TRAVEL_ENV = "DISPATCH_TRAVEL"
TRAVEL_MODES = ("road", "straight")


def travel_mode() -> str:
    """`road` (the default: a branch's imported road graph where it has one) or `straight` (straight-line only)."""
    from data.errors import InvalidInput

    value = os.environ.get(TRAVEL_ENV, "road").strip().lower() or "road"
    if value not in TRAVEL_MODES:
        raise InvalidInput(f"{value!r} is not one of {', '.join(TRAVEL_MODES)}", record="environment", field=TRAVEL_ENV)
    return value
