"""A technician acts on a job only while it is theirs: the one check every field action starts with."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.errors import NotFound, PermissionDenied
from data.models.jobs import Job
from data.models.workforce import Technician

__all__ = ["Reassigned", "job_of_technician"]


class Reassigned(PermissionDenied):
    """The job the phone reports on now belongs to someone else (or to nobody)."""


def job_of_technician(session: Session, job_ref: str, technician: Technician) -> Job:
    """The job, provided it is assigned to this technician; otherwise a refusal saying who has it now."""
    job = session.scalar(select(Job).where(Job.ref == job_ref))
    if job is None:
        raise NotFound(f"job {job_ref} does not exist")
    if job.technician_id == technician.id:
        return job
    when = f"{job.updated_at:%Y-%m-%d %H:%M} UTC"
    if job.technician_id is None:
        raise Reassigned(
            f"job {job.ref} is no longer assigned to {technician.code} (changed by {job.updated_by} {when})"
        )
    other = session.get(Technician, job.technician_id)
    other_code = other.code if other else str(job.technician_id)
    raise Reassigned(
        f"job {job.ref} is assigned to {other_code}, not {technician.code} (changed by {job.updated_by} {when})"
    )
