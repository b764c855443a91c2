"""`dispatch branches|skills|technicians|customers|sites|assets|contracts|price-lists|parts|stock|plans ...`.

Master data from nothing: each group is built from its kind's declaration in `data/services/record_kinds.py`.
"""

from __future__ import annotations

import typer

from data.services.record_kinds import KINDS
from dispatch_tui.cli.main import COMMANDS
from dispatch_tui.cli.records import record_group


def register(app: typer.Typer) -> None:
    for name, kind in KINDS.items():
        app.add_typer(record_group(kind, COMMANDS[name].help), name=name)
