"""The job status groups are one partition, derived beside the transitions that define them."""

from __future__ import annotations

from data.models.jobs import (
    AT_SITE_STATUSES,
    CLOSED_STATUSES,
    NOT_STARTED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    UNDERWAY_STATUSES,
    VISITED_STATUSES,
    JobStatus,
)


def test_every_status_is_not_started_underway_or_closed_exactly_once() -> None:
    groups = (NOT_STARTED_STATUSES, UNDERWAY_STATUSES, CLOSED_STATUSES)
    for status in JobStatus:
        assert sum(status in g for g in groups) == 1, status
    assert OPEN_STATUSES == NOT_STARTED_STATUSES | UNDERWAY_STATUSES
    assert {s for s, moves in TRANSITIONS.items() if not moves} == CLOSED_STATUSES


def test_the_narrower_groups_sit_inside_the_wide_ones() -> None:
    assert AT_SITE_STATUSES < UNDERWAY_STATUSES and JobStatus.EN_ROUTE not in AT_SITE_STATUSES
    assert VISITED_STATUSES < CLOSED_STATUSES and JobStatus.CANCELLED not in VISITED_STATUSES
    # Nothing underway goes back to "not started" except a technician turning back (EN_ROUTE -> DISPATCHED).
    back = {(s, n) for s in UNDERWAY_STATUSES for n in TRANSITIONS[s] if n in NOT_STARTED_STATUSES}
    assert back == {(JobStatus.EN_ROUTE, JobStatus.DISPATCHED)}
