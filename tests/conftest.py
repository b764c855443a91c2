"""Database fixtures for both engines: SQLite always; PostgreSQL when reachable (and required in CI)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from data.db import Database, create_database_engine, open_database
from data.models.base import Base

# Commands log to a file; the tests' go to a throw-away one, not the user's data directory.
os.environ.setdefault("DISPATCH_LOG_FILE", os.path.join(tempfile.mkdtemp(prefix="dispatch-test-logs-"), "dispatch.log"))

PG_URL_ENV = "DISPATCH_TEST_POSTGRES_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty SQLite file; each test gets a copy (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    db = open_database(f"sqlite:///{path}")
    db.dispose()
    return path


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "dispatch.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url, create_database_engine(url))
    yield db
    db.dispose()


def _postgres_admin_url() -> str | None:
    url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception:
        return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away database on the PostgreSQL server, migrated from empty once per session."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("DISPATCH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but not reachable at {os.environ.get(PG_URL_ENV)}")
        pytest.skip(f"no PostgreSQL reachable at {DEFAULT_PG_URL} (set {PG_URL_ENV}); PostgreSQL tests skipped")
    name = f"dispatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    open_database(url).dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url, create_database_engine(postgres_url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    """Runs the test once per engine."""
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_db"
    if request.param == "postgres":
        request.node.add_marker(pytest.mark.postgres)
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never create a key file in the real data directory: OAuth tokens are encrypted with a test key."""
    if not os.environ.get("DISPATCH_SECRET_KEY"):
        from cryptography.fernet import Fernet

        monkeypatch.setenv("DISPATCH_SECRET_KEY", Fernet.generate_key().decode())
