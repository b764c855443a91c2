"""The synchronous checks are asked where the office decides, against a fake vendor: a job for a customer on credit
hold, a quote line priced by the accounting system, a job whose parts are not in the van. An answer that does not
come is "system unavailable, decision needed": the dispatcher decides with an override that is kept as a note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from data.db import Database
from data.models.jobs import JobType
from data.services.jobs import JobDraft, create_job
from dispatch_tui.cli.main import app
from integrations.sync_calls import UNAVAILABLE
from tests.data.test_field_completion import on_site_job
from tests.factories import DAY, DISPATCHER, build_world
from tests.integrations.fakes.server import serve

runner = CliRunner()


class Vendor:
    """What the fake accounting system answers; `down` makes every question fail with a 503."""

    def __init__(self) -> None:
        self.hold: set[str] = set()
        self.stock: dict[str, int] = {}
        self.down = False
        self.asked: list[str] = []


VENDOR = Vendor()


async def credit(request: Request) -> Response:
    VENDOR.asked.append(f"credit {request.path_params['customer']}")
    if VENDOR.down:
        return JSONResponse({"error": "maintenance"}, status_code=503)
    held = request.path_params["customer"] in VENDOR.hold
    return JSONResponse({"approved": not held, "balance": "1500.00", "credit_limit": "1000", "currency": "EUR"})


async def price(request: Request) -> Response:
    VENDOR.asked.append(f"price {request.path_params['item']}")
    if VENDOR.down:
        return JSONResponse({}, status_code=503)
    return JSONResponse({"unit_price": "49.90", "currency": "EUR"})


async def stock(request: Request) -> Response:
    VENDOR.asked.append(f"stock {request.path_params['sku']}")
    if VENDOR.down:
        return JSONResponse({}, status_code=503)
    return JSONResponse({"available": VENDOR.stock.get(request.path_params["sku"], 0), "location": "WH-HEL"})


@pytest.fixture(scope="module")
def vendor_url() -> Iterator[str]:
    routes = [Route("/credit/{customer}", credit), Route("/price/{item}", price), Route("/stock/{sku}", stock)]
    with serve(Starlette(routes=routes)) as url:
        yield url


@pytest.fixture
def world(sqlite_db: Database, vendor_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    global VENDOR
    VENDOR = Vendor()
    config = tmp_path / "integrations.toml"
    config.write_text(
        f"""
[connectors.books]
type = "jsonl"
path = "{tmp_path / "out.jsonl"}"
sync_calls = true
credit_check_url = "{vendor_url}/credit/{{customer}}"
price_quote_url = "{vendor_url}/price/{{item}}"
stock_url = "{vendor_url}/stock/{{sku}}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("DISPATCH_INTEGRATIONS_CONFIG", str(config))
    build_world(sqlite_db)
    return sqlite_db


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db.url, "--as", "dana", *args])
    return result.exit_code, result.stdout, result.stderr


def _notes(db: Database, ref: str) -> list[str]:
    code, stdout, _ = _run(db, "jobs", "show", ref, "--json")
    assert code == 0
    return [n["body"] for n in json.loads(stdout)["notes"]]


def test_a_job_for_a_customer_on_credit_hold_needs_a_decision(world: Database) -> None:
    create = ["jobs", "create", "--site", "S1", "--summary", "Leak", "--json"]
    code, stdout, stderr = _run(world, *create)
    assert code == 0 and VENDOR.asked == ["credit C1"], stderr
    VENDOR.hold.add("C1")
    code, _, stderr = _run(world, *create)
    assert code == 2 and "C1 Kallio Bakery Oy is on credit hold" in stderr and "--credit-override" in stderr
    code, stdout, stderr = _run(world, *create, "--credit-override", "agreed with finance")
    assert code == 0, stderr
    [note] = _notes(world, json.loads(stdout)["ref"])
    assert "credit hold" in note and "agreed with finance" in note


def test_a_credit_check_that_does_not_answer_is_a_decision_not_a_refusal(world: Database) -> None:
    VENDOR.down = True
    code, _, stderr = _run(world, "jobs", "create", "--site", "S1", "--summary", "Leak")
    assert code == 2 and UNAVAILABLE in stderr and "to decide pass --credit-override" in stderr
    code, stdout, stderr = _run(world, "jobs", "create", "--site", "S1", "--summary", "Leak", "--credit-override",
                                "regular customer", "--json")  # fmt: skip
    assert code == 0 and UNAVAILABLE in _notes(world, json.loads(stdout)["ref"])[0]


def test_a_quote_line_priced_by_the_accounting_system(world: Database) -> None:
    ref = on_site_job(world)
    code, stdout, stderr = _run(world, "quotes", "propose", ref, "--summary", "Filter", "--line", "FLT-01;2;?;part",
                                "--line", "Labour;1;78", "--json")  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["total"] == "177.80" and "price FLT-01" in VENDOR.asked
    VENDOR.down = True
    code, _, stderr = _run(world, "quotes", "propose", ref, "--summary", "Filter", "--line", "FLT-01;2;?;part")
    assert code == 2 and UNAVAILABLE in stderr and "give the price" in stderr


def test_assigning_a_job_whose_parts_are_not_in_the_van(world: Database) -> None:
    job = create_job(world, DISPATCHER, JobDraft(JobType.REPAIR, "S2", "Filter", 60, parts_needed={"FLT-01": 2}))
    assign = ["jobs", "assign", job.ref, "T1", "--date", DAY.isoformat(), "--start", "09:00", "--reassign"]
    code, _, stderr = _run(world, *assign)  # the van is empty and the warehouse has none either
    assert code == 2 and "VAN-T1 holds 0 x FLT-01, the job needs 2" in stderr and "--parts-override" in stderr
    VENDOR.stock["FLT-01"] = 7
    code, _, stderr = _run(world, *assign)
    assert code == 0 and "restock 2 from WH-HEL" in stderr, stderr
    VENDOR.down = True
    code, _, stderr = _run(world, *assign)
    assert code == 2 and UNAVAILABLE in stderr
    code, _, stderr = _run(world, *assign, "--parts-override", "T1 collects them on the way")
    assert code == 0, stderr
    assert "collects them on the way" in _notes(world, job.ref)[-1]
    _run(world, "stock", "move", "FLT-01", "2", "--from", "WH-HEL", "--to", "VAN-T1")
    asked = len(VENDOR.asked)
    code, _, stderr = _run(world, *assign)
    assert code == 0 and len(VENDOR.asked) == asked  # the van holds them: nothing to ask


def test_bad_parts_on_a_job_name_the_field(world: Database) -> None:
    code, _, stderr = _run(world, "jobs", "create", "--site", "S1", "--summary", "x", "--parts", "NOPE:1")
    assert code == 2 and "unknown part 'NOPE'" in stderr and "parts" in stderr
    code, _, stderr = _run(world, "jobs", "create", "--site", "S1", "--summary", "x", "--parts", "FLT-01:two")
    assert code == 2 and "--parts" in stderr
