"""Everything about one job before a phone call: customer, site, access, asset, contract, visits, notes, history."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Static

from data.errors import DispatchError
from data.queries.console import JobDetail
from data.queries.field_report import FieldReport, field_report
from data.queries.offers import OfferLine, job_offers
from dispatch_tui.alerts import changed_by_someone_else
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import AlertRaised, EventsArrived, JobSelected, ViewRefreshed
from dispatch_tui.screens.base import JobTarget, TargetScreen
from dispatch_tui.widgets.crm_offers import render_crm_offers
from dispatch_tui.widgets.field_report import render_field_report
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar


class JobDetailScreen(TargetScreen):
    TITLE = "Job"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "reload", "Reload", id="job_detail.reload"),
    ]
    DEFAULT_CSS = """
    JobDetailScreen #detail { padding: 0 1; }
    JobDetailScreen .section { margin-bottom: 1; height: auto; }
    """

    def __init__(self, ctx: ConsoleContext, ref: str) -> None:
        super().__init__(name=f"job:{ref}")
        self.ctx = ctx
        self.ref = ref
        self.detail: JobDetail | None = None
        self.field_report: FieldReport | None = None
        self.offers: list[OfferLine] = []
        self.loaded = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="detail"):
            yield Static("loading...", id="body", markup=False, classes="section")
        yield StatusLine()
        yield KeyBar()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self._load(), group="load", exclusive=True)

    async def _load(self) -> None:
        ctx, ref = self.ctx, self.ref

        def read() -> tuple[JobDetail, FieldReport | None, list[OfferLine]]:
            # One trip to a thread for all three reads: each hop back to a busy loop costs a frame or more.
            return ctx.queries.job_detail(ctx.db, ref, ctx.now()), field_report(ctx.db, ref), job_offers(ctx.db, ref)

        try:
            detail, self.field_report, self.offers = await asyncio.to_thread(read)
        except DispatchError as e:
            body = self._body()
            if body is not None:
                body.update(Text(ctx.told(e), style="bold red"))
            self.loaded.set()
            return
        body = self._body()
        if body is None:  # closed (esc, or the console ending) while the answer was on its way
            self.loaded.set()
            return
        self.detail = detail
        body.update(self.render_detail(detail))
        self.app.post_message(JobSelected(detail.ref, detail.version))
        self.app.post_message(ViewRefreshed())
        self.loaded.set()

    def _body(self) -> Static | None:
        try:
            return self.query_one("#body", Static) if self.is_mounted else None
        except NoMatches:
            return None

    def on_screen_resume(self) -> None:
        if self.detail is not None:
            self.app.post_message(JobSelected(self.detail.ref, self.detail.version))

    def job_target(self) -> JobTarget:
        return JobTarget(self.ref, self.detail.version if self.detail is not None else None)

    def on_events_arrived(self, message: EventsArrived) -> None:
        if self.detail is not None and str(self.detail.id) in message.touched_jobs:
            self.action_reload()
            mine = [e for e in message.events if e.subject_type == "job" and e.subject_id == str(self.detail.id)]
            alert = changed_by_someone_else(self.ref, mine, self.ctx.actor.login)
            if alert is not None and self.is_current:
                self.app.post_message(AlertRaised(alert))

    def action_back(self) -> None:
        self.app.pop_screen()

    def _t(self, at: datetime | None, with_date: bool = False) -> str:
        """A time of the plan (the console's clock) in the branch's zone."""
        if at is None:
            return "-"
        return self.ctx.local(at).strftime("%a %d.%m %H:%M" if with_date else "%H:%M")

    def _stamp(self, at: datetime | None) -> str:
        """A wall-clock stamp (history, changes, notes) on the console's clock, in the branch's zone."""
        return "-" if at is None else f"{self.ctx.shown(at):%a %d.%m %H:%M}"

    def render_detail(self, d: JobDetail) -> Group:
        head = Text()
        head.append(f"{d.ref} ", style="bold")
        head.append(f"P{d.priority} ", style="bold red" if d.priority <= 2 else "yellow")
        head.append(f"{d.type} · {d.status.replace('_', ' ')}")
        if d.risk:
            head.append(f" · {d.risk}", style="bold red" if d.risk == "late" else "yellow")
        head.append(f"\n{d.summary}")
        if d.description:
            head.append(f"\n{d.description}", style="dim")

        facts = Table.grid(padding=(0, 1))
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column()
        window = f"{self._t(d.window_start, True)} - {self._t(d.window_end)}" if d.window_start else "any time"
        rows = [
            (
                "Plan",
                f"{d.technician or 'unassigned'}  {self._t(d.planned_start, True)}-{self._t(d.planned_end)}"
                f"{'  pinned' if d.pinned else ''}  ({d.duration_minutes} min)",
            ),
            ("Window", window),
            ("SLA due", self._t(d.sla_due, True)),
            ("Skills", " ".join(d.skills) or "-"),
            ("Customer", f"{d.customer_name} ({d.customer_code})"),
            ("Phone", " · ".join(x for x in (d.customer_phone, d.customer_email) if x) or "-"),
            ("Contact", d.contact or "-"),
            ("Prefers", "; ".join(f"{k}: {v}" for k, v in d.customer_preferences.items()) or "-"),
            ("Site", f"{d.site_name} ({d.site_code}), {d.site_address}"),
            ("Access", d.access_notes or "-"),
            ("Asset", f"{d.asset}; {d.warranty}" if d.asset else "-"),
            ("Contract", d.contract or "none: billable"),
            ("Changed", f"by {d.updated_by} {self._stamp(d.updated_at)} (version {d.version})"),
        ]
        if d.links:
            rows.append(("Linked", "\n".join(d.links)))
        if d.customer_notes:
            rows.append(("Customer notes", d.customer_notes))
        rows.extend((name.replace("_", " ").capitalize(), value) for name, value in d.custom_fields)
        for k, v in rows:
            facts.add_row(k, Text(v))

        notes = Text("Notes\n", style="bold")
        for n in d.notes:
            notes.append(f"{self._stamp(n.created_at)} {n.author} ({n.author_kind}): ", style="dim")
            notes.append(n.body + "\n")
        if not d.notes:
            notes.append("none yet (n adds one)\n", style="dim")

        visits = Text("Last visits at this site\n", style="bold")
        for visit in d.last_visits:
            visits.append(
                f"{self._t(visit.finished_at, True)} {visit.ref} {visit.status} {visit.technician or ''}: ",
                style="dim",
            )
            visits.append(visit.summary + "\n")
            for n in visit.notes:
                visits.append(f"    {n.author}: {n.body}\n", style="italic")
        if not d.last_visits:
            visits.append("no earlier visits\n", style="dim")

        history = Text("History\n", style="bold")
        for e in d.history[-15:]:
            history.append(f"{self._stamp(e.at)} #{e.seq} {e.type} by {e.actor} ({e.source})\n", style="dim")
        from_field = render_field_report(self.field_report, lambda at: self._t(at, True))
        offers = render_crm_offers(self.offers, lambda at: self._t(at, True))
        parts = tuple(part for part in (from_field, offers) if part.plain)
        return Group(head, Text(""), facts, Text(""), *parts, notes, visits, history)
