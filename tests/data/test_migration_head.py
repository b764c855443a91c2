"""Opening a database whose schema is current does not load Alembic; one behind is still upgraded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from data.db import open_database
from data.migrate import current_revision, head_revision
from data.migration_head import files_head


def test_the_files_name_the_same_head_as_alembic(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'd.sqlite'}")
    assert files_head() == head_revision(db) == current_revision(db)
    db.dispose()


def test_opening_a_current_database_loads_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    open_database(url).dispose()
    probe = (
        "import sys, json\nfrom data.db import open_database\n"
        f"open_database({url!r})\nprint(json.dumps('alembic' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) is False


def test_a_database_behind_is_upgraded(tmp_path: Path) -> None:
    from alembic import command

    from data.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    db = open_database(url)
    command.downgrade(alembic_config(db), "-1")
    assert current_revision(db) != head_revision(db)
    db.dispose()
    again = open_database(url)
    assert current_revision(again) == head_revision(again)
    again.dispose()
