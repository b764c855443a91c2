"""Geographic partition of a large day into regions small enough for OR-Tools' local search.

Technicians are clustered by where their day starts (k-means, deterministic farthest-point seeds);
each job then goes to the nearest region that holds a qualified technician, unless that region's
work already exceeds its fair share of the day's demand (then the next nearest qualified one).
Pinned and started jobs follow their technician. Plain Python: a few hundred points, no numpy needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from optimizer.model import Job, Location, Problem, Technician

KMEANS_ROUNDS = 25
DEMAND_SLACK = 1.15
"""A region takes up to 15 % more than its capacity-proportional share of the day's work before spilling."""


@dataclass(slots=True)
class Region:
    technicians: list[Technician]
    jobs: list[Job]
    centre: tuple[float, float]


def _xy(location: Location, cos_lat: float) -> tuple[float, float]:
    """Equirectangular projection (degrees of latitude); fine for comparing distances within a city."""
    return (location.lat, location.lon * cos_lat)


def _distance2(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _kmeans(points: list[tuple[float, float]], k: int) -> list[int]:
    """Cluster label per point: farthest-point seeding from the first point, then Lloyd rounds."""
    centres = [points[0]]
    while len(centres) < k:
        centres.append(max(points, key=lambda p: min(_distance2(p, c) for c in centres)))
    labels = [0] * len(points)
    for _ in range(KMEANS_ROUNDS):
        new = [min(range(k), key=lambda c: _distance2(p, centres[c])) for p in points]
        if new == labels and _ > 0:
            break
        labels = new
        for c in range(k):
            members = [p for p, label in zip(points, labels, strict=True) if label == c]
            if members:
                centres[c] = (sum(p[0] for p in members) / len(members), sum(p[1] for p in members) / len(members))
    return labels


def _capacity(tech: Technician) -> int:
    return max(0, tech.latest_end - tech.earliest_departure)


def partition(problem: Problem, regions: int, candidates: dict[str, list[int]] | None = None) -> list[Region]:
    """Split technicians and jobs into at most ``regions`` regions.

    ``candidates`` (job id -> indices into ``problem.technicians`` that may serve it, as screening gives)
    restricts the jobs to those keys and decides who counts as qualified; without it every job is taken
    and ``Job.qualified`` decides. A job nobody can serve goes to the nearest region."""
    jobs = [j for j in problem.jobs if candidates is None or j.id in candidates]
    techs = problem.technicians
    if not techs:
        return [Region([], jobs, (0.0, 0.0))]
    cos_lat = math.cos(math.radians(sum(t.route_start_location.lat for t in techs) / len(techs)))
    k = max(1, min(regions, len(techs)))
    labels = _kmeans([_xy(t.route_start_location, cos_lat) for t in techs], k)
    members: list[list[Technician]] = [[] for _ in range(k)]
    for tech, label in zip(techs, labels, strict=True):
        members[label].append(tech)
    members = [m for m in members if m]
    k = len(members)
    centres = []
    for m in members:
        pts = [_xy(t.route_start_location, cos_lat) for t in m]
        centres.append((sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)))
    region_of_tech = {t.id: r for r, m in enumerate(members) for t in m}
    capacity = [sum(_capacity(t) for t in m) for m in members]
    total_capacity = max(1, sum(capacity))
    total_demand = sum(j.duration for j in jobs)
    share = [DEMAND_SLACK * total_demand * c / total_capacity for c in capacity]
    load = [0.0] * k
    placed: list[list[Job]] = [[] for _ in range(k)]
    started = {s.job_id: t.id for t in techs for s in t.started_jobs}

    def ranked(job: Job) -> list[int]:
        p = _xy(job.location, cos_lat)
        return sorted(range(k), key=lambda r: _distance2(p, centres[r]))

    free: list[tuple[float, Job, list[int]]] = []
    for job in jobs:
        owner = started.get(job.id) or job.pinned_technician
        if owner is not None and owner in region_of_tech:
            r = region_of_tech[owner]
            placed[r].append(job)
            load[r] += job.duration
            continue
        order = ranked(job)
        if candidates is not None:
            able = {region_of_tech[techs[i].id] for i in candidates[job.id]}
            qualified = [r for r in order if r in able] or order
        else:
            qualified = [r for r in order if any(job.qualified(t) for t in members[r])] or order
        # Jobs with a clear nearest region go first; the ones in between fill what is left.
        p = _xy(job.location, cos_lat)
        gap = _distance2(p, centres[qualified[1]]) - _distance2(p, centres[qualified[0]]) if len(qualified) > 1 else 1e9
        free.append((-gap, job, qualified))
    free.sort(key=lambda item: (item[1].priority, item[0]))
    for _, job, qualified in free:
        target = next((r for r in qualified if load[r] + job.duration <= share[r]), qualified[0])
        placed[target].append(job)
        load[target] += job.duration
    order_index = {job.id: i for i, job in enumerate(problem.jobs)}
    return [
        Region(members[r], sorted(placed[r], key=lambda j: order_index[j.id]), centres[r])
        for r in range(k)
        if members[r] or placed[r]
    ]
