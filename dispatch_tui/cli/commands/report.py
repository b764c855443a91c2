"""`dispatch report kpis`: the operational KPIs over a date range, as a table with a sparkline trend per KPI."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from decimal import Decimal

import typer
from rich.table import Table

from data.errors import InvalidInput
from data.kpis import GROUPINGS, KPI_NAMES, RATIOS, KpiReport, KpiValue, compute_kpis
from data.money import MONEY_FIELDS, hidden
from data.services.completion import visit_summary
from data.transfer.csv_formats import neutralise_formula
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import db, handles_errors, money_hidden_because, out, print_json, status
from dispatch_tui.cli.dates import DATE_HELP, parse_day

report_app = typer.Typer(help="Reports: KPIs over a date range.", no_args_is_help=True)

BARS = "▁▂▃▄▅▆▇█"
LABELS = {
    "first_time_fix_rate": "first-time fix",
    "sla_compliance": "SLA met",
    "mean_response_minutes": "response",
    "utilisation": "utilisation",
    "travel_share": "travel share",
    "repeat_visits": "repeat visits",
    "revenue": "revenue",
    "revenue_per_customer": "per customer",
    "revenue_per_technician": "per technician",
    "jobs_completed_per_day": "jobs/day",
}


def sparkline(values: list[KpiValue], width: int = 30) -> str:
    """Unicode bars scaled between the series' min and max; averaged into `width` buckets; gaps for no data."""
    if not values:
        return ""
    buckets: list[float | None] = []
    size = max(1, -(-len(values) // width))
    for i in range(0, len(values), size):
        chunk = [float(v) for v in values[i : i + size] if v is not None]
        buckets.append(sum(chunk) / len(chunk) if chunk else None)
    present = [b for b in buckets if b is not None]
    if not present:
        return " " * len(buckets)
    low, high = min(present), max(present)
    span = high - low
    chars = []
    for b in buckets:
        if b is None:
            chars.append(" ")
        elif span == 0:
            chars.append(BARS[len(BARS) // 2])
        else:
            chars.append(BARS[min(len(BARS) - 1, int((b - low) / span * len(BARS)))])
    return "".join(chars)


def format_value(name: str, value: KpiValue) -> str:
    if value is None:
        return "-"
    if name in RATIOS:
        return f"{float(value) * 100:.1f}%"
    if name == "mean_response_minutes":
        minutes = float(value)
        return f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.0f} min"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _value(name: str, values: dict[str, KpiValue], money_hidden: str | None) -> str:
    return hidden(money_hidden) if money_hidden and name in MONEY_FIELDS else format_value(name, values[name])


def _trend(name: str, series: list[KpiValue], money_hidden: str | None, width: int = 30) -> str:
    return "" if money_hidden and name in MONEY_FIELDS else sparkline(series, width)


def _overall_table(report: KpiReport, money_hidden: str | None = None) -> Table:
    group = report.groups[0]
    table = Table(title=f"KPIs {report.start} .. {report.end} ({len(report.days)} days)", header_style="bold")
    table.add_column("KPI", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("daily trend", no_wrap=True)
    for name in KPI_NAMES:
        table.add_row(
            LABELS[name], _value(name, group.values, money_hidden), _trend(name, group.series[name], money_hidden)
        )
    return table


def _grouped_table(report: KpiReport, money_hidden: str | None = None) -> Table:
    table = Table(
        title=f"KPIs by {report.by} {report.start} .. {report.end} ({len(report.days)} days)",
        header_style="bold",
        show_lines=True,
    )
    table.add_column(report.by or "", no_wrap=True)
    for name in KPI_NAMES:
        table.add_column(LABELS[name], justify="right")
    for group in report.groups:
        table.add_row(
            group.label,
            *[
                f"{_value(n, group.values, money_hidden)}\n{_trend(n, group.series[n], money_hidden, 8)}"
                for n in KPI_NAMES
            ],
        )
    return table


def report_json(report: KpiReport) -> dict[str, object]:
    return {
        "from": report.start,
        "to": report.end,
        "by": report.by,
        "days": report.days,
        "groups": [{"key": g.key, "label": g.label, "values": g.values, "series": g.series} for g in report.groups],
    }


@report_app.command("kpis")
@handles_errors
def kpis_command(
    date_from: str | None = typer.Option(None, "--from", help=f"First day ({DATE_HELP}; default 30 days ago)."),
    date_to: str | None = typer.Option(None, "--to", help=f"Last day ({DATE_HELP}; default today)."),
    by: str | None = typer.Option(None, "--by", help="Group by technician, branch or customer (default: overall)."),
    as_json: bool = typer.Option(False, "--json", help="Values and daily series as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="One row per group and KPI as CSV."),
) -> None:
    """First-time fix, SLA, response, utilisation, travel, repeats, revenue, throughput (see docs/kpis.md)."""
    if by is not None and by not in GROUPINGS:
        raise InvalidInput(f"'{by}' is not one of {', '.join(GROUPINGS)}", record="option", field="--by")
    if as_json and as_csv:
        raise InvalidInput("choose one of --json and --csv", record="option", field="--csv")
    database = db()
    tz = branch_zone(database)
    end = parse_day(date_to, tz, "--to")
    start = parse_day(date_from, tz, "--from") if date_from else end - timedelta(days=29)
    with status("Computing KPIs..."):
        report = compute_kpis(database, start, end, by)
    money_hidden = money_hidden_because()
    if as_json:
        print_json(report_json(report))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["group", "label", "kpi", "value"])
        for g in report.groups:
            for name in KPI_NAMES:
                value = g.values[name]
                label = neutralise_formula(g.label)  # a customer's name is text a spreadsheet must not run
                shown = _value(name, g.values, money_hidden) if money_hidden else ("" if value is None else value)
                writer.writerow([neutralise_formula(g.key), label, name, shown])
    elif not report.groups:
        out.print(f"No data between {start} and {end}.")
    elif by is None:
        out.print(_overall_table(report, money_hidden))
    else:
        out.print(_grouped_table(report, money_hidden))


@report_app.command("visit")
@handles_errors
def visit_command(
    job_ref: str = typer.Argument(..., help="Job ref, e.g. J000123."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """What a finished visit produced: its completion report, invoice draft and timesheet line."""
    data = visit_summary(db(), job_ref)
    if as_json:
        print_json(data)
        return
    rep = data["report"]
    out.print(
        f"{data['job']} {data['status']} by {data['technician']}: {rep['labour_minutes']} min labour, "
        f"{rep['travel_minutes']} min travel, {rep['resolution_code']}, "
        f"{'first-time fix' if rep['first_time_fix'] else 'follow-up needed'}; signed by {rep['signer'] or '-'}",
        markup=False,
        highlight=False,
    )
    invoice = data["invoice"]
    money_hidden = money_hidden_because() if invoice else None
    if invoice and money_hidden:
        out.print(f"Invoice draft {invoice['ref']}: amounts {hidden(money_hidden)}", markup=False, highlight=False)
    elif invoice:
        table = Table(title=f"Invoice draft {invoice['ref']} ({invoice['currency']})", header_style="bold")
        for col, justify in (
            ("kind", "left"),
            ("description", "left"),
            ("qty", "right"),
            ("unit", "right"),
            ("amount", "right"),
            ("tax", "right"),
            ("covered", "left"),
        ):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for ln in invoice["lines"]:
            table.add_row(
                str(ln["kind"]),
                ln["description"],
                f"{ln['quantity']:f}",
                f"{ln['unit_price']:.2f}",
                f"{ln['amount']:.2f}",
                f"{ln['tax_amount']:.2f}",
                ln["covered_reason"] or "",
            )
        table.add_section()
        table.add_row("", "subtotal", "", "", f"{invoice['subtotal']:.2f}", f"{invoice['tax']:.2f}", "")
        table.add_row("", "total", "", "", f"{invoice['total']:.2f}", "", "")
        out.print(table)
    sheet = data["timesheet"]
    if sheet:
        out.print(
            f"Timesheet {data['technician']} {sheet['day']} ({sheet['status']}): worked {sheet['worked_minutes']} min, "
            f"travel {sheet['travel_minutes']}, break {sheet['break_minutes']}, overtime {sheet['overtime_minutes']}",
            markup=False,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
