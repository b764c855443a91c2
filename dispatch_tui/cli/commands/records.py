"""`dispatch branches|skills|technicians|customers|sites|assets|contracts|price-lists|parts|stock|plans ...`.

Master data from nothing: each group is built from its kind's declaration in `data/services/record_kinds.py`.
"""

from __future__ import annotations

import typer

from data.services.record_kinds import KINDS
from dispatch_tui.cli.customer_profile import add_customer_profile
from dispatch_tui.cli.main import COMMANDS
from dispatch_tui.cli.records import record_group
from dispatch_tui.cli.stock_moves import add_stock_moves

EXTRA_COMMANDS = {"stock": add_stock_moves, "customers": add_customer_profile}
"""Commands a kind has besides add|edit|list|show|archive (a `show` here replaces the generic one)."""


def register(app: typer.Typer) -> None:
    for name, kind in KINDS.items():
        group = record_group(kind, COMMANDS[name].help)
        if name in EXTRA_COMMANDS:
            EXTRA_COMMANDS[name](group)
        app.add_typer(group, name=name)
