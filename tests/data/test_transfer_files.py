"""Import/export: lossless round trips, atomic imports, named errors, reject files, dry runs, other formats."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import func, select

from data.db import Database, create_database_engine
from data.feed import tail
from data.models import Branch, Event, Job, JobType, Skill, Technician
from data.services.jobs import JobDraft, assign_job, create_job
from data.transfer.csv_formats import JOB_COLUMNS, Entity, FileRejected
from data.transfer.exporter import export_text
from data.transfer.importer import ImportRejected, import_file
from tests.factories import ADMIN, DISPATCHER, SUPERVISOR, build_world, local

JOBS_HEADER = ",".join(JOB_COLUMNS)
GOOD_JOBS = [
    "R1,repair,new,2,Leaking valve,,S1,plumbing:1,45,2026-11-25T08:00:00+02:00,2026-11-25T12:00:00+02:00,,,,false",
    "R2,maintenance,scheduled,3,Annual service,Bring filters,S2,hvac:2,60,,,,T1,2026-11-25T07:00:00+00:00,true",
    "R3,inspection,new,4,Check panel,,S3,electrical:1,30,,,,,,false",
    'R4,repair,new,1,"Boiler, no heat",,S1,hvac:1,90,,,2026-11-25T14:00:00+00:00,,,false',
    "R5,install,new,3,New heat pump,,S2,hvac:3;electrical:1,240,,,,,,false",
]


def _write(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Job)) or 0,
            s.scalar(select(func.count()).select_from(Technician)) or 0,
            s.scalar(select(func.count()).select_from(Event)) or 0,
        )


def _empty_like(source: Database, tmp_path: Path, name: str) -> Database:
    """A fresh database holding only the source's branches and skills (the reference data imports need)."""
    from data.db import open_database

    target = open_database(f"sqlite:///{tmp_path / name}")
    with source.read() as a, target.write_session() as b:
        for br in a.scalars(select(Branch)):
            b.add(
                Branch(code=br.code, name=br.name, timezone=br.timezone, depot_lat=br.depot_lat, depot_lon=br.depot_lon)
            )
        b.add_all(Skill(code=sk.code, name=sk.name) for sk in a.scalars(select(Skill)))
        b.commit()
    return target


@pytest.fixture
def world(sqlite_db: Database) -> Database:
    build_world(sqlite_db)
    return sqlite_db


def _plan_some_jobs(db: Database) -> None:
    a = create_job(
        db,
        DISPATCHER,
        JobDraft(
            JobType.REPAIR, "S1", "Heat pump noisy", 60, 2, {"hvac": 2}, window_start=local(8), window_end=local(12)
        ),
    )
    assign_job(db, DISPATCHER, a.ref, "T1", local(9), pinned=True)
    create_job(db, DISPATCHER, JobDraft(JobType.INSPECTION, "S2", "Panel check, yearly", 30, 4, {"electrical": 1}))
    b = create_job(db, DISPATCHER, JobDraft(JobType.MAINTENANCE, "S3", 'Say "hi"; ring twice', 45, 3, {"plumbing": 1}))
    assign_job(db, DISPATCHER, b.ref, "T2", local(13))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_is_lossless(world: Database, tmp_path: Path, fmt: str) -> None:
    _plan_some_jobs(world)
    target = _empty_like(world, tmp_path, f"copy-{fmt}.sqlite")
    try:
        for entity in Entity:
            text = export_text(world, entity, fmt)
            path = tmp_path / f"{entity.value}.{fmt}"
            path.write_text(text, encoding="utf-8")
            report = import_file(target, ADMIN, entity, path)
            assert report.created == report.rows and not report.errors, report.as_dict()
            assert export_text(target, entity, fmt) == text
        # Re-importing an export changes nothing and logs only the import summary.
        before = len(tail(world))
        for entity in Entity:
            path = tmp_path / f"{entity.value}.{fmt}"
            report = import_file(world, DISPATCHER, entity, path)
            assert report.unchanged == report.rows, report.as_dict()
        assert [e.type for e in tail(world, before)] == ["import.completed"] * 3
    finally:
        target.dispose()


