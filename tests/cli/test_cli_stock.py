"""`dispatch stock ...` for vans and returns: minimums, the low-stock flag, restock, transfer; part returns listed,
received and closed; bad input names the record and the field and writes nothing."""

from __future__ import annotations

import json

import pytest

from data.db import Database
from data.feed import last_seq, tail
from data.services.completion import PartInput, complete_job
from tests.cli.test_cli_office import _ok, _run
from tests.data.test_field_completion import on_site_job, report, stock_van, tech_actor, track_serials, van_qty
from tests.factories import build_world


def _json(db: Database, *args: str) -> object:
    return json.loads(_ok(db, *args, "--json"))


def test_a_van_below_its_minimum_is_flagged_and_restocked_from_the_warehouse(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    _ok(sqlite_db, "stock", "edit", "VAN-T1", "--minimums", "FLT-01=4")
    shown = _json(sqlite_db, "stock", "show", "VAN-T1")
    assert isinstance(shown, dict) and shown["minimums"] == {"FLT-01": 4}
    assert _json(sqlite_db, "stock", "low", "--branch", "HEL") == [
        {"location": "VAN-T1", "kind": "van", "sku": "FLT-01", "part": "Air filter", "quantity": 0,
         "min_quantity": 4, "short": 4}
    ]  # fmt: skip
    assert _json(sqlite_db, "stock", "restock", "VAN-T1") == {
        "van": "VAN-T1",
        "parts": [{"sku": "FLT-01", "moved": 4, "short": 0}],
    }
    assert van_qty(sqlite_db) == 4 and _json(sqlite_db, "stock", "low") == []
    # A visit uses 2 filters: the van drops below its minimum once, and the log says so.
    ref = on_site_job(sqlite_db)
    complete_job(sqlite_db, tech_actor(sqlite_db, "T1"), ref, report(parts=[PartInput("FLT-01", 2)]))
    [low] = [e for e in tail(sqlite_db) if e.type == "stock.low"]
    assert low.payload == {"location": "VAN-T1", "technician_id": 1, "sku": "FLT-01", "quantity": 2,
                           "min_quantity": 4, "reason": f"job {ref}"}  # fmt: skip
    # The warehouse holds 10 - 4 = 6: a minimum of 9 moves 6 and says 1 is short.
    _ok(sqlite_db, "stock", "edit", "VAN-T1", "--minimums", "FLT-01=9")
    assert _json(sqlite_db, "stock", "restock", "VAN-T1", "--from", "WH-HEL")["parts"] == [  # type: ignore[index]
        {"sku": "FLT-01", "moved": 6, "short": 1}
    ]


def test_transfer_between_vans_needs_both_sides_and_enough_parts(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    stock_van(sqlite_db, 3)
    moved = _json(sqlite_db, "stock", "transfer", "FLT-01", "2", "--from", "VAN-T1", "--to", "VAN-T2")
    assert moved == {"sku": "FLT-01", "quantity": 2, "from": "VAN-T1", "to": "VAN-T2"}
    assert (van_qty(sqlite_db), van_qty(sqlite_db, "VAN-T2")) == (1, 2)
    seq = last_seq(sqlite_db)
    code, _, stderr = _run(sqlite_db, "stock", "transfer", "FLT-01", "5", "--from", "VAN-T1", "--to", "VAN-T2")
    assert code == 2 and "VAN-T1 holds 1 x FLT-01" in stderr
    code, _, stderr = _run(sqlite_db, "stock", "transfer", "FLT-01", "1", "--from", "VAN-T1", "--to", "VAN-T1")
    assert code == 2 and "stock move of FLT-01: to: is the source VAN-T1 itself" in stderr
    code, _, stderr = _run(sqlite_db, "stock", "transfer", "FLT-01", "1", "--to", "VAN-T2")
    assert code == 2 and "--from" in stderr
    assert last_seq(sqlite_db) == seq


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("stock", "edit", "VAN-T1", "--minimums", "NOPE=2"), "stock location VAN-T1: minimums: unknown part 'NOPE'"),
        (("stock", "edit", "VAN-T1", "--minimums", "FLT-01=many"), "minimums: 'FLT-01=many' is not like SKU=12"),
        (("stock", "restock", "WH-HEL"), "restock of WH-HEL: van: WH-HEL is a warehouse, not a van"),
        (("stock", "restock", "VAN-T1", "--from", "VAN-T1"), "restock of VAN-T1: from: is the van VAN-T1 itself"),
        (("stock", "low", "--branch", "XXX"), "low stock: branch: no branch XXX"),
    ],
)
def test_bad_stock_input_names_the_record_and_field(sqlite_db: Database, args: tuple[str, ...], message: str) -> None:
    build_world(sqlite_db)
    seq = last_seq(sqlite_db)
    code, _, stderr = _run(sqlite_db, *args)
    assert code == 2 and message in stderr, stderr
    assert last_seq(sqlite_db) == seq


def test_part_returns_are_listed_received_and_closed_once(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    track_serials(sqlite_db)
    stock_van(sqlite_db)
    ref = on_site_job(sqlite_db)
    complete_job(sqlite_db, tech_actor(sqlite_db, "T1"), ref, report(parts=[PartInput("FLT-01", 1, ["SN1"])]))
    [pending] = _json(sqlite_db, "stock", "returns", "list", "--status", "pending")  # type: ignore[misc]
    assert (pending["sku"], pending["serial"], pending["job"], pending["from"]) == ("FLT-01", "SN1", ref, "VAN-T1")
    assert pending["to"] == "WH-HEL" and pending["disposition"] == "supplier"  # where it is headed
    rid = str(pending["id"])
    code, _, stderr = _run(sqlite_db, "stock", "returns", "close", rid)
    assert code == 2 and f"part return {rid} has not been received yet" in stderr
    code, _, stderr = _run(sqlite_db, "stock", "returns", "receive", rid, "--at", "WH-XX")
    assert code == 2 and f"part return {rid}: location: stock location WH-XX does not exist" in stderr
    received = _json(sqlite_db, "stock", "returns", "receive", rid, "--at", "WH-HEL", "--note", "Cracked housing")
    assert isinstance(received, dict)
    assert (received["status"], received["to"], received["received_by"]) == ("received", "WH-HEL", "dana")
    code, _, stderr = _run(sqlite_db, "stock", "returns", "receive", rid, "--at", "WH-HEL")
    assert code == 2 and "is received by dana" in stderr
    closed = _json(sqlite_db, "stock", "returns", "close", rid, "--claim-ref", "NIBE-4471")
    assert isinstance(closed, dict) and closed["status"] == "closed" and closed["warranty_claim_ref"] == "NIBE-4471"
    code, _, stderr = _run(sqlite_db, "stock", "returns", "close", rid)
    assert code == 2 and "was closed by dana" in stderr
    assert _json(sqlite_db, "stock", "returns", "list", "--status", "pending") == []
    assert [e.type for e in tail(sqlite_db) if e.type.startswith("part_return.")] == [
        "part_return.created",
        "part_return.received",
        "part_return.closed",
    ]
    code, _, stderr = _run(sqlite_db, "stock", "returns", "receive", "999", "--at", "WH-HEL")
    assert code == 2 and "part return 999 does not exist" in stderr
