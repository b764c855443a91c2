"""The `:` command line: each command is a view switch, a read, or one change (run in a worker)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from dispatch_tui import actions
from dispatch_tui.handlers.branch_keys import BranchKeys
from dispatch_tui.handlers.job_keys import JobKeys
from dispatch_tui.screens.messages_log import MessagesScreen
from dispatch_tui.screens.pickers import CommandPrompt
from dispatch_tui.screens.technicians import TechniciansScreen
from dispatch_tui.widgets.command_line import CommandError, parse_command

if TYPE_CHECKING:
    from dispatch_tui.alerts import Logged


class CommandLineKeys(JobKeys, BranchKeys):
    messages: list[Logged]
    views: dict[str, Screen[Any]]

    if TYPE_CHECKING:  # provided by DispatchApp

        def action_view(self, name: str) -> None: ...
        def open_job(self, ref: str) -> None: ...
        def set_day(self, day: date) -> None: ...
        def _reload_views(self) -> None: ...
        def action_help(self) -> None: ...

    def action_command_line(self) -> None:
        def run(text: str | None) -> None:
            if text:
                self.run_worker(self.run_command(text), group="command")

        self.push_screen(CommandPrompt(), run)

    async def run_command(self, text: str) -> None:
        """Run one `:` command; what it changes or reads runs in a worker (its answer comes as a message)."""
        try:
            command = parse_command(text)
        except CommandError as e:
            self.notice(str(e), "error")
            return
        name, args, ctx = command.name, command.args, self.ctx
        if name == "view":
            self.action_view(args[0])
        elif name == "job":
            self.open_job(args[0].upper())
        elif name == "tech":
            self.action_view("technicians")
            screen = self.views.get("technicians")
            if isinstance(screen, TechniciansScreen):
                screen.focus_technician(args[0].upper())
        elif name == "assign":
            start = self._parse_time(args[2]) if len(args) > 2 else None
            if isinstance(start, str):
                self.notice(start, "error")
                return
            ref, code = args[0].upper(), args[1].upper()
            self.perform(lambda: actions.assign(ctx, ref, code, start))
        elif name == "unassign":
            ref = args[0].upper()
            self.perform(lambda: actions.unassign(ctx, ref))
        elif name == "replan":
            self.action_replan()
        elif name == "branch":
            ctx.switch_branch(args[0].upper())
            self.read(lambda: ctx.branch, lambda _branch: self._reload_views(), what="the branch")
        elif name == "day":
            try:
                self.set_day(date.fromisoformat(args[0]))
            except ValueError:
                self.notice(f"':day {args[0]}': give a date as YYYY-MM-DD", "error")
        elif name == "slots":
            self.show_slots(args[0].upper(), args[1] if len(args) > 1 else "", args[2] if len(args) > 2 else "60")
        elif name in ("depend", "crew", "visits"):
            self._link_command(name, args)
        elif name == "undo":
            self.action_undo()
        elif name == "help":
            self.action_help()
        elif name == "messages":
            self.push_screen(MessagesScreen(self.messages, self.ctx.zone))
        elif name == "quit":
            self.exit()

    def _link_command(self, name: str, args: tuple[str, ...]) -> None:
        """`:depend B A [GAP]`, `:crew J N`, `:visits J DAYS`: the job's links, one service call each."""
        numbers = args[2:] if name == "depend" else args[1:]
        if not all(n.isdigit() for n in numbers[:1]):
            self.notice(f"':{name} {' '.join(args)}': {numbers[0]} is not a whole number", "error")
            return
        ref, ctx = args[0].upper(), self.ctx
        if name == "depend":
            after = None if args[1] == "-" else args[1].upper()
            gap = int(args[2]) if len(args) > 2 else 0
            self.perform(lambda: actions.set_dependency(ctx, ref, after, gap))
        elif name == "crew":
            size = int(args[1])
            self.perform(lambda: actions.set_crew_size(ctx, ref, size))
        else:
            days = int(args[1])
            self.perform(lambda: actions.split_into_visits(ctx, ref, days))
