"""Cells no field can hold (a NUL character, megabytes of text) are refused by row and field on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data.db import Database
from data.transfer.csv_formats import CUSTOMER_COLUMNS, Entity
from data.transfer.importer import ImportRejected, import_file
from dispatch_tui.cli.main import app
from tests.factories import DISPATCHER, build_world

HEADER = ",".join(CUSTOMER_COLUMNS)


def _customers(path: Path, name: str) -> Path:
    good = "C1,Aino Oy,,,,,S10,Office,HEL,Mannerheimintie 5,00100,Helsinki,60.17,24.94,"
    bad = f'C2,"{name}",,,,,S11,Shop,HEL,Aleksanterinkatu 1,00100,Helsinki,60.17,24.95,'
    path.write_text("\n".join([HEADER, good, bad]) + "\n", encoding="utf-8")
    return path


def test_a_nul_character_is_refused_naming_row_and_field(db: Database, tmp_path: Path) -> None:
    build_world(db)
    path = _customers(tmp_path / "customers.csv", "Bad\x00Name Oy")
    with pytest.raises(ImportRejected) as info:
        import_file(db, DISPATCHER, Entity.CUSTOMERS, path)
    [error] = info.value.report.errors
    assert str(error) == "customers.csv row 3, field customer_name: contains a NUL character (\\x00) at position 4"


def test_a_nul_character_in_json_is_refused_too(db: Database, tmp_path: Path) -> None:
    build_world(db)
    record = dict.fromkeys(CUSTOMER_COLUMNS, "")
    record.update(customer_code="C1", customer_name="Aino", site_code="S10", site_name="Office", branch="HEL")
    record.update(address="Street 1", city="Helsinki\u0000", lat="60.1", lon="24.9")
    path = tmp_path / "customers.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        import_file(db, DISPATCHER, Entity.CUSTOMERS, path)
    assert [e.field for e in info.value.report.errors] == ["city"]


def test_a_cell_larger_than_the_csv_limit_exits_2_naming_row_and_field(sqlite_db: Database, tmp_path: Path) -> None:
    build_world(sqlite_db)
    path = _customers(tmp_path / "customers.csv", "x" * 5_000_000)  # csv's own limit is 131,072
    result = CliRunner().invoke(app, ["--db", sqlite_db.url, "--as", "dana", "import", "customers", str(path)])
    assert result.exit_code == 2, result.output
    assert "customers.csv row 3, field customer_name: holds 5,000,000 characters" in result.stderr
    assert "xxxxxxxx" not in result.output


@pytest.mark.postgres
def test_a_nul_character_on_postgres_exits_2_through_the_cli(pg_db: Database, tmp_path: Path) -> None:
    build_world(pg_db)
    path = _customers(tmp_path / "customers.csv", "Secret\x00Customer")
    result = CliRunner().invoke(app, ["--db", pg_db.url, "--as", "dana", "import", "customers", str(path)])
    assert result.exit_code == 2, result.output
    assert "customers.csv row 3, field customer_name: contains a NUL character" in result.stderr
    assert "Secret" not in result.output
