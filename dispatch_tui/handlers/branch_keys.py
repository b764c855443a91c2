"""The keys about the branch's day: a technician's absence, the re-plan, and slot offers for a caller."""

from __future__ import annotations

from datetime import timedelta

from textual.message_pump import MessagePump

from data.models.workforce import AbsenceKind
from data.services.jobs import parse_skills
from data.slots import SlotView
from dispatch_tui import actions
from dispatch_tui.handlers.runner import ActionRunner
from dispatch_tui.screens.pickers import Choice, PickList
from dispatch_tui.screens.replan import ReplanScreen
from dispatch_tui.screens.slots import SlotsScreen
from dispatch_tui.screens.technicians import TechniciansScreen

SLOT_DAYS = 5
"""`:slots` offers windows over this many days from the viewed day."""


class BranchKeys(ActionRunner):
    def action_absent(self) -> None:
        code = self.selected_technician
        if not code:
            self.notice("select a technician first (1 opens the technicians view)", "warning")
            return
        ctx = self.ctx
        end_of_day = ctx.day_bounds()[1] - timedelta(minutes=1)

        def submit(kind: str, until_text: str, reply_to: MessagePump) -> str | None:
            until = self._parse_time(until_text) if until_text.strip() else end_of_day
            if isinstance(until, str):
                return until
            assert until is not None
            self.perform(lambda: actions.mark_absent(ctx, code, AbsenceKind(kind), until), reply_to=reply_to)
            return None

        choices = [Choice(k.value, k.value) for k in AbsenceKind]
        self.push_screen(
            PickList(
                f"{code} is absent from now: why?",
                choices,
                submit,
                extra_label="until HH:MM (empty: end of day)",
                filterable=False,
            )
        )

    def action_replan(self) -> None:
        """Open the re-plan dialog at once; the proposal is computed in a worker, then y applies."""
        ctx = self.ctx
        technician = self.selected_technician if isinstance(self.screen, TechniciansScreen) else None

        def apply(proposal: actions.ReplanProposal, reply_to: MessagePump) -> None:
            self.perform(lambda: actions.apply_replan(ctx, proposal), reply_to=reply_to)

        self.notice("re-planning the rest of the day...")
        title = f"Re-plan {ctx.branch.code} {ctx.day:%a %d %b} from {ctx.local(ctx.now()):%H:%M}"
        compute = lambda: actions.propose_replan(ctx, technician)  # noqa: E731 - one call, named for the dialog
        apply_it = None if self.read_only else apply
        self.push_screen(ReplanScreen(title, compute, ctx.zone, apply_it, cancel=ctx.cancel_solve))

    def show_slots(self, site: str, skills: str, minutes: str) -> None:
        """The windows a calling customer at ``site`` can be promised over the coming days, cheapest first."""
        if not minutes.isdigit():
            self.notice(f"':slots {site} {skills} {minutes}': minutes on site as a whole number, e.g. 60", "error")
            return
        self.notice(f"pricing windows at {site}...")
        ctx = self.ctx

        def offers() -> list[SlotView]:
            needed = parse_skills(skills, record="slots", field="SKILLS")
            days = SLOT_DAYS
            return ctx.queries.slot_offers(ctx.db, site, needed, int(minutes), days, first_day=ctx.day, now=ctx.now())

        def show(found: list[SlotView]) -> None:
            self.notice(f"{len(found)} window(s) at {site}")
            self.push_screen(SlotsScreen(site, found, ctx.zone))

        self.read(offers, show, what="the slot search")
