"""`dispatch report kpis`: table with sparklines, JSON and CSV from the same figures; bad options exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from data.db import Database
from data.models import Customer
from dispatch_tui.cli.commands.report import sparkline
from dispatch_tui.cli.main import app
from tests.data.test_kpis import D1, D2, history  # noqa: F401  (the hand-made history fixture)


def test_sparkline_scales_and_leaves_gaps() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, None, 1.0]) == "▅ ▅"
    assert sparkline([]) == "" and sparkline([None, None]) == "  "
    assert len(sparkline(list(range(90)), width=30)) == 30


def _run(db: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db.url, "--as", "sam", "report", "kpis", *args])
    return result.exit_code, result.stdout + (result.stderr or "")


def test_kpis_json_csv_and_table(history: Database) -> None:  # noqa: F811
    span = ["--from", D1.isoformat(), "--to", D2.isoformat()]
    code, text = _run(history, *span, "--json")
    assert code == 0, text
    data = json.loads(text)
    overall = data["groups"][0]
    assert overall["values"]["revenue"] == "350.00" and overall["values"]["repeat_visits"] == 2
    assert overall["series"]["first_time_fix_rate"] == [1.0, 0.0] and data["days"] == [D1.isoformat(), D2.isoformat()]
    code, text = _run(history, *span, "--by", "technician", "--csv")
    assert code == 0, text
    rows = {(r["label"], r["kpi"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert rows[("T1", "revenue")] == "300.00" and rows[("T3", "first_time_fix_rate")] == ""
    code, text = _run(history, *span)
    assert code == 0 and "first-time fix" in text and "33.3%" in text and "350.00" in text
    assert "█" in text or "▁" in text


def test_kpis_bad_options(history: Database) -> None:  # noqa: F811
    assert _run(history, "--by", "planet")[0] == 2
    code, text = _run(history, "--from", D2.isoformat(), "--to", (D2 - timedelta(days=3)).isoformat())
    assert code == 2 and "--from" in text


def test_kpis_csv_by_customer_neutralises_a_formula_in_the_code(history: Database) -> None:  # noqa: F811
    with history.write_session() as s:
        s.execute(update(Customer).values(code="-A1"))  # a valid code a spreadsheet reads as the formula =-A1
        s.commit()
    code, text = _run(history, "--from", D1.isoformat(), "--to", D2.isoformat(), "--by", "customer", "--csv")
    assert code == 0, text
    labels = {r["label"] for r in csv.DictReader(io.StringIO(text))}
    assert labels == {"'-A1"}
