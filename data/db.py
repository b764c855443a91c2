"""Engines and sessions for SQLite (WAL, foreign keys, immediate write locks) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from data.config import resolve_database_url
from data.errors import DatabaseMissing, StorageUnavailable

WRITE_OPTION = "dispatch_write"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front so two writers queue instead of failing on upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


@dataclass
class Database:
    url: str
    engine: Engine
    _write_sessions: sessionmaker[Session] = field(init=False)
    _read_sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self._write_sessions = sessionmaker(bind=writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(make_url(self.url).database or "") if self.is_sqlite else None

    def write_session(self) -> Session:
        return self._write_sessions()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read session; closing it ends the transaction and detaches (without expiring) what it loaded."""
        with self._read_sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def create_database_engine(url: str) -> Engine:
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def open_database(url: str | None = None, *, migrate: bool = True, create: bool = True) -> Database:
    """Open (and on first use, migrate) the configured database.

    A SQLite file that does not exist is created only with ``create``; otherwise `DatabaseMissing` names the path.
    A server that cannot be reached is `StorageUnavailable` naming the host and the reason, in one line.
    """
    resolved = resolve_database_url(url)
    if not create:
        _refuse_missing_sqlite(resolved)
    db = Database(resolved, create_database_engine(resolved))
    if migrate:
        from data.migration_head import schema_is_current

        try:
            if not schema_is_current(db):  # Alembic (half a second of imports) only when there is work
                from data.migrate import upgrade_to_head

                upgrade_to_head(db)
        except OperationalError as e:
            db.dispose()
            if db.is_sqlite:
                raise
            raise unreachable(resolved, e) from None
    return db


def _refuse_missing_sqlite(url: str) -> None:
    sa_url = make_url(url)
    path = sa_url.database
    if sa_url.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    if not Path(path).exists():
        raise DatabaseMissing(
            f"no database at {path}: check --db or $DISPATCH_DATABASE_URL for a typo; "
            "`dispatch init` creates a new database (`dispatch demo` a demo one)"
        )


def unreachable(url: str, error: OperationalError) -> StorageUnavailable:
    """The server's address and the driver's first line of why, never the password or a traceback."""
    sa_url = make_url(url)
    where = f"{sa_url.host or 'localhost'}:{sa_url.port or 5432}"
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    # psycopg says 'connection failed: connection to server at "h", port p failed: REASON': keep REASON.
    reason = reason.rsplit(" failed: ", 1)[-1]
    return StorageUnavailable(
        f"cannot connect to the database server at {where} (database {sa_url.database}): {reason}"
    )
