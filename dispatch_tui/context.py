"""What every console screen is given: the database, who is at the keyboard, what they are looking at.

Screens take one `ConsoleContext` and nothing else. They read through `ctx.queries` (read models
that return plain dataclasses, never ORM objects) and change state only through `dispatch_tui.actions`
(one data-service call per key). Tests build a context with a frozen `clock` and a fake feed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from data import permissions
from data import slots as slot_queries
from data.actor import Actor
from data.db import Database
from data.errors import Conflict, DispatchError
from data.models.base import utcnow
from data.permissions import Permission
from data.queries import console as console_queries
from data.queries import free as free_queries
from data.queries.console import BranchInfo
from optimizer.solver_process import SolverProcess, SolveRunner, call_here


@dataclass(frozen=True)
class ReadModels:
    """The read-model functions screens call; swap one in a test to feed a screen by hand.

    - `branch(db, code)` -> BranchInfo (id, code, name, timezone, depot, service area)
    - `technician_board(db, branch_id, day, now)` -> list[TechnicianRow], one per technician
    - `job_queue(db, branch_id, day, now)` -> list[JobRow], open jobs, most urgent first
    - `job_detail(db, ref, now)` -> JobDetail, everything before a phone call
    - `free_technicians(db, at, branch=code)` -> list[FreeTechnician], free now or soonest first
    - `slot_offers(db, site, skills, minutes, days, first_day=, now=)` -> list[SlotView], cheapest first
    """

    branch: Callable[..., BranchInfo] = console_queries.branch_info
    technician_board: Callable[..., list[console_queries.TechnicianRow]] = console_queries.technician_board
    job_queue: Callable[..., list[console_queries.JobRow]] = console_queries.job_queue
    job_detail: Callable[..., console_queries.JobDetail] = console_queries.job_detail
    free_technicians: Callable[..., list[free_queries.FreeTechnician]] = free_queries.free_technicians
    slot_offers: Callable[..., list[slot_queries.SlotView]] = slot_queries.slot_offers


@dataclass
class ConsoleContext:
    """One console session. `day` and `branch_code` change when the user jumps; the rest is fixed."""

    db: Database
    actor: Actor
    branch_code: str
    day: date
    clock: Callable[[], datetime] = utcnow
    """Now, UTC-aware. Frozen in tests so snapshots are stable."""
    recorded: Callable[[datetime], datetime] = field(default=lambda at: at)
    """Puts an instant stamped by the wall clock (the event log, "changed at", notes, deliveries) on
    `clock`: the same instant on a real console; in the demo, where `clock` runs fast, its demo time."""
    queries: ReadModels = field(default_factory=ReadModels)
    ascii_only: bool = False
    """Draw with ASCII glyphs only (poor terminals, some SSH clients)."""
    mouse: bool = True
    config_dir: Path | None = None
    """Where the console keeps the user's saved filters and keys (default: the user config dir)."""
    followed_technician: str | None = None
    followed_job: str | None = None
    """The technician and job last under the cursor of the view on screen: the map opens on them."""
    solver: SolverProcess | None = None
    """The warm solver process searches run in (the real console); None runs them in the calling thread."""

    @property
    def solve(self) -> SolveRunner:
        """How suggestions and re-plans call the optimizer: in the solver process when there is one."""
        return self.solver.run if self.solver is not None else call_here

    def cancel_solve(self) -> None:
        """End the search under way in the solver process (Esc on its dialog); nothing in-thread can be ended."""
        if self.solver is not None:
            self.solver.cancel()

    def now(self) -> datetime:
        return self.clock()

    @property
    def read_only(self) -> bool:
        """Supervisors (and any role with no write permission) see everything and change nothing."""
        return self.actor.read_only

    def refusal(self, permission: Permission, action: str) -> str | None:
        """Why this user's role may not `action` in the branch on view (None: it may); the services say the same."""
        return permissions.refusal(self.actor, permission, action, self.branch.id if self.actor.branch_ids else None)

    @cached_property
    def branch(self) -> BranchInfo:
        return self.queries.branch(self.db, self.branch_code)

    def switch_branch(self, code: str) -> None:
        self.branch_code = code
        self.__dict__.pop("branch", None)

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.branch.timezone)

    def local(self, at: datetime) -> datetime:
        """An instant of the console's clock (planned times, windows, SLAs) in the branch's time zone."""
        return at.astimezone(self.zone)

    def shown(self, at: datetime) -> datetime:
        """A wall-clock stamp (history, "changed at", notes) on the console's clock, in the branch's zone:
        one clock on screen, whatever recorded the instant."""
        return self.recorded(at).astimezone(self.zone)

    def shown_text(self, at: datetime) -> str:
        """`shown(at)` as "HH:MM" today, else with its day ("Tue 24.11 16:05")."""
        when = self.shown(at)
        return f"{when:%H:%M}" if when.date() == self.local(self.now()).date() else f"{when:%a %d.%m %H:%M}"

    def told(self, error: DispatchError) -> str:
        """A service's refusal for the screen: a conflict's "changed by X at T" on this console's clock."""
        return error.told(self.shown_text) if isinstance(error, Conflict) else error.message

    def day_bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants that open and close the viewed local day."""
        start = datetime.combine(self.day, datetime.min.time(), self.zone)
        return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=1)).astimezone(ZoneInfo("UTC"))
