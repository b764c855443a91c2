"""How far a new company has come: a branch, technicians, customers, a first job, a first plan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from data.db import Database
from data.models import Branch, Customer, Event, Job, Technician


@dataclass(frozen=True)
class Progress:
    branches: int
    technicians: int
    customers: int
    jobs: int
    planned: int  # jobs ever assigned (by a plan or by hand)

    @property
    def new_company(self) -> bool:
        """Nothing to dispatch yet: the console opens on the first-run guide."""
        return not self.technicians or not self.jobs


def company_progress(db: Database) -> Progress:
    with db.read() as s:

        def count(model: type) -> int:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

        planned = s.scalar(select(func.count()).select_from(Event).where(Event.type == "job.assigned")) or 0
        return Progress(count(Branch), count(Technician), count(Customer), count(Job), int(planned))
