"""The keys that act on the job under the cursor: assign, move, unassign, pin, status, note, suggest.

Each reads what its dialog needs (`read`) and makes its change (`perform`) in thread workers; a dialog that
asked for a change waits for the answer's message and shows a refusal in place.
"""

from __future__ import annotations

from textual.message_pump import MessagePump

from data.models.jobs import TRANSITIONS, JobStatus
from data.queries.console import technician_choices
from dispatch_tui import actions
from dispatch_tui.handlers.runner import ActionRunner
from dispatch_tui.screens.pickers import Choice, Confirm, PickList, TextPrompt
from dispatch_tui.screens.suggestions import SuggestionsScreen


class JobKeys(ActionRunner):
    def action_assign(self) -> None:
        self._pick_technician(move=False)

    def action_move(self) -> None:
        self._pick_technician(move=True)

    def _choices(self, ref: str) -> list[Choice]:
        """The picker's lines (blocking: run in `read`)."""
        ctx = self.ctx
        return [
            Choice(
                c.code,
                f"{c.code:<6} {c.name:<22} {c.skills}" + (f"  ({c.unavailable})" if c.unavailable else ""),
                dim=not c.qualified,
            )
            for c in technician_choices(ctx.db, ctx.branch.id, ref, ctx.now())
        ]

    def _pick_technician(self, move: bool) -> None:
        target = self._need_job()
        if target is None:
            return
        ref, version, ctx = target.ref, target.version, self.ctx

        def submit(code: str, start_text: str, reply_to: MessagePump) -> str | None:
            start = self._parse_time(start_text)
            if isinstance(start, str):
                return start
            self.perform(lambda: actions.assign(ctx, ref, code, start, version), reply_to=reply_to)
            return None

        def show(answer: tuple[list[Choice], actions.JobState]) -> None:
            choices, state = answer
            default_start = ""
            if move and state.planned_start is not None:
                default_start = ctx.local(state.planned_start).strftime("%H:%M")
            title = f"{'Move' if move else 'Assign'} {ref} to (qualified first)"
            self.push_screen(
                PickList(
                    title,
                    choices,
                    submit,
                    extra_label="start HH:MM (empty: next free slot)",
                    extra_default=default_start,
                    highlight=state.technician,
                )
            )

        self.read(lambda: (self._choices(ref), actions.job_state(ctx, ref)), show, what="the technician list")

    def action_unassign(self) -> None:
        """Unassign at once when undo puts it all back (stated in the status line); ask first when the
        technician has already been sent the job, which undo cannot take back."""
        target = self._need_job()
        if target is None:
            return
        ctx = self.ctx

        def unassign() -> actions.Outcome:
            return actions.unassign(ctx, target.ref, target.version)

        def decide(state: actions.JobState) -> None:
            if state.status != JobStatus.DISPATCHED.value or state.technician is None:
                self.perform(unassign)
                return
            at = ctx.local(state.planned_start).strftime("%H:%M") if state.planned_start else "no time"
            question = (
                f"Unassign {state.ref} from {state.technician} ({at})? {state.technician} has already been sent it; "
                "the job goes back to the queue as new."
            )

            def answered(yes: bool | None) -> None:
                if yes:
                    self.perform(unassign)

            self.push_screen(Confirm(question), answered)

        self.read(lambda: actions.job_state(ctx, target.ref), decide, what="the job")

    def action_pin(self) -> None:
        target = self._need_job()
        if target is not None:
            ctx = self.ctx
            self.perform(lambda: actions.toggle_pin(ctx, target.ref, target.version))

    def action_status(self) -> None:
        target = self._need_job()
        if target is None:
            return
        ref, version, ctx = target.ref, target.version, self.ctx

        def show(state: actions.JobState) -> None:
            allowed = sorted(TRANSITIONS[JobStatus(state.status)], key=lambda s: list(JobStatus).index(s))
            if not allowed:
                self.notice(f"{ref} is {state.status}: final, no further status", "warning")
                return

            def submit(value: str, _extra: str, reply_to: MessagePump) -> str | None:
                self.perform(lambda: actions.set_status(ctx, ref, JobStatus(value), version), reply_to=reply_to)
                return None

            choices = [Choice(s.value, s.value.replace("_", " ")) for s in allowed]
            self.push_screen(PickList(f"{ref} is {state.status}: new status", choices, submit, filterable=False))

        self.read(lambda: actions.job_state(ctx, ref), show, what="the job")

    def action_note(self) -> None:
        target = self._need_job()
        if target is None:
            return
        ref, ctx = target.ref, self.ctx

        def submit(body: str, reply_to: MessagePump) -> None:
            self.perform(lambda: actions.add_note(ctx, ref, body), reply_to=reply_to)

        self.push_screen(TextPrompt(f"Note on {ref}", placeholder="what the next person should know", submit=submit))

    def action_suggest(self) -> None:
        """Open the suggestions dialog at once; the scheduler answers into it from a worker."""
        target = self._need_job()
        if target is None:
            return
        ref, ctx = target.ref, self.ctx

        def choose(s: actions.Suggestion, reply_to: MessagePump) -> None:
            self.perform(lambda: actions.assign(ctx, ref, s.technician, s.start), reply_to=reply_to)

        self.notice(f"asking the scheduler where {ref} could go...")
        compute = lambda: actions.suggestions_for(ctx, ref)  # noqa: E731 - one call, named for the dialog
        self.push_screen(SuggestionsScreen(ref, compute, ctx.zone, choose, cancel=ctx.cancel_solve))
