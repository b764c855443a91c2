"""The company's own fields on jobs, customers and sites: declared in dispatch.toml, validated by the services,
carried in job events (so integration mappings can use them) and in the company export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.custom_fields import CONFIG_ENV
from data.db import Database
from data.errors import InvalidInput
from data.feed import tail
from data.models.jobs import JobType
from data.services.jobs import JobDraft, create_job
from dispatch_tui.cli.main import app
from integrations.mapping import apply_mapping, compile_mapping
from tests.factories import DISPATCHER, build_world

runner = CliRunner()
CONFIG = """
[custom_fields.jobs.po_number]
type = "text"
label = "PO number"
required = true
max_length = 10

[custom_fields.jobs.floors]
type = "integer"

[custom_fields.customers.segment]
type = "choice"
choices = ["retail", "industrial"]

[custom_fields.sites.gate_code]
type = "text"
"""


@pytest.fixture
def world(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    config = tmp_path / "dispatch.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    build_world(sqlite_db)
    return sqlite_db


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, "--as", "dana", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_job_takes_its_declared_fields_checked_and_they_reach_the_event_and_a_mapping(
    world: Database, tmp_path: Path
) -> None:
    create = ["jobs", "create", "--site", "S1", "--summary", "Leak", "--ref", "A1"]
    for custom, message in [
        (None, "custom_fields.po_number: is required"),
        ("po_number=4500123;floors=two", "custom_fields.floors: 'two' is not a whole number"),
        ("po_number=45001234567", "custom_fields.po_number: is longer than 10 characters"),
        ("po_number=1;colour=red", "custom_fields.colour: is not a declared field (declared: floors, po_number)"),
        ("po_number", "--custom-fields: 'po_number' is not like name=value"),
    ]:
        code, _, stderr = _run(world, *create, *(["--custom-fields", custom] if custom else []))
        assert code == 2 and message in stderr, stderr
    assert tail(world) == []
    code, _, stderr = _run(world, *create, "--custom-fields", "po_number=4500123;floors=3")
    assert code == 0, stderr
    [event] = tail(world)
    assert event.payload["custom_fields"] == {"floors": 3, "po_number": "4500123"}
    rules = compile_mapping({"purchase_order": "payload.custom_fields.po_number"}, {}, "connectors.crm.mapping")
    assert apply_mapping(rules, {"payload": event.payload}) == {"purchase_order": "4500123"}

    shown = json.loads(_run(world, "jobs", "show", "A1", "--json")[1])
    assert shown["custom_fields"] == {"floors": 3, "po_number": "4500123"}
    assert "po_number 4500123" in _run(world, "jobs", "show", "A1")[1]
    code, _, stderr = _run(world, "jobs", "edit", "A1", "--custom-fields", "po_number=")
    assert code == 2 and "job A1: custom_fields.po_number: is required" in stderr
    assert _run(world, "jobs", "edit", "A1", "--custom-fields", "floors=")[0] == 0
    folder = tmp_path / "company"
    assert _run(world, "export", "company", "--out", str(folder))[0] == 0
    [row] = [json.loads(line) for line in (folder / "jobs.jsonl").read_text().splitlines()]
    assert row["custom_fields"] == {"po_number": "4500123"}


def test_jobs_dispatch_makes_itself_need_no_required_field(world: Database) -> None:
    job = create_job(world, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "Follow-up", 30))  # custom_fields None
    assert job.custom_fields == {}
    with pytest.raises(InvalidInput, match=r"custom_fields\.po_number: is required"):
        create_job(world, DISPATCHER, JobDraft(JobType.REPAIR, "S1", "By hand", 30, custom_fields={}))


def test_customers_and_sites_take_their_declared_fields(world: Database) -> None:
    code, _, stderr = _run(world, "customers", "edit", "C1", "--custom-fields", "segment=public")
    assert code == 2 and "customer C1: custom_fields.segment: 'public' is not one of retail, industrial" in stderr
    assert _run(world, "customers", "edit", "C1", "--custom-fields", "segment=retail")[0] == 0
    assert _run(world, "sites", "edit", "S1", "--custom-fields", "gate_code=1234#")[0] == 0
    code, stdout, _ = _run(world, "customers", "show", "C1", "--json")
    assert json.loads(stdout)["custom_fields"] == {"segment": "retail"}
    code, stdout, _ = _run(world, "sites", "show", "S1", "--json")
    assert json.loads(stdout)["custom_fields"] == {"gate_code": "1234#"}
    assert tail(world)[-1].type == "site.updated"


def test_a_bad_declaration_is_named_by_its_key(
    world: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[custom_fields.jobs.size]\ntype = "colour"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(bad))
    code, _, stderr = _run(world, "jobs", "create", "--site", "S1", "--summary", "Leak")
    assert code == 2 and "bad.toml: custom_fields.jobs.size: type 'colour' is not one of text" in stderr


def test_the_console_job_detail_lists_the_job_customer_and_site_fields(world: Database) -> None:
    from data.queries.console import job_detail
    from tests.factories import local

    assert _run(world, "customers", "edit", "C1", "--custom-fields", "segment=retail")[0] == 0
    create = ["jobs", "create", "--site", "S1", "--summary", "Leak", "--ref", "A1", "--custom-fields", "po_number=77"]
    assert _run(world, *create)[0] == 0
    detail = job_detail(world, "A1", local(8))
    assert detail.custom_fields == (("po_number", "77"), ("segment", "retail"))
