"""The map view: where every technician is now, the open jobs by priority, and one technician's route."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.binding import Binding

from data.queries.board import MapHit, map_state
from dispatch_tui.context import ConsoleContext
from dispatch_tui.messages import EventsArrived, TechnicianSelected, ViewRefreshed
from dispatch_tui.screens.base import TargetScreen
from dispatch_tui.screens.pickers import TextPrompt
from dispatch_tui.widgets.key_bar import KeyBar
from dispatch_tui.widgets.map_canvas import MapCanvas
from dispatch_tui.widgets.status_line import StatusLine
from dispatch_tui.widgets.title_bar import TitleBar

RELOAD_AFTER_JOB_EVENTS_SECONDS = 1.0


class MapScreen(TargetScreen):
    TITLE = "Map"
    CSS_PATH = "map.tcss"
    BINDINGS = [Binding("slash", "find", "Find", key_display="/")]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(name="map")
        self.ctx = ctx
        self._reload_pending = False
        self._reload_on_view = False
        """Jobs changed while the map was hidden: it reads them once it is looked at again."""
        self.loaded = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield MapCanvas(ascii_only=self.ctx.ascii_only, id="map")
        yield StatusLine()
        yield KeyBar()

    @property
    def canvas(self) -> MapCanvas:
        return self.query_one(MapCanvas)

    def on_mount(self) -> None:
        self.canvas.focus()
        self.run_worker(self._load(), group="map-load")

    def on_screen_resume(self) -> None:
        """Open on the technician and job the dispatcher was just looking at (on the board, in a list)."""
        canvas = self.canvas
        if self.ctx.followed_technician is not None and self.ctx.followed_technician != canvas.selected:
            canvas.selected = self.ctx.followed_technician
        canvas.selected_job = self.ctx.followed_job
        if self._reload_on_view:
            self._reload_on_view = False
            self.reload()

    def reload(self) -> None:
        """Re-read the map (the app calls this when the viewed day or branch changes)."""
        self.run_worker(self._load(), group="map-load")

    async def _load(self) -> None:
        self._reload_pending = False
        ctx = self.ctx
        state = await asyncio.to_thread(map_state, ctx.db, ctx.branch_code, ctx.day)
        self.canvas.state = state
        self.loaded.set()
        self.app.post_message(ViewRefreshed())

    def on_events_arrived(self, message: EventsArrived) -> None:
        """Positions and statuses move markers in place; job changes re-read the map once a second at most."""
        jobs_changed = False
        for event in message.events:
            code = event.payload.get("code")
            if event.type == "technician.position" and isinstance(code, str):
                self.canvas.move_technician(code, lat=float(event.payload["lat"]), lon=float(event.payload["lon"]))
            elif event.type == "technician.status_changed" and isinstance(code, str):
                self.canvas.move_technician(code, status=str(event.payload.get("to")))
            elif event.subject_type == "job":
                jobs_changed = True
        if jobs_changed and not self._reload_pending:
            self._reload_pending = True
            self.set_timer(RELOAD_AFTER_JOB_EVENTS_SECONDS, self._reload_after_jobs)

    def _reload_after_jobs(self) -> None:
        """Hidden, the map reads nothing: it only notes that it must, when looked at."""
        if self.is_current:
            self.reload()
        else:
            self._reload_pending = False
            self._reload_on_view = True

    def on_map_canvas_technician_chosen(self, message: MapCanvas.TechnicianChosen) -> None:
        self.app.post_message(TechnicianSelected(message.code))

    def technician_target(self) -> str | None:
        return self.canvas.selected

    def action_find(self) -> None:
        """Ask for a job, technician, customer or address; centre on what matches and select it."""
        state = self.canvas.state

        def check(text: str) -> str | None:
            if state is None or state.find(text) is None:
                return f"no job, technician, customer or address on the map matches {text!r}"
            return None

        def found(text: str | None) -> None:
            hit = state.find(text) if state is not None and text else None
            if hit is None:
                return
            self.show(hit)

        self.app.push_screen(
            TextPrompt("Find on the map", placeholder="job ref, technician, customer or address", check=check), found
        )

    def show(self, hit: MapHit) -> None:
        canvas = self.canvas
        if hit.kind == "technician":
            self.ctx.followed_technician = hit.key
            canvas.selected = hit.key
            self.app.post_message(TechnicianSelected(hit.key))
        else:
            self.ctx.followed_job = hit.key  # what the map opens on after the prompt closes, too
            canvas.selected_job = hit.key
        canvas.center_on(hit.lat, hit.lon)
