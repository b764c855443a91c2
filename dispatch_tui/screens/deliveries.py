"""The deliveries view: what the integration worker sent to the CRM, accounting and payroll, and what failed."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived
from dispatch_tui.screens.base import LiveScreen
from dispatch_tui.widgets.key_bar import KeyBar
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
RELOAD_SECONDS = 5.0


class DeliveriesScreen(LiveScreen):
    """The newest deliveries; refreshed when events arrive (the worker's work follows the event log)."""

    TITLE = "Deliveries"
    ROWS_ARE = "deliveries"
    AUTO_FOCUS = "KeyedTable"
    BINDINGS = [
        Binding("r", "reload", "Reload", id="deliveries.reload"),
        Binding("slash", "search", "Search", key_display="/", id="deliveries.search"),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="deliveries")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield KeyedTable(COLUMNS, id="deliveries")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).set_order(lambda key: -int(key))
        self.refresh_every(RELOAD_SECONDS)

    def action_reload(self) -> None:
        self.reload()

    def stale_keys(self, message: EventsArrived) -> tuple[str, ...]:
        return ("newest",) if message.events else ()  # the worker's work follows the event log

    async def read(self, keys: set[Hashable] | None) -> None:
        rows = await asyncio.to_thread(list_deliveries, self.ctx.db, limit=SHOWN)
        if self.is_attached and self.query(KeyedTable):
            self.query_one(KeyedTable).put({str(d.id): self._row(d) for d in rows}, replace_all=True)

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
