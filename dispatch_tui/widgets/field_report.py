"""The job detail's "From the field" section: report, signature and photos with where their files are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from data.queries.field_report import FieldReport, FileLine


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


def _file(f: FileLine) -> str:
    return f"{f.content_type} {f.width}x{f.height} {_size(f.size_bytes)} sha256 {f.sha256[:12]} at {f.where}"


def render_field_report(report: FieldReport | None, when: Callable[[datetime | None], str]) -> Text:
    """Empty while the field has sent nothing, so a job not yet worked looks as it always did."""
    if report is None:
        return Text("")
    text = Text("From the field\n", style="bold")
    if report.outcome:
        done = f"{report.outcome} {when(report.actual_end)}: {report.resolution_code}"
        text.append(f"{done}, {report.labour_minutes} min labour\n")
    if report.signer:
        text.append(f"Signed by {report.signer} {when(report.signed_at)}")
        text.append(f"  signature {_file(report.signature)}\n" if report.signature else "  (no signature image)\n")
    elif report.outcome:
        text.append("not signed\n", style="yellow")
    for p in report.photos:
        text.append(f"Photo {when(p.taken_at)} {p.caption or ''}: ", style="dim")
        text.append((_file(p) if p.id else p.where) + "\n")
    return text
