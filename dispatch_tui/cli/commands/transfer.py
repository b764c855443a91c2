"""`dispatch import ...` and `dispatch export ...`: files in and out (CSV, JSON; iCalendar and GeoJSON out)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from data.transfer.csv_formats import Entity
from data.transfer.exporter import FORMATS, export_text
from data.transfer.importer import ImportRejected, import_file
from dispatch_tui.cli.commands.jobs import branch_zone
from dispatch_tui.cli.context import EXIT_BAD_INPUT, actor, db, err, fail, handles_errors, labelled, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, parse_day


class Target(StrEnum):
    """What `import` and `export` move: one kind of record in a file, or the whole company in a folder."""

    TECHNICIANS = "technicians"
    CUSTOMERS = "customers"
    JOBS = "jobs"
    COMPANY = "company"


def _import_company(folder: Path, as_json: bool) -> None:
    from data.migrate import current_revision
    from data.transfer.company import import_company

    if not folder.is_dir():
        raise fail(f"{folder}: no such folder (a company is a folder written by `dispatch export company`)")
    database = db()
    done = import_company(database, actor(), folder, current_revision(database) or "")
    if as_json:
        print_json({"imported": str(folder), "tables": done.tables, "kept_users": done.kept_users})
        return
    rows = sum(done.tables.values())
    out.print(f"imported {rows} row(s) in {len(done.tables)} table(s) from {folder}", highlight=False)
    for login in done.kept_users:
        err.print(f"kept admin {login} of this database (the company has no user with that login)", highlight=False)


def _export_company(folder: Path | None) -> None:
    from data.migrate import current_revision
    from data.transfer.company import export_company

    if folder is None or str(folder) == "-":
        raise fail("a company is a folder of files: give --out DIR")
    database = db()
    counts = export_company(database, folder, current_revision(database) or "")
    err.print(f"wrote {sum(counts.values())} row(s) in {len(counts)} file(s) to {folder}", highlight=False)


@contextmanager
def _readable(path: Path, fmt: str | None) -> Iterator[tuple[Path, str | None]]:
    """The file to import: `-` is standard input, spooled to a file named `stdin.csv` or `stdin.json`.

    The importer reads files (and names them in its messages), so stdin becomes one for the import's length;
    its format is --format, else JSON when it starts with `[` or `{`, else CSV.
    """
    if str(path) != "-":
        yield path, fmt
        return
    raw = sys.stdin.buffer.read()
    chosen = fmt or ("json" if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv")
    with tempfile.TemporaryDirectory(prefix="dispatch-import-") as folder:
        spooled = Path(folder) / f"stdin.{chosen}"
        spooled.write_bytes(raw)
        yield spooled, chosen


@handles_errors
def import_command(
    target: Target = typer.Argument(
        ..., help="technicians, customers (one row per site), jobs, or company (a folder, into an empty database)."
    ),
    path: Path = typer.Argument(..., help="CSV or JSON file; - reads standard input; for company, the folder."),
    fmt: str | None = typer.Option(None, "--format", help="csv or json (default: from the file name)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and report; write nothing."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Land the good rows; write bad ones to --rejects."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Reject file (default FILE.rejects.csv/json)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a file in one transaction: any bad row and nothing lands (exit 2), unless --skip-bad."""
    if target is Target.COMPANY:
        _import_company(path, as_json)
        return
    entity = Entity(target.value)
    if str(path) != "-" and not path.is_file():
        raise fail(f"{path}: no such file")
    if str(path) == "-" and skip_bad and rejects is None:
        raise fail("reading standard input with --skip-bad needs --rejects FILE for the bad rows")
    from dispatch_tui.cli.progress import progress_bar

    try:
        with _readable(path, fmt) as (source, chosen), progress_bar(f"importing {entity.value}") as bar:
            report = import_file(
                db(),
                actor(),
                entity,
                source,
                chosen,
                dry_run=dry_run,
                skip_bad=skip_bad,
                rejects=rejects,
                progress=lambda rows: bar.describe(f"importing {entity.value}: {rows:,} rows", rows),
            )
    except ImportRejected as rejected:
        if as_json:
            print_json(rejected.report.as_dict())
        for e in rejected.report.errors:
            err.print(labelled("error", str(e)))
        err.print(f"{len(rejected.report.errors)} bad row(s); nothing was imported", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if as_json:
        print_json(report.as_dict())
    else:
        verb = "would import" if dry_run else "imported"
        out.print(
            f"{verb} {report.rows} {entity.value} row(s) from {report.file}: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, {len(report.rejected)} rejected",
            highlight=False,
        )
    for e in report.errors:
        err.print(labelled("rejected", str(e), "yellow"))
    if report.rejects_file:
        err.print(f"rejected rows written to {report.rejects_file}", highlight=False)
    if dry_run and report.errors:
        raise typer.Exit(EXIT_BAD_INPUT)


@handles_errors
def export_command(
    target: Target = typer.Argument(..., help="technicians, customers, jobs, or company (every record, to --out DIR)."),
    fmt: str = typer.Option("csv", "--format", help="csv, json, geojson; jobs also ics (iCalendar)."),
    out_path: Path | None = typer.Option(None, "--out", help="Write to this file (default, or -: standard output)."),
    day: str | None = typer.Option(None, "--date", help=f"Jobs planned on this local day only ({DATE_HELP})."),
) -> None:
    """Export records; CSV and JSON re-import unchanged (round trip)."""
    if target is Target.COMPANY:
        _export_company(out_path)
        return
    entity = Entity(target.value)
    if fmt not in FORMATS[entity]:
        err.print(labelled("error", f"{entity.value} export supports {', '.join(FORMATS[entity])}"))
        raise typer.Exit(EXIT_BAD_INPUT)
    database = db()
    when = parse_day(day, branch_zone(database)) if day else None
    from dispatch_tui.cli.progress import progress_bar

    with progress_bar(f"exporting {entity.value}") as bar:
        body = export_text(database, entity, fmt, when, progress=bar.advance_to)
    if out_path is None or str(out_path) == "-":
        sys.stdout.write(body)
        return
    out_path.write_text(body, encoding="utf-8", newline="")
    err.print(f"wrote {out_path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
