"""The dispatch console: views on single keys and a `:` line, dispatch keys, live updates from the feed.

The app owns what every view shares: who is at the keyboard (title bar), the live feed (coalesced into
one `EventsArrived` per tick for each view), which keys are offered, and navigation between views. What
the dispatch keys and `:` commands do lives in `dispatch_tui.handlers` (mixed in here): each runs its
service call or query in a thread worker and answers by message, refusals shown in place. It holds no
selection of its own: a key acts on what the screen on view (`self.screen`) draws under its cursor
(`job_target` / `technician_target` of `screens.base`), so a hidden view refreshing its rows never
changes what a key acts on.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time as clock
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.actions import ActionParseResult
from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen

from data.feed import EventRecord
from data.queries.first_run import company_progress
from data.services.messages import unread_counts
from dispatch_tui import actions
from dispatch_tui.alerts import Alert, FeedAlerts, Logged, Severity, has_messages
from dispatch_tui.commands_palette import ActionsProvider
from dispatch_tui.context import ConsoleContext
from dispatch_tui.feed_source import FeedSource
from dispatch_tui.handlers.command_line import CommandLineKeys
from dispatch_tui.keymap import ACTION_NEEDS, READ_ONLY_REFUSALS, WRITE_ACTIONS, bindings
from dispatch_tui.messages import (
    AlertRaised,
    DayChosen,
    EventsArrived,
    FeedState,
    FeedStateChanged,
    FirstRunChecked,
    JobSelected,
    Notice,
    OpenJob,
    TechnicianSelected,
    UnreadCounted,
    ViewRefreshed,
)
from dispatch_tui.screens.first_run import FirstRunScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.job_detail import JobDetailScreen
from dispatch_tui.views import VIEWS
from dispatch_tui.widgets.status_line import StatusLine
from integrations.logs import crash_message, record_crash
from optimizer.native_log import set_stderr_redirect

TICK_SECONDS = 0.1
"""Live events are handed to the views at most this often (10 Hz), never one by one. A batch arriving
after a quiet spell is applied at once (leading edge); later ones wait for the tick. A tick is cheap:
the view on screen re-reads only the rows touched and draws only the lines that changed (hidden views
only mark them), and batches arriving while it reads coalesce into its next read."""

JOB_ACTIONS = frozenset({"assign", "unassign", "move", "pin", "status", "suggest", "note", "open_job"})


class DispatchApp(CommandLineKeys):
    """`DispatchApp(context, feed)`: the console on one database, as one user."""

    CSS_PATH = "app.tcss"
    COMMANDS: ClassVar = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [*bindings()]
    ENABLE_COMMAND_PALETTE = True

    title_text: reactive[str] = reactive("")
    title_variants: reactive[tuple[str, ...]] = reactive(())
    """The title from longest to shortest; the title bar shows the longest that fits its width."""
    status_text: reactive[str] = reactive("")
    status_level: reactive[str] = reactive("info")
    freshness_text: reactive[str] = reactive("")

    def __init__(
        self,
        context: ConsoleContext,
        feed: FeedSource | None = None,
        *,
        start_view: str = "technicians",
        keymap: dict[str, str] | None = None,
        tick_seconds: float = TICK_SECONDS,
        background: Sequence[Callable[[asyncio.Event], Awaitable[object]]] = (),
        theme: str = "textual-dark",
    ) -> None:
        super().__init__()
        self.start_theme = theme
        """A Textual theme name ("textual-dark", "textual-light", ...); every status reads in each."""
        # Textual draws on fd 2; absl is still kept quiet by optimizer.native_log. Put back on unmount.
        self._stderr_redirect = set_stderr_redirect(False)
        self.background = list(background)
        self.stop_background = asyncio.Event()
        self.ctx = context
        self._hide_write_keys()
        self.feed = feed
        self.start_view = start_view
        self.user_keymap = keymap or {}
        self.tick_seconds = tick_seconds
        self._written: dict[str, int] = {}
        """Job ref -> the version our own last action left, so the next key does not trip over it."""
        self._offered: tuple[bool, bool] = (False, False)
        self.undo_step: actions.UndoStep | None = None
        self.feed_state = FeedState("off")
        self.crash_log: Path | None = None
        self.last_refresh: datetime | None = None
        self.views: dict[str, Screen[Any]] = {}
        self.available_views: dict[str, Callable[[], Screen[Any]]] = {}
        self.current_view = start_view
        self._pending: list[EventRecord] = []
        self._last_flush = float("-inf")  # the first batch flushes at once, however young the clock
        self._flush_scheduled = False
        self.ticks_applied = 0
        self.messages: list[Logged] = []
        """Everything the console announced, oldest first (`:messages` shows it)."""
        self.unread_messages = 0
        """Messages from technicians this user has not read (`dispatch messages list` reads them)."""
        self.unseen: Counter[str] = Counter()
        """View name -> alerts about it the dispatcher has not looked at yet (its title tab's badge)."""
        self.feed_alerts = FeedAlerts(context.actor.login, context.local)
        self._solver_started = False

    # Set-up.

    def on_mount(self) -> None:
        self.theme = self.start_theme
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        self.available_views = {v.name: self._factory(v.screen_class(), v.name) for v in VIEWS}
        for name, factory in self.available_views.items():
            self.add_mode(name, factory)
        if self.start_view not in self.available_views:
            self.start_view = "technicians"
        self.current_view = self.start_view
        self._update_title()
        self.status_text = "? keys · : command · ctrl+p palette" + (
            " · read-only (supervisor)" if self.read_only else ""
        )
        self.switch_mode(self.start_view)
        if self.feed is not None:
            self.run_worker(self.feed.run(self.post_message), name="feed", group="feed")
        for task in self.background:
            self.run_worker(task(self.stop_background), group="background")
        self.set_interval(1.0, self._update_freshness)
        self._count_unread()
        self._check_first_run()

    def _factory(self, cls: type[Screen[Any]], name: str) -> Callable[[], Screen[Any]]:
        def make() -> Screen[Any]:
            screen = cls(self.ctx)  # type: ignore[arg-type]
            self.views[name] = screen
            return screen

        return make

    def _update_title(self) -> None:
        ctx = self.ctx
        now = ctx.local(ctx.now())  # the console's clock (the demo's in the demo), branch zone
        tabs = self._tabs(short=False)
        short_tabs = self._tabs(short=True)
        login, role, branch = ctx.actor.login, ctx.actor.role.value, ctx.branch.code
        ro = " · READ-ONLY" if self.read_only else ""
        mail = f" · {self.unread_messages} unread" if self.unread_messages else ""
        variants = (
            f"{login} · {role} · {branch} · {ctx.day:%a %d %b} {now:%H:%M}{ro}{mail}  {tabs}",
            f"{login} · {branch} · {ctx.day:%a %d %b} {now:%H:%M}{ro}{mail}  {tabs}",
            f"{branch} {ctx.day:%a %d.%m} {now:%H:%M}{' RO' if ro else ''}  {tabs}",
            f"{branch} {ctx.day:%d.%m} {now:%H:%M}{' RO' if ro else ''}  {short_tabs}",
        )
        self.title_variants = variants
        self.title_text = variants[0]

    def _tabs(self, short: bool) -> str:
        """The view tabs, the current one in brackets, each with its count of unseen alerts."""
        out = []
        for v in VIEWS:
            if v.name not in self.available_views:
                continue
            tab = v.key if short and v.name != self.current_view else f"{v.key} {v.label}"
            if self.unseen[v.name]:
                tab += f"({self.unseen[v.name]})"
            out.append(f"[{tab}]" if v.name == self.current_view else tab)
        return " ".join(out)

    @work(thread=True, exclusive=True, group="unread", exit_on_error=False)
    def _count_unread(self) -> None:
        self.post_message(UnreadCounted(sum(unread_counts(self.ctx.db, self.ctx.actor).values())))

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False)
    def _check_first_run(self) -> None:
        self.post_message(FirstRunChecked(company_progress(self.ctx.db)))

    def on_first_run_checked(self, message: FirstRunChecked) -> None:
        if message.progress.new_company:
            self.push_screen(FirstRunScreen(message.progress))

    def on_unread_counted(self, message: UnreadCounted) -> None:
        self.unread_messages = message.unread
        self._update_title()

    def _update_freshness(self) -> None:
        self._update_title()  # the clock in it; a reactive, so only a new minute repaints
        state = self.feed_state
        feed = f"feed: {state.state}" + (f" (seq {state.last_seq})" if state.state != "off" else "")
        if state.detail:
            feed += f" {state.detail[:40]}"
        if self.last_refresh is None:
            self.freshness_text = f"loading · {feed}"
            return
        # The console's clock, as on the board (the demo's in the demo), never a count of its seconds.
        self.freshness_text = f"updated {self.ctx.local(self.last_refresh):%H:%M:%S} · {feed}"

    # The live feed: raw batches are buffered, then handed to each view once per tick.

    def on_events_arrived(self, message: EventsArrived) -> None:
        self._pending.extend(message.events)
        if message.events:
            self.feed_state = FeedState(self.feed_state.state, message.events[-1].seq, self.feed_state.detail)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            wait = self._last_flush + self.tick_seconds - clock.monotonic()
            if wait > 0.001:
                self.set_timer(wait, self._timed_flush)
            else:
                self.call_later(self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_scheduled = False
        self.flush_events()

    def on_feed_state_changed(self, message: FeedStateChanged) -> None:
        self.feed_state = message.state
        self._update_freshness()

    def flush_events(self) -> int:
        """Hand everything buffered to every view (visible or not) as one batch; returns how many events."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        self._last_flush = clock.monotonic()
        targets = list(self.views.values())
        for screen in self.screen_stack:
            if screen not in targets:
                targets.append(screen)
        for screen in targets:
            screen.post_message(EventsArrived(batch))
        self.ticks_applied += 1
        for alert in self.feed_alerts.read(batch):
            self.alert(alert)
        if has_messages(batch):
            self._count_unread()
        self.last_refresh = self.ctx.now()  # the views now hold everything the feed has delivered
        self._update_freshness()
        return len(batch)

    def on_view_refreshed(self, message: ViewRefreshed) -> None:
        self.last_refresh = self.ctx.now()
        self._update_freshness()
        if self.ctx.solver is not None and not self._solver_started:
            # Warm before the first `s` or `R`, but after the first view is filled: on two cores its
            # import of OR-Tools would otherwise slow the start-up.
            self._solver_started = True
            self.run_worker(self.ctx.solver.start, thread=True, group="background", exit_on_error=False)
        if message.full:
            # Thousands of long-lived cells make every full garbage collection walk them all (tens of
            # milliseconds per repaint at 5,000 jobs); they hold no cycles, so keep the collector off them.
            gc.freeze()

    def on_alert_raised(self, message: AlertRaised) -> None:
        self.alert(message.alert)

    def alert(self, alert: Alert) -> None:
        """Tell the dispatcher at once (a notification) and keep it in the `:messages` log."""
        self.messages.append(Logged(self.ctx.now(), alert.text, alert.severity, notified=True))
        self.notify(alert.text, severity=alert.severity, timeout=10, markup=False)
        looking = alert.view == self.current_view and self.screen_stack and self.screen is self.views.get(alert.view)
        if alert.view is not None and not looking:
            self.unseen[alert.view] += alert.count
            self._update_title()

    def on_notice(self, message: Notice) -> None:
        self.notice(message.text, message.level)

    def notice(self, text: str, level: str = "info") -> None:
        """The status line's message; logged for `:messages`, and notified whole when the line cannot hold it."""
        self.status_text = text
        self.status_level = level
        if not text:
            return
        severity: Severity = "error" if level == "error" else "warning" if level == "warning" else "information"
        too_long = len(text) > self._status_room()
        self.messages.append(Logged(self.ctx.now(), text, severity, notified=too_long))
        if too_long:
            self.notify(text, severity=severity, timeout=10, markup=False)

    def _status_room(self) -> int:
        """How many characters the status line on view can show (its message part)."""
        lines = self.screen.query(StatusLine) if self.screen_stack else None
        if not lines:
            return self.size.width
        return lines.first().message_room()

    def _from_screen_on_view(self, message: JobSelected | TechnicianSelected) -> bool:
        """Hidden views re-announce their cursor after live updates; only the visible one's choice is followed."""
        sender = getattr(message, "_sender", None)
        return sender is not None and bool(self.screen_stack) and getattr(sender, "screen", None) is self.screen

    def on_job_selected(self, message: JobSelected) -> None:
        if message.ref is not None and self._from_screen_on_view(message):
            self.ctx.followed_job = message.ref
        self._sync_keys()

    def on_technician_selected(self, message: TechnicianSelected) -> None:
        if message.code is not None and self._from_screen_on_view(message):
            self.ctx.followed_technician = message.code
        self._sync_keys()

    def _sync_keys(self) -> None:
        # Views re-announce their cursor after every live update; the footer is rebuilt only when
        # whether a job or technician is under the cursor changes (a rebuild restyles every key in it).
        offered = (self.selected_job is not None, self.selected_technician is not None)
        if offered != self._offered:
            self._offered = offered
            self._refresh_keys()

    def on_open_job(self, message: OpenJob) -> None:
        self.open_job(message.ref)

    def on_day_chosen(self, message: DayChosen) -> None:
        self.set_day(message.day)
        if message.view:
            self.action_view(message.view)

    def _refresh_keys(self) -> None:
        """Re-evaluate which keys show (the selection or undo changed); nothing to do while closing."""
        if self.screen_stack:
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self._role_refusal(action):
            return True  # offered, so that pressing it says why it does nothing (see run_action)
        if action in JOB_ACTIONS and self.selected_job is None:
            return False
        if action == "absent" and not self.selected_technician:
            return False
        if action == "undo" and self.undo_step is None:
            return None
        return True

    def _hide_write_keys(self) -> None:
        """Keys the user's role cannot use (pressing one says why it does nothing) stay out of the footer."""
        # Textual keeps each node's bindings in `_bindings`; this instance gets its own copy, not the class's.
        hidden = {a for a in WRITE_ACTIONS if self._role_refusal(a)}
        if not hidden:
            return
        table = self._bindings.key_to_bindings
        for key, found in table.items():
            table[key] = [replace(b, show=False) if b.action in hidden else b for b in found]

    def _role_refusal(self, action: str) -> str | None:
        """Why the user's role cannot use this key (the read-only wording for supervisors), else None."""
        if action not in ACTION_NEEDS:
            return None
        if self.read_only and self.ctx.actor.role_name is None:
            return READ_ONLY_REFUSALS[action]
        needs, cannot = ACTION_NEEDS[action]
        return self.ctx.refusal(needs, cannot)

    def _refused_read_only(self, action: str) -> bool:
        """Say why a key that changes data does nothing for this role; True when refused."""
        refusal = self._role_refusal(action)
        if refusal is not None:
            self.notice(refusal, "warning")
        return refusal is not None

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        if default_namespace in (None, self):
            name = (parse_action(action) if isinstance(action, str) else action)[1]
            if self._refused_read_only(name):
                return True
        return await super().run_action(action, default_namespace, namespaces)

    async def invoke(self, action: str) -> None:
        """Run an action by name even when its key is hidden (palette, `:` line); the service decides."""
        _ns, name, params = parse_action(action)
        if self._refused_read_only(name):
            return
        method = getattr(self, f"action_{name}", None)
        if method is None:
            self.notice(f"unknown action {name}", "error")
            return
        result = method(*params)
        if inspect.isawaitable(result):
            await result

    # Views and navigation.

    def action_view(self, name: str) -> None:
        if name not in self.available_views:
            self.notice(f"the {name} view is not available in this build", "warning")
            return
        chosen = self.job_target()  # the job on the screen being left: a view that can show it lands on it
        if name == self.current_mode and len(self.screen_stack) > 1:
            while len(self.screen_stack) > 1:
                self.pop_screen()
        self.current_view = name
        self.unseen.pop(name, None)  # looked at: its badge goes
        self.switch_mode(name)
        self._update_title()
        follow = getattr(self.screen, "follow_job", None)
        if chosen is not None and callable(follow):
            follow(chosen.ref)

    def open_job(self, ref: str) -> None:
        if ref:
            self.push_screen(JobDetailScreen(self.ctx, ref))

    def action_open_job(self) -> None:
        ref = self.selected_job
        if ref is not None:
            self.open_job(ref)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen, self._role_refusal))

    def set_day(self, day: date) -> None:
        self.ctx.day = day
        self._reload_views()

    def _reload_views(self) -> None:
        self._update_title()
        for screen in self.views.values():
            reload = getattr(screen, "reload", None)
            if callable(reload):
                reload()

    async def action_quit(self) -> None:
        self.stop_background.set()
        self.exit()

    def on_unmount(self) -> None:
        self.stop_background.set()
        if self.ctx.solver is not None:
            self.ctx.solver.close()
        set_stderr_redirect(self._stderr_redirect)

    def _handle_exception(self, error: Exception) -> None:
        """A crash: the traceback (no locals) goes to the private log file, the screen gets one line.

        Textual's own crash screen prints the traceback with every frame's local variables, which hold
        customers, addresses and notes. The exit code stays 1 and a test's pilot still re-raises the error.
        """
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.crash_log = record_crash(error)
        self.stop_background.set()
        self.panic(Text(crash_message(self.crash_log)))
