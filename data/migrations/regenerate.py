"""Write a new migration for model changes: `python -m data.migrations.regenerate "message" [REV_ID]`.

It upgrades an empty SQLite file to the current head, then autogenerates what the models add on top,
so each schema change lands as its own explicit revision (review the file before committing it).
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
        command.revision(cfg, message=message, autogenerate=True, rev_id=sys.argv[2] if len(sys.argv) > 2 else None)
    print("written under", MIGRATIONS_DIR / "versions")


if __name__ == "__main__":
    main()
