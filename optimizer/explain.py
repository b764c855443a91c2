"""Why the plan looks the way it does: per assignment and per unassigned job, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field

from optimizer.model import Job, Plan, Problem, UnassignedReason
from optimizer.network import Network
from optimizer.routing_model import problem_horizon
from optimizer.screening import can_reach, on_shift


@dataclass(frozen=True, slots=True)
class AssignmentExplanation:
    job_id: str
    technician_id: str
    skills_matched: dict[str, tuple[int, int]]
    """skill -> (technician's level, level required)."""
    travel_seconds: int
    wait_seconds: int
    """Idle time before the start (slack before)."""
    slack_after_seconds: int
    """How long the job could overrun before the next stop (or shift end) is pushed."""
    alternatives: int
    """Other qualified, on-shift technicians who could reach it in its window."""
    text: str


@dataclass(frozen=True, slots=True)
class UnassignedExplanation:
    job_id: str
    reason: UnassignedReason
    text: str


@dataclass(slots=True)
class Explanation:
    assignments: list[AssignmentExplanation] = field(default_factory=list)
    unassigned: list[UnassignedExplanation] = field(default_factory=list)


REASON_TEXT = {
    UnassignedReason.NO_QUALIFIED_TECHNICIAN: "no technician has the required skills",
    UnassignedReason.NO_QUALIFIED_TECHNICIAN_ON_SHIFT: "the qualified technicians are not on shift",
    UnassignedReason.WINDOW_UNREACHABLE: "no qualified technician can arrive inside its time window",
    UnassignedReason.DAY_FULL: "the qualified technicians' days are full with more urgent or better-placed work",
    UnassignedReason.PINNED_TECHNICIAN_UNAVAILABLE: "the pinned technician cannot do it",
    UnassignedReason.NOT_PLACED_IN_TIME: "a qualified technician has room, but the search ran out of time to place it",
    UnassignedReason.LINKED_JOB_NOT_PLANNED: "it goes with jobs (dependency, crew) that could not be planned with it",
}


def explain(problem: Problem, plan: Plan, network: Network | None = None) -> Explanation:
    network = network if network is not None else Network.for_problem(problem)
    horizon = problem_horizon(problem)
    techs = {t.id: t for t in problem.technicians}
    jobs = {j.id: j for j in problem.jobs}
    out = Explanation()
    for route in plan.routes:
        tech = techs.get(route.technician_id)
        if tech is None:
            continue
        for k, visit in enumerate(route.visits):
            job = jobs.get(visit.job_id)
            if job is None:
                continue
            matched = {s: (tech.level(s), lvl) for s, lvl in sorted(job.required_skills.items())}
            if k + 1 < len(route.visits):
                nxt = route.visits[k + 1]
                nxt_job = jobs.get(nxt.job_id)
                travel_next = network.seconds(job.location, nxt_job.location) if nxt_job else 0
                slack_after = nxt.start - visit.end - travel_next
            else:
                slack_after = tech.latest_end - visit.end - network.seconds(job.location, tech.route_end_location)
            alternatives = sum(
                1
                for other in problem.technicians
                if other.id != tech.id
                and job.qualified(other)
                and on_shift(other)
                and can_reach(job, other, network, horizon)
            )
            skills_text = ", ".join(f"{s} {have}/{need}" for s, (have, need) in matched.items()) or "no skills needed"
            text = (
                f"{job.id} -> {tech.id}: {skills_text}; {visit.travel_seconds // 60} min drive; "
                f"waits {(visit.start - visit.arrival) // 60} min; {max(0, slack_after) // 60} min spare after; "
                f"{alternatives} other technician(s) could do it"
            )
            text += _links_text(job, jobs, plan)
            out.assignments.append(
                AssignmentExplanation(
                    job.id,
                    tech.id,
                    matched,
                    visit.travel_seconds,
                    visit.start - visit.arrival,
                    max(0, slack_after),
                    alternatives,
                    text,
                )
            )
    for item in plan.unassigned:
        text = f"{item.job_id} unassigned: {REASON_TEXT[item.reason]}"
        if item.detail:
            text += f" ({item.detail})"
        out.unassigned.append(UnassignedExplanation(item.job_id, item.reason, text))
    return out


def _links_text(job: Job, jobs: dict[str, Job], plan: Plan) -> str:
    """'; after J1 + 30 min gap (ends 10:00)', '; crew C1 with T2' for a linked job."""
    placed = plan.assignment()
    parts = []
    for dep in job.after:
        parts.append(f"after {dep.job_id} + {dep.min_gap // 60} min gap")
    if job.crew is not None:
        mates = sorted(
            tech
            for job_id, (tech, _) in placed.items()
            if job_id != job.id and job_id in jobs and jobs[job_id].crew == job.crew
        )
        parts.append(f"crew {job.crew}" + (f" with {', '.join(mates)}" if mates else ""))
    return "".join(f"; {p}" for p in parts)
