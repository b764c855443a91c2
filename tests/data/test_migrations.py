"""Migrations build the schema from empty on both engines, and match the models exactly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from data.db import Database, open_database
from data.migrate import current_revision, head_revision
from data.models.base import Base


def _assert_schema_matches_models(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff[:5]}"
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_sqlite_from_empty(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "new.sqlite"))
    _assert_schema_matches_models(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_postgres_from_empty(postgres_url: str) -> None:
    db = open_database(postgres_url)
    _assert_schema_matches_models(db)
    db.dispose()


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    from data.migrate import upgrade_to_head

    db = open_database(str(tmp_path / "again.sqlite"))
    assert upgrade_to_head(db) is False
    db.dispose()
