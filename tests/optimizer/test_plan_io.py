"""Problem files: schema and rule errors name the record and field; plans and problems round-trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from optimizer_cases import assert_valid

from optimizer.errors import PlanError, ProblemError
from optimizer.io import dump_plan, dump_problem, load_plan, load_problem
from optimizer.solver import solve

GOOD: dict[str, Any] = {
    "format": "dispatch.problem/1",
    "name": "two technicians",
    "horizon_start": "2026-11-25T00:00:00Z",
    "travel": {"kind": "haversine", "road_factor": 1.3, "speed_kmh": 40},
    "technicians": [
        {
            "id": "T1",
            "skills": {"hvac": 2},
            "shift": {"start": "2026-11-25T07:00:00Z", "end": "2026-11-25T15:00:00Z"},
            "start_location": {"lat": 60.17, "lon": 24.94},
            "end_location": {"lat": 60.2, "lon": 24.9},
            "breaks": [
                {
                    "earliest_start": "2026-11-25T10:30:00Z",
                    "latest_start": "2026-11-25T12:00:00Z",
                    "duration_seconds": 1800,
                }
            ],
            "overtime_allowance_minutes": 60,
        },
        {
            "id": "T2",
            "shift": {"start": "2026-11-25T07:00:00Z", "end": "2026-11-25T15:00:00Z"},
            "start_location": {"lat": 60.19, "lon": 24.96},
        },
    ],
    "jobs": [
        {
            "id": "J001",
            "location": {"lat": 60.18, "lon": 24.95},
            "duration_seconds": 3600,
            "required_skills": {"hvac": 1},
            "duration_by_skill_level": {"2": 2700},
            "time_windows": [
                {"start": "2026-11-25T08:00:00Z", "end": "2026-11-25T09:00:00Z"},
                {"start": "2026-11-25T13:00:00Z", "end": "2026-11-25T14:00:00Z"},
            ],
            "priority": 1,
            "sla": {"due": "2026-11-25T13:30:00Z", "hard": False, "lateness_cost_per_hour": 80},
        },
        {"id": "J002", "location": {"lat": 60.16, "lon": 24.93}, "duration_seconds": 1800, "priority": 4},
    ],
}


def bad(mutate: Any) -> ProblemError:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ProblemError) as info:
        load_problem(data)
    return info.value


def test_good_problem_loads_with_seconds_from_horizon() -> None:
    p = load_problem(GOOD)
    assert p.technicians[0].shift_start == 7 * 3600
    assert p.jobs[0].time_windows[1].start == 13 * 3600
    assert p.jobs[0].duration_by_skill_level == {2: 2700}


def test_window_end_before_start_names_job_and_field() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["jobs"][0]["time_windows"][0]["end"] = "2026-11-25T07:00:00Z"

    assert str(bad(mutate)) == "job J001: time_windows[0].end is before start"


def test_latitude_out_of_range_names_technician() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["technicians"][1]["start_location"]["lat"] = 95

    error = bad(mutate)
    assert "technician T2" in str(error) and "start_location.lat" in str(error)


def test_missing_field_names_job() -> None:
    error = bad(lambda d: d["jobs"][1].pop("duration_seconds"))
    assert str(error).startswith("job J002:") and "duration_seconds" in str(error)


def test_naive_datetime_is_rejected() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["jobs"][1]["earliest_start"] = "2026-11-25T08:00:00"

    error = bad(mutate)
    assert "job J002" in str(error) and "earliest_start" in str(error)


def test_unknown_pinned_technician_and_duplicate_id() -> None:
    def pin(d: dict[str, Any]) -> None:
        d["jobs"][1]["pinned_technician"] = "T9"

    assert "job J002: pinned_technician 'T9'" in str(bad(pin))

    def dup(d: dict[str, Any]) -> None:
        d["jobs"][1]["id"] = "J001"

    assert "job J001: id is used twice" in str(bad(dup))


def test_priority_out_of_range_and_unknown_travel() -> None:
    def prio(d: dict[str, Any]) -> None:
        d["jobs"][0]["priority"] = 7

    assert "job J001: priority" in str(bad(prio))

    def travel(d: dict[str, Any]) -> None:
        d["travel"] = {"kind": "teleport"}

    assert "travel" in str(bad(travel))


def test_bad_file_is_a_problem_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(ProblemError, match="not valid JSON"):
        load_problem(path)


def test_problem_round_trip_is_lossless(tmp_path: Path) -> None:
    p = load_problem(GOOD)
    again = load_problem(json.loads(json.dumps(dump_problem(p))))
    assert dump_problem(again) == dump_problem(p)
    assert again.technicians == p.technicians and again.jobs == p.jobs


def test_plan_round_trip_is_lossless(tmp_path: Path) -> None:
    p = load_problem(GOOD)
    plan = solve(p, time_limit=0.5)
    assert_valid(p, plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(dump_plan(plan)))
    again = load_plan(path)
    assert again == plan


def test_plan_of_another_format_is_refused() -> None:
    with pytest.raises(PlanError):
        load_plan({"format": "something/2"})
