"""What ties a job to others, in words: what it waits for, its crew seats, the days of a multi-day job."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models.jobs import Job, JobCrewMember
from data.models.workforce import Technician


def job_links(s: Session, j: Job) -> tuple[str, ...]:
    """What ties this job to others: what it waits for, its crew, its visits over several days."""
    out: list[str] = []

    def codes(ids: set[int | None]) -> dict[int | None, str]:
        """Codes of just these technicians (two columns, never the branch's whole roster of objects)."""
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = s.execute(select(Technician.id, Technician.code).where(Technician.id.in_(wanted)))
        return {tid: code for tid, code in rows}

    if j.after_job_id is not None:
        before = s.get(Job, j.after_job_id)
        if before is not None:
            out.append(f"after {before.ref} ends + {j.after_gap_minutes} min ({before.status.value})")
    waiting = s.scalars(select(Job.ref).where(Job.after_job_id == j.id)).all()
    if waiting:
        out.append(f"{', '.join(waiting)} wait(s) for it")
    if j.crew_size > 1:
        members = s.scalars(select(JobCrewMember).where(JobCrewMember.job_id == j.id)).all()
        code = codes({j.technician_id, *(m.technician_id for m in members)})
        seats = {m.seat: code.get(m.technician_id, "?") for m in members}
        lead = code.get(j.technician_id, "-") if j.technician_id is not None else "-"
        crew = [lead, *(seats.get(k, "-") for k in range(2, j.crew_size + 1))]
        out.append(f"crew of {j.crew_size}: {', '.join(crew)}")
    first = j if j.visit_of_id is None else s.get(Job, j.visit_of_id)
    if first is not None:
        days = [first, *s.scalars(select(Job).where(Job.visit_of_id == first.id).order_by(Job.visit_number))]
        if len(days) > 1:
            code = codes({d.technician_id for d in days})
            parts = [
                f"{d.ref} {code.get(d.technician_id, '-') if d.technician_id else '-'}"
                + (f" {d.planned_start:%Y-%m-%d}" if d.planned_start else "")
                for d in days
            ]
            out.append(f"day {j.visit_number} of {len(days)}: {'; '.join(parts)}")
    return tuple(out)
