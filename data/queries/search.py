"""Search a branch for a job, customer, address or technician: one query, at most `limit` hits.

What a dispatcher types is matched, case-insensitive, against job refs and summaries, customer
names, site names and addresses, technician codes and names. A hit on a customer or an address is that customer's or
site's jobs (open ones first), since a hit is something to open: a job or a technician. The query
is one UNION ALL, each half kept to the branch by its indexed `branch_id` and cut at `limit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, case, func, literal, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute

from data.db import Database
from data.models.customers import Customer, Site
from data.models.jobs import OPEN_STATUSES, Job
from data.models.workforce import Technician

SEARCH_LIMIT = 30


@dataclass(frozen=True)
class SearchHit:
    kind: str
    """"job" or "technician": what selecting it opens."""
    key: str
    """The job ref or the technician code."""
    title: str
    """What it is: the job's summary, the technician's name."""
    detail: str
    """Where or whose: the customer and the address, the technician's skills are not read."""


def _pattern(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(db: Database, branch_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Jobs and technicians of the branch matching `text`, best first: exact refs and codes, then open jobs."""
    text = text.strip()
    if not text:
        return []
    like = _pattern(text)
    exact = text.upper()

    def matches(*columns: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        return or_(*(func.lower(c).like(like, escape="\\") for c in columns))

    jobs = (
        select(
            literal("job", String).label("kind"),
            Job.ref.label("key"),
            Job.summary.label("title"),
            (Customer.name + " · " + Site.address).label("detail"),
            case((Job.ref == exact, 0), (Job.status.in_(list(OPEN_STATUSES)), 1), else_=2).label("rank"),
        )
        .join(Customer, Customer.id == Job.customer_id)
        .join(Site, Site.id == Job.site_id)
        .where(Job.branch_id == branch_id, matches(Job.ref, Job.summary, Customer.name, Site.name, Site.address))
        .order_by("rank", Job.ref.desc())
        .limit(limit)
    )
    technicians = (
        select(
            literal("technician", String).label("kind"),
            Technician.code.label("key"),
            Technician.name.label("title"),
            literal("technician", String).label("detail"),
            case((Technician.code == exact, 0), else_=1).label("rank"),
        )
        .where(Technician.branch_id == branch_id, matches(Technician.code, Technician.name))
        .order_by("rank", Technician.code)
        .limit(limit)
    )
    both = union_all(jobs.subquery().select(), technicians.subquery().select()).subquery()
    stmt = select(both).order_by(both.c.rank, both.c.kind.desc(), both.c.key).limit(limit)
    with db.read() as session:
        return [SearchHit(r.kind, r.key, r.title, r.detail) for r in session.execute(stmt)]