def test_import_updates_by_code_and_logs_per_record_events(world: Database, tmp_path: Path) -> None:
    text = export_text(world, Entity.TECHNICIANS, "csv").replace("Tech T2", "Tiina Plumber")
    text = text.replace("hvac:1,mon-fri", "hvac:2,mon-fri")  # T3 levels up
    report = import_file(world, DISPATCHER, Entity.TECHNICIANS, _write(tmp_path / "t.csv", text.splitlines()))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    events = tail(world)
    assert [e.type for e in events] == ["technician.updated", "technician.updated", "import.completed"]
    assert events[0].payload["changed"] == ["name"] and events[1].payload["changed"] == ["skills"]
    assert events[2].payload["updated"] == 2


def test_good_jobs_file_lands_with_assignments(world: Database, tmp_path: Path) -> None:
    path = _write(tmp_path / "jobs.csv", [JOBS_HEADER, *GOOD_JOBS], bom=True)
    report = import_file(world, DISPATCHER, Entity.JOBS, path)
    assert report.created == 5 and report.written
    rows = {r["ref"]: r for r in csv.DictReader(io.StringIO(export_text(world, Entity.JOBS, "csv")))}
    assert rows["R2"]["technician"] == "T1" and rows["R2"]["status"] == "scheduled" and rows["R2"]["pinned"] == "true"
    assert rows["R4"]["summary"] == "Boiler, no heat"
    assert rows["R5"]["skills"] == "electrical:1;hvac:3"
    types = [e.type for e in tail(world)]
    assert types.count("job.created") == 5 and "job.assigned" in types and types[-1] == "import.completed"


def test_semicolon_csv_from_a_spreadsheet_is_read(world: Database, tmp_path: Path) -> None:
    lines = [line.replace(",", ";") for line in [JOBS_HEADER, GOOD_JOBS[0], GOOD_JOBS[2]]]
    lines = [line.replace("plumbing:1", "plumbing:1").replace(";false", ";no") for line in lines]
    report = import_file(world, DISPATCHER, Entity.JOBS, _write(tmp_path / "excel.csv", lines, bom=True))
    assert report.created == 2, report.as_dict()


CORRUPTIONS: dict[str, tuple[str, str]] = {
    # kind: (column, bad value)
    "priority word": ("priority", "urgent"),
    "priority range": ("priority", "7"),
    "duration": ("duration_minutes", "1h"),
    "negative duration": ("duration_minutes", "-5"),
    "date": ("window_start", "tomorrow morning"),
    "naive date": ("window_end", "2026-11-25T12:00:00"),
    "unknown skill": ("skills", "welding:2"),
    "skill level": ("skills", "hvac:9"),
    "type": ("type", "demolition"),
    "site": ("site", "NOPE"),
    "technician": ("technician", "T99"),
    "pinned": ("pinned", "maybe"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    row=st.integers(min_value=0, max_value=len(GOOD_JOBS) - 1),
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    second=st.none() | st.tuples(st.integers(0, len(GOOD_JOBS) - 1), st.sampled_from(sorted(CORRUPTIONS))),
)
def test_malformed_jobs_file_lands_nothing_and_names_row_and_field(
    world: Database, tmp_path: Path, row: int, kind: str, second: tuple[int, str] | None
) -> None:
    header = JOBS_HEADER.split(",")
    table = [next(csv.reader([line])) for line in GOOD_JOBS]
    damage = [(row, kind)] + ([second] if second and second[0] != row else [])
    for index, what in damage:
        column, value = CORRUPTIONS[what]
        table[index][header.index(column)] = value
        if what == "technician":  # a technician comes with a start time
            table[index][header.index("planned_start")] = "2026-11-25T08:00:00+00:00"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *table])
    path = tmp_path / "jobs.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    before = _counts(world)
    with pytest.raises(ImportRejected) as caught:
        import_file(world, DISPATCHER, Entity.JOBS, path)
    assert _counts(world) == before  # nothing landed, not even an event
    errors = caught.value.report.errors
    for index, what in damage:
        column = CORRUPTIONS[what][0]
        expected = f"jobs.csv row {index + 2}, field {column}:"
        assert any(str(e).startswith(expected) for e in errors), (expected, [str(e) for e in errors])
    assert len(errors) == len(damage)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["code", "name", "branch", "home_lat", "home_lon", "skills", "shifts"]))
