"""The jobs queue: late and at-risk jobs first, then unassigned; `/` filters, saved filters in TOML."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding

from data.paths import config_file
from data.queries.console import JobRow
from dispatch_tui.alerts import job_became
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import AlertRaised, EventsArrived, JobSelected, Notice, OpenJob
from dispatch_tui.screens.base import FilterBox, FilteredScreen, JobTarget
from dispatch_tui.widgets.job_table import JobTable
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.keyed_table import KeyedTable
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar

FULL_REFRESH_SECONDS = 30.0
RISK_CHECK_SECONDS = 1.0
"""How often the queue asks whether the clock has made a job at risk or late (cheap: no query unless one has)."""
FILTERS_FILE = "filters.toml"


class SavedFilters:
    """Named job-queue filters kept in `filters.toml` (a `[jobs]` table of name = "text")."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.path = (Path(config_dir) / FILTERS_FILE) if config_dir else config_file(FILTERS_FILE)

    def load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{self.path}: not valid TOML ({e}); fix or delete it") from None
        jobs = data.get("jobs", {})
        return {str(k): str(v) for k, v in jobs.items() if isinstance(v, str)}

    def save(self, name: str, text: str) -> None:
        filters = self.load()
        filters[name] = text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # JSON string escapes are valid TOML basic strings, and quoted keys accept any name.
        lines = ["[jobs]", *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(filters.items()))]
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class JobsScreen(FilteredScreen):
    TITLE = "Jobs"
    ROWS_ARE = "jobs"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("f", "next_saved_filter", "Saved filter", id="jobs.saved_filter"),
        Binding("F", "save_filter", "Save filter", id="jobs.save_filter"),
        Binding("escape", "clear_filter", "Clear", show=False),
    ]
    AUTO_FOCUS = "KeyedTable"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="jobs")
        self.ctx = ctx
        self.saved = SavedFilters(ctx.config_dir)
        self._ref_of: dict[int, str] = {}
        self._saved_index = -1
        self._risk_due: dict[int, datetime] = {}
        """Job id -> when the clock alone next changes its risk; that row is re-read then, and moves up."""

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield FilterBox("filter jobs (ref, customer, skill, status...); Enter keeps it")
        yield JobTable(self.ctx.zone, id="jobs")
        yield StatusLine()
        yield KeyBar()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def on_mount(self) -> None:
        self.refresh_every(FULL_REFRESH_SECONDS)
        self.set_interval(RISK_CHECK_SECONDS, self.check_risk)

    def check_risk(self) -> None:
        """Re-read the jobs the clock has just made at risk or late, so they move to the top at once
        (and are announced, even while the queue is hidden: a read of those few rows only)."""
        now = self.ctx.now()
        due = {job_id for job_id, at in self._risk_due.items() if at <= now}
        if due:
            for job_id in due:
                del self._risk_due[job_id]
            self.mark_stale(due, urgent=True)

    def stale_keys(self, message: EventsArrived) -> set[int]:
        return {int(x) for x in message.touched_jobs if x.isdigit()}

    async def read(self, keys: set[Hashable] | None) -> None:
        ids = None if keys is None else {k for k in keys if isinstance(k, int)}
        ctx = self.ctx
        now = ctx.now()
        rows = await asyncio.to_thread(ctx.queries.job_queue, ctx.db, ctx.branch.id, ctx.day, now, ids)
        if not self.is_attached or not self.query(KeyedTable):
            return  # the console is closing
        if ids is not None:
            present = {r.id for r in rows}
            self.table.drop_refs(self._ref_of.pop(i) for i in ids - present if i in self._ref_of)
            for gone in ids - present:
                self._risk_due.pop(gone, None)
        self._ref_of.update({r.id: r.ref for r in rows})
        if ids is None:
            self._risk_due.clear()
        for r in rows:
            changes = r.risk_changes_at(now)
            if changes is None:
                self._risk_due.pop(r.id, None)
            else:
                self._risk_due[r.id] = changes
        if self.loaded.is_set():  # what was late at start is the top of the queue, not an alert
            self._announce_risen(rows)
        self.table.show(rows, now, replace_all=ids is None)
        self._announce_cursor()  # the selected job's version may have moved on

    def _announce_risen(self, rows: list[JobRow]) -> None:
        for row in rows:
            before = self.table.job(row.ref)
            alert = job_became(row.ref, before.risk, row.risk) if before is not None else None
            if alert is not None:
                self.app.post_message(AlertRaised(alert))

    def _announce_cursor(self) -> None:
        ref = self.table.cursor_key()
        row = self.table.job(ref) if ref else None
        self.app.post_message(JobSelected(ref, row.version if row else None))

    def on_keyed_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        ref = event.key
        row = self.table.job(ref) if ref else None
        self.app.post_message(JobSelected(ref, row.version if row else None))

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        self.app.post_message(OpenJob(event.key))

    def on_screen_resume(self) -> None:
        self._announce_cursor()

    def job_target(self) -> JobTarget | None:
        ref = self.table.cursor_key()
        if ref is None:
            return None
        row = self.table.job(ref)
        return JobTarget(ref, row.version if row else None)

    def action_next_saved_filter(self) -> None:
        try:
            saved = self.saved.load()
        except ValueError as e:
            self.app.post_message(Notice(str(e), "error"))
            return
        if not saved:
            self.app.post_message(Notice("no saved filters yet: type one with / then press F to save it"))
            return
        names = sorted(saved)
        self._saved_index = (self._saved_index + 1) % len(names)
        name = names[self._saved_index]
        self.apply_filter(saved[name])
        self.app.post_message(Notice(f"filter '{name}': {saved[name]}"))

    def action_save_filter(self) -> None:
        text = self.table.filter_text
        if not text:
            self.app.post_message(Notice("nothing to save: type a filter with / first", "warning"))
            return
        from dispatch_tui.screens.pickers import TextPrompt

        def save(name: str | None) -> None:
            if name:
                self.saved.save(name, text)
                self.app.post_message(Notice(f"saved filter '{name}' = {text} ({self.saved.path})", "ok"))

        self.app.push_screen(TextPrompt("Save this filter as", placeholder="e.g. urgent hvac"), save)
