"""Regenerate the schema migration from the models (development aid: `python -m data.migrations.regenerate`).

Until the first release the schema is one baseline revision; after it, new revisions are appended.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from data.db import Database, create_database_engine
from data.migrate import MIGRATIONS_DIR, alembic_config


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "baseline schema"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.sqlite'}"
        db = Database(url, create_database_engine(url))
        cfg = alembic_config(db)
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)
    print("written under", MIGRATIONS_DIR / "versions")


if __name__ == "__main__":
    main()