def test_missing_column_rejects_the_file(world: Database, tmp_path: Path, column: str) -> None:
    rows = list(csv.reader(io.StringIO(export_text(world, Entity.TECHNICIANS, "csv"))))
    drop = rows[0].index(column)
    path = tmp_path / "technicians.csv"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([r[:drop] + r[drop + 1 :] for r in rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    before = _counts(world)
    with pytest.raises(FileRejected, match=f"technicians.csv row 1: {column}: missing column"):
        import_file(world, DISPATCHER, Entity.TECHNICIANS, path)
    assert _counts(world) == before


VALID_TECHNICIAN_VALUES = {
    ("exceptions", ""),
    ("hourly_cost", ""),
    ("skills", ""),
    ("shifts", ""),
    ("home_lon", "91.5"),
    ("hourly_cost", "91.5"),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["home_lat", "home_lon", "hourly_cost", "shifts", "exceptions", "skills", "branch"]),
    value=st.sampled_from(["", "north", "91.5", "-181", "nan", "mon-fry 08:00-16:00", "2026-13-01 off", "x:1"]),
    row=st.integers(0, 2),
)
def test_malformed_technicians_name_row_and_field(
    world: Database, tmp_path: Path, field: str, value: str, row: int
) -> None:
    rows = list(csv.DictReader(io.StringIO(export_text(world, Entity.TECHNICIANS, "csv"))))
    rows[row][field] = value
    rows[row]["name"] = "Renamed"  # so an accepted row would be a visible change
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "technicians.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    before = _counts(world)
    exported = export_text(world, Entity.TECHNICIANS, "csv")
    try:
        import_file(world, DISPATCHER, Entity.TECHNICIANS, path)
    except ImportRejected as rejected:
        assert _counts(world) == before and export_text(world, Entity.TECHNICIANS, "csv") == exported
        [error] = rejected.report.errors
        assert str(error).startswith(f"technicians.csv row {row + 2}, field {field}:"), str(error)
    else:
        # Only values that are valid for the field get here (an empty optional column, a plausible number).
        assert (field, value) in VALID_TECHNICIAN_VALUES
        assert "Renamed" in export_text(world, Entity.TECHNICIANS, "csv")


def test_skip_bad_lands_good_rows_and_writes_rejects(world: Database, tmp_path: Path) -> None:
    bad_priority = GOOD_JOBS[1].replace(",scheduled,3,", ",scheduled,urgent,")
    bad_skill = GOOD_JOBS[3].replace("hvac:1", "welding:1")
    path = _write(tmp_path / "jobs.csv", [JOBS_HEADER, GOOD_JOBS[0], bad_priority, GOOD_JOBS[2], bad_skill])
    rejects = tmp_path / "rejects.csv"
    report = import_file(world, DISPATCHER, Entity.JOBS, path, skip_bad=True, rejects=rejects)
    assert (report.created, len(report.rejected)) == (2, 2)
    with rejects.open(encoding="utf-8", newline="") as fh:
        rejected = list(csv.DictReader(fh))
    assert [r["ref"] for r in rejected] == ["R2", "R4"]
    assert rejected[0]["priority"] == "urgent" and rejected[1]["summary"] == "Boiler, no heat"
    assert rejected[0]["error"] == "field priority: 'urgent' is not 1-4"
    assert "unknown skill 'welding'" in rejected[1]["error"]
    refs = [r["ref"] for r in csv.DictReader(io.StringIO(export_text(world, Entity.JOBS, "csv")))]
    assert refs == ["R1", "R3"]


def test_dry_run_writes_nothing(world: Database, tmp_path: Path) -> None:
    path = _write(tmp_path / "jobs.csv", [JOBS_HEADER, *GOOD_JOBS])
    before = _counts(world)
    report = import_file(world, DISPATCHER, Entity.JOBS, path, dry_run=True)
    assert report.created == 5 and not report.written and not report.errors
    assert _counts(world) == before
    bad = _write(tmp_path / "bad.csv", [JOBS_HEADER, GOOD_JOBS[0].replace(",2,", ",9,")])
    report = import_file(world, DISPATCHER, Entity.JOBS, bad, dry_run=True, skip_bad=True)
    assert len(report.errors) == 1 and _counts(world) == before
    assert not (tmp_path / "bad.rejects.csv").exists()


def test_duplicate_codes_and_supervisors_are_refused(world: Database, tmp_path: Path) -> None:
    path = _write(tmp_path / "jobs.csv", [JOBS_HEADER, GOOD_JOBS[0], GOOD_JOBS[0]])
    with pytest.raises(ImportRejected, match="row 3, field ref: 'R1' appears twice"):
        import_file(world, DISPATCHER, Entity.JOBS, path)
    from data.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_file(world, SUPERVISOR, Entity.JOBS, _write(tmp_path / "ok.csv", [JOBS_HEADER, GOOD_JOBS[0]]))


def test_json_records_are_numbered_from_one(world: Database, tmp_path: Path) -> None:
    records = json.loads(export_text(world, Entity.CUSTOMERS, "json"))
    records[1]["lat"] = "ninety"
    path = tmp_path / "customers.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(ImportRejected, match=re.escape("customers.json record 2, field lat: 'ninety' is not a number")):
        import_file(world, DISPATCHER, Entity.CUSTOMERS, path)


def test_calendar_and_geojson_exports(world: Database) -> None:
    _plan_some_jobs(world)
    cal = Calendar.from_ical(export_text(world, Entity.JOBS, "ics"))
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 2  # only planned jobs
    first = events[0]
    assert first.decoded("dtstart").utcoffset().total_seconds() == 0
    assert first.decoded("dtstart") == local(9)
    assert str(first["uid"]).endswith("@dispatch") and "T1" in str(first["description"])
    collection = json.loads(export_text(world, Entity.JOBS, "geojson"))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    lon, lat = collection["features"][0]["geometry"]["coordinates"]
    assert 24 < lon < 26 and 59 < lat < 61
    techs = json.loads(export_text(world, Entity.TECHNICIANS, "geojson"))
    assert {f["properties"]["code"] for f in techs["features"]} == {"T1", "T2", "T3"}
    sites = json.loads(export_text(world, Entity.CUSTOMERS, "geojson"))
    assert len(sites["features"]) == 3


def test_export_of_one_day(world: Database) -> None:
    _plan_some_jobs(world)
    from datetime import date

    day_rows = list(csv.DictReader(io.StringIO(export_text(world, Entity.JOBS, "csv", date(2026, 11, 25)))))
    assert len(day_rows) == 2
    assert export_text(world, Entity.JOBS, "csv", date(2026, 11, 26)).count("\n") == 1


@pytest.mark.postgres
def test_round_trip_on_postgres_target(world: Database, tmp_path: Path, postgres_url: str) -> None:
    """An export from SQLite lands identically in PostgreSQL (money and times survive the engine change)."""
    _plan_some_jobs(world)
    from sqlalchemy import text

    from data.models.base import Base

    pg = Database(postgres_url, create_database_engine(postgres_url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with pg.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with world.read() as a, pg.write_session() as b:
        for br in a.scalars(select(Branch)):
            b.add(
                Branch(code=br.code, name=br.name, timezone=br.timezone, depot_lat=br.depot_lat, depot_lon=br.depot_lon)
            )
        b.add_all(Skill(code=sk.code, name=sk.name) for sk in a.scalars(select(Skill)))
        b.commit()
    try:
        for entity in Entity:
            text_out = export_text(world, entity, "csv")
            path = tmp_path / f"{entity.value}.csv"
            path.write_text(text_out, encoding="utf-8")
            import_file(pg, ADMIN, entity, path)
            assert export_text(pg, entity, "csv") == text_out
    finally:
        pg.dispose()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected_from_the_header(world: Database, tmp_path: Path, delimiter: str) -> None:
    rows = list(csv.reader(io.StringIO(export_text(world, Entity.TECHNICIANS, "csv"))))
    rows[1][rows[0].index("skills")] = "electrical:1;hvac:3"  # a ';' inside a value, quoted when ';' delimits
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "technicians.csv"
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    report = import_file(world, DISPATCHER, Entity.TECHNICIANS, path)
    assert report.unchanged == 3 and not report.errors, report.as_dict()
