"""The jobs queue: late and at-risk jobs first, then unassigned; `/` filters, saved filters in TOML."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input

from data.paths import config_file
from data.queries.console import JobRow
from dispatch_tui.alerts import job_became
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import AlertRaised, EventsArrived, JobSelected, Notice, OpenJob, ViewRefreshed
from dispatch_tui.screens.base import JobTarget, TargetScreen
from dispatch_tui.widgets.job_table import JobTable
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


class JobsScreen(TargetScreen):
    TITLE = "Jobs"
    ROWS_ARE = "jobs"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("f", "next_saved_filter", "Saved filter", id="jobs.saved_filter"),
        Binding("F", "save_filter", "Save filter", id="jobs.save_filter"),
        Binding("escape", "clear_filter", "Clear", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="jobs")
        self.ctx = ctx
        self.saved = SavedFilters(ctx.config_dir)
        self._dirty: set[int] = set()
        self._full = True
        self._busy = False
        self._ref_of: dict[int, str] = {}
        self._saved_index = -1
        self._risk_due: dict[int, datetime] = {}
        """Job id -> when the clock alone next changes its risk; that row is re-read then, and moves up."""
        self.loaded = asyncio.Event()

    AUTO_FOCUS = "KeyedTable"

    def compose(self) -> ComposeResult:
        yield TitleBar()
        box = Input(placeholder="filter jobs (ref, customer, skill, status...); Enter keeps it", id="filter")
        box.display = False
        yield box
        yield JobTable(self.ctx.zone, id="jobs")
        yield StatusLine()
        yield Footer()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def on_mount(self) -> None:
        self.set_interval(FULL_REFRESH_SECONDS, self.reload)
        self.set_interval(RISK_CHECK_SECONDS, self.check_risk)
        self._kick()

    def check_risk(self) -> None:
        """Re-read the jobs the clock has just made at risk or late, so they move to the top at once."""
        now = self.ctx.now()
        due = {job_id for job_id, at in self._risk_due.items() if at <= now}
        if due:
            for job_id in due:
                del self._risk_due[job_id]
            self._dirty |= due
            self._kick()

    def reload(self) -> None:
        self._full = True
        self._kick()

    def on_events_arrived(self, message: EventsArrived) -> None:
        ids = {int(x) for x in message.touched_jobs if x.isdigit()}
        if ids:
            self._dirty |= ids
            self._kick()

    def _kick(self) -> None:
        if not self._busy:
            self._busy = True
            self.run_worker(self._drain(), group="refresh")

    async def _drain(self) -> None:
        try:
            while self._full or self._dirty:
                full, ids = self._full, None if self._full else set(self._dirty)
                self._full = False
                self._dirty.clear()
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
                if full:
                    self._risk_due.clear()
                for r in rows:
                    changes = r.risk_changes_at(now)
                    if changes is None:
                        self._risk_due.pop(r.id, None)
                    else:
                        self._risk_due[r.id] = changes
                if self.loaded.is_set():  # what was late at start is the top of the queue, not an alert
                    self._announce_risen(rows)
                self.table.show(rows, now, replace_all=full)
                self.app.post_message(ViewRefreshed(full))
                self._announce_cursor()  # the selected job's version may have moved on
                if full:
                    self.loaded.set()
        finally:
            self._busy = False

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
        if event.key:
            self.app.post_message(OpenJob(event.key))

    def on_screen_resume(self) -> None:
        self._announce_cursor()

    def job_target(self) -> JobTarget | None:
        ref = self.table.cursor_key()
        if ref is None:
            return None
        row = self.table.job(ref)
        return JobTarget(ref, row.version if row else None)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.table.set_filter("")
        self.table.focus()

    def apply_filter(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        box.value = text
        box.display = bool(text)
        self.table.set_filter(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.table.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = bool(event.value)
            self.table.focus()

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
