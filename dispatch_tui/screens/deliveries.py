"""The deliveries view: what the integration worker sent to the CRM, accounting and payroll, and what failed."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived, ViewRefreshed
from dispatch_tui.screens.base import TargetScreen
from dispatch_tui.widgets.keyed_table import Column, KeyedTable
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar
from integrations.delivery.store import DeliveryView, list_deliveries

COLUMNS = (
    Column("id", "Id", 7),
    Column("status", "Status", 11),
    Column("connector", "Connector", 12),
    Column("event", "Event", 22),
    Column("subject", "Subject", 14),
    Column("attempts", "Tries", 5),
    Column("next", "Next try", 8),
    Column("error", "Last error", 40),
)
STATUS_STYLE = {"delivered": "green", "pending": "yellow", "failed": "bold red", "dead": "bold red"}
SHOWN = 300


class DeliveriesScreen(TargetScreen):
    """The newest deliveries; refreshed when events arrive (the worker's work follows the event log)."""

    TITLE = "Deliveries"
    ROWS_ARE = "deliveries"
    AUTO_FOCUS = "KeyedTable"
    BINDINGS = [Binding("r", "reload", "Reload", id="deliveries.reload")]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="deliveries")
        self.ctx = ctx
        self._busy = False
        self.loaded = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield KeyedTable(COLUMNS, id="deliveries")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).set_order(lambda key: -int(key))
        self.set_interval(5.0, self.reload)
        self.reload()

    def reload(self) -> None:
        if not self._busy:
            self._busy = True
            self.run_worker(self._load(), group="refresh")

    def action_reload(self) -> None:
        self.reload()

    def on_events_arrived(self, _message: EventsArrived) -> None:
        self.reload()

    async def _load(self) -> None:
        try:
            rows = await asyncio.to_thread(list_deliveries, self.ctx.db, limit=SHOWN)
            if not self.is_attached or not self.query(KeyedTable):
                return
            self.query_one(KeyedTable).put({str(d.id): self._row(d) for d in rows}, replace_all=True)
            self.app.post_message(ViewRefreshed())
            self.loaded.set()
        finally:
            self._busy = False

    def _row(self, d: DeliveryView) -> tuple[Text, ...]:
        nxt = self.ctx.shown(d.next_attempt_at).strftime("%H:%M") if d.next_attempt_at else "-"
        return (
            Text(str(d.id), style="bold"),
            Text(d.status, style=STATUS_STYLE.get(d.status, "")),
            Text(d.connector),
            Text(d.event_type),
            Text(d.subject_key),
            Text(str(d.attempts)),
            Text(nxt),
            Text((d.last_error or "")[:200], style="red" if d.last_error else ""),
        )
