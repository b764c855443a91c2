"""Whether a database's schema is at the newest migration, read without loading Alembic.

Every command opens the database and checks its schema; Alembic's own check costs about half a second of
imports on each start. The newest revision is read from the migration files' `revision` / `down_revision`
lines and compared with the database's `alembic_version` row; anything unusual (no single head, a line
this reader does not understand, no version table) answers "not known current" and Alembic decides.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from data.db import Database

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]+)?=\s*(.+)$", re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def files_head() -> str | None:
    """The one revision no other migration builds on, or None when the files do not say it plainly."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("[!_]*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(_QUOTED.findall(down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def database_revision(db: Database) -> str | None:
    """The database's recorded revision (None: none, several, or no version table yet)."""
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError as e:
        if e.connection_invalidated or "alembic_version" not in str(e):
            raise  # a server that cannot be reached is the caller's to report
        return None
    return rows[0] if len(rows) == 1 else None


def schema_is_current(db: Database) -> bool:
    head = files_head()
    return head is not None and database_revision(db) == head
