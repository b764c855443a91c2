"""`dispatch jobs ...`: list, show, create, assign, unassign, change status and annotate work orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select

from data.custom_fields import parse_assignments
from data.db import Database

if TYPE_CHECKING:
    from data.services.completion import ExpenseInput, PartInput
    from integrations.checks import Answerer, Verdict
from data.errors import AlreadyAssigned, InvalidInput
from data.models.customers import Site
from data.models.jobs import Job, JobStatus, JobType
from data.models.org import Branch
from data.queries.jobs import JobDetailView, JobFilter, JobListRow, job_detail, list_jobs, parse_statuses
from data.services.jobs import (
    JobDraft,
    add_note,
    assign_job,
    change_status,
    create_job,
    parse_skills,
    schedule_warnings,
    set_crew_size,
    set_dependency,
    split_into_visits,
    unassign_job,
    update_job,
)
from dispatch_tui.cli.context import actor, db, err, fail, handles_errors, labelled, out, print_json
from dispatch_tui.cli.dates import DATE_HELP, now, parse_day, parse_moment

jobs_app = typer.Typer(
    help="Work orders: list, show, create, edit, assign, unassign, status, complete, reopen, note.",
    no_args_is_help=True,
)
DEFAULT_TZ = "Europe/Helsinki"


def branch_zone(database: Database, branch: str | None = None) -> str:
    """The time zone people mean when they type a bare time: the branch's, else the first branch's."""
    with database.read() as session:
        stmt = select(Branch.timezone).order_by(Branch.code)
        if branch is not None:
            stmt = stmt.where(Branch.code == branch)
        return session.scalar(stmt.limit(1)) or DEFAULT_TZ


def site_zone(database: Database, site_code: str) -> str:
    """The zone of the branch a site belongs to (falls back to the first branch's for an unknown site)."""
    with database.read() as session:
        tz = session.scalar(
            select(Branch.timezone).join(Site, Site.branch_id == Branch.id).where(Site.code == site_code)
        )
    return tz or branch_zone(database)


def job_zone(database: Database, ref: str) -> str:
    with database.read() as session:
        tz = session.scalar(select(Branch.timezone).join(Job, Job.branch_id == Branch.id).where(Job.ref == ref))
    return tz or branch_zone(database)


def _hhmm(at: datetime | None, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M") if at else ""


def _window(row: JobListRow) -> str:
    if row.window_start is None and row.window_end is None:
        return ""
    return f"{_hhmm(row.window_start, row.timezone)}-{_hhmm(row.window_end, row.timezone)}"


def jobs_table(rows: list[JobListRow], title: str, width: int) -> Table:
    """Dense on a wide terminal; on a narrow one the type and SLA columns give way to the summary."""
    wide = width >= 120
    table = Table(title=title, header_style="bold", expand=False, pad_edge=False)
    table.add_column("ref", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("p", no_wrap=True)
    if wide:
        table.add_column("type", no_wrap=True)
    table.add_column("summary", min_width=14, ratio=2)
    table.add_column("customer", min_width=10, ratio=1)
    table.add_column("window" if wide else "win", no_wrap=True)
    if wide:
        table.add_column("sla", no_wrap=True)
    table.add_column("tech", no_wrap=True)
    if wide:
        table.add_column("plan", no_wrap=True)
    for r in rows:
        plan = f"{_hhmm(r.planned_start, r.timezone)}-{_hhmm(r.planned_end, r.timezone)}" if r.planned_start else ""
        cells = [r.ref, r.status, str(r.priority)]
        if wide:
            cells.append(r.type)
        cells += [r.summary, r.customer, _window(r)]
        if wide:
            cells.append(_hhmm(r.sla_due, r.timezone))
        tech = (r.technician or "-") + ("*" if r.pinned else "")
        cells += [tech, plan] if wide else [f"{tech} {_hhmm(r.planned_start, r.timezone)}".strip()]
        table.add_row(*cells)
    return table


@jobs_app.command("list")
@handles_errors
def list_command(
    day: str | None = typer.Option(None, "--date", help=f"Local day: {DATE_HELP}; default today."),
    day_from: str | None = typer.Option(None, "--from", help="First day of a range (instead of --date)."),
    day_to: str | None = typer.Option(None, "--to", help="Last day of the range (default: --from or --date)."),
    branch: str | None = typer.Option(None, "--branch", help="Only this branch code."),
    status: list[str] | None = typer.Option(None, "--status", help="Only these statuses (repeat or comma-separate)."),
    unassigned: bool = typer.Option(False, "--unassigned", help="Only jobs without a technician."),
    technician: str | None = typer.Option(None, "--technician", help="Only this technician's jobs."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer's jobs (code)."),
    site: str | None = typer.Option(None, "--site", help="Only jobs at this site (code)."),
    priority: int | None = typer.Option(None, "--priority", help="Only this priority (1-4)."),
    job_type: str | None = typer.Option(None, "--type", help="Only install, repair, maintenance or inspection."),
    at_risk: bool = typer.Option(False, "--at-risk", help="Only open jobs whose SLA is late or due soon."),
    search: str | None = typer.Option(
        None, "--search", help="Text in the ref, summary, description, customer or site."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """The day's jobs (or a range's): planned then, plus open jobs nobody has planned yet."""
    database = db()
    tz = branch_zone(database, branch)
    if day is not None and day_from is not None:
        raise InvalidInput("give --date or --from, not both", record="filter", field="--from")
    first = parse_day(day_from, tz, "--from") if day_from else parse_day(day, tz)
    last = parse_day(day_to, tz, "--to") if day_to else None
    wanted = JobFilter(customer, site, priority, job_type, search, now(tz) if at_risk else None)
    rows = list_jobs(
        database,
        first,
        day_to=last,
        branch=branch,
        statuses=parse_statuses(status),
        unassigned=unassigned,
        technician=technician,
        wanted=wanted,
    )
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    span = first.isoformat() if last is None or last == first else f"{first.isoformat()}..{last.isoformat()}"
    out.print(jobs_table(rows, f"Jobs {span} ({len(rows)}; * = pinned)", out.width))


def _print_detail(d: JobDetailView) -> None:
    j = d.job
    tz = j.timezone
    out.print(f"[bold]{j.ref}[/] {j.summary}  [dim]({j.type}, priority {j.priority}, {j.status}, v{j.version})[/]")
    out.print(f"customer  {j.customer} ({d.customer_code})")
    reach = " · ".join(x for x in (d.customer_phone, d.customer_email) if x)
    if reach:
        out.print(f"phone     {reach}", markup=False)
    if d.contact:
        out.print(f"contact   {d.contact}", markup=False)
    for name, value in d.customer_preferences.items():
        out.print(f"prefers   {name}: {value}", markup=False)
    out.print(f"site      {d.site_code} {j.address}  ({j.lat:.5f}, {j.lon:.5f})")
    if d.access_notes:
        out.print(f"access    {d.access_notes}", markup=False)
    for name, value in d.custom_fields.items():
        out.print(f"{name:<9} {value}", markup=False)
    skills = ", ".join(f"{k}:{v}" for k, v in j.skills.items()) or "-"
    out.print(f"skills    {skills}   duration {j.duration_minutes} min")
    if j.window_start or j.window_end:
        out.print(f"window    {_window(j)}")
    if j.sla_due:
        out.print(f"sla due   {j.sla_due.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}")
    if j.technician:
        pin = " (pinned)" if j.pinned else ""
        plan = f"{_hhmm(j.planned_start, tz)}-{_hhmm(j.planned_end, tz)}"
        out.print(f"assigned  {j.technician} {j.technician_name} {plan}{pin}")
    if d.asset:
        a = d.asset
        warranty = "under warranty" if a["under_warranty"] else "out of warranty"
        out.print(f"asset     {a['kind']} {a['model']} #{a['serial']} ({warranty})")
    if d.contract:
        c = d.contract
        out.print(f"contract  {c['code']} {c['name']} ({c['sla_response_hours']} h SLA)")
    if d.follow_up_of:
        out.print(f"follows   {d.follow_up_of}")
    for link in d.links:
        out.print(f"linked    {link}", markup=False)
    if d.last_visits:
        out.print("[bold]last visits here[/]")
        for v in d.last_visits:
            ended = v["finished_at"].astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d") if v["finished_at"] else "-"
            said = "; ".join(n["body"] for n in v["notes"]) if v["notes"] else ""
            out.print(f"  {ended} {v['ref']} {v['status']} {v['technician'] or '-'}: {v['summary']} {said}".rstrip(),
                      markup=False)  # fmt: skip
    if d.notes:
        out.print("[bold]notes[/]")
        for n in d.notes:
            stamp = n.created_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
            out.print(f"  {stamp} {n.author} ({n.author_kind}): {n.body}", markup=False)
    if d.events:
        out.print("[bold]history[/]")
        for e in d.events:
            at = datetime.fromisoformat(e["at"]).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
            out.print(f"  #{e['seq']} {at} {e['type']} by {e['actor']} ({e['source']})", markup=False)


@jobs_app.command("show")
@handles_errors
def show_command(
    ref: str = typer.Argument(..., help="Job ref (e.g. J000123) or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One job with its notes and event history."""
    detail = job_detail(db(), ref)
    if as_json:
        print_json(detail.as_dict())
    else:
        _print_detail(detail)


@jobs_app.command("create")
@handles_errors
def create_command(
    site: str = typer.Option(..., "--site", help="Site code."),
    summary: str = typer.Option(..., "--summary", help="What is wrong / what to do."),
    job_type: JobType = typer.Option(JobType.REPAIR, "--type", help="install, repair, maintenance or inspection."),
    duration: int = typer.Option(60, "--duration", help="Estimated minutes on site."),
    priority: int = typer.Option(3, "--priority", help="1 (emergency) to 4."),
    skills: str | None = typer.Option(None, "--skills", help="Required skills, e.g. 'hvac:2;electrical:1'."),
    description: str | None = typer.Option(None, "--description"),
    asset: str | None = typer.Option(None, "--asset", help="Serial of the asset at the site."),
    contract: str | None = typer.Option(None, "--contract", help="Contract code (default: the covering one)."),
    window_start: str | None = typer.Option(None, "--window-start", help="HH:MM on --date or ISO 8601 with offset."),
    window_end: str | None = typer.Option(None, "--window-end"),
    sla_due: str | None = typer.Option(None, "--sla-due", help="Override the SLA deadline."),
    ref: str | None = typer.Option(None, "--ref", help="Your own reference (default J + id)."),
    custom: str | None = typer.Option(
        None, "--custom-fields", help="The company's own fields, e.g. 'po_number=4500123;segment=retail'."
    ),
    parts: str | None = typer.Option(None, "--parts", help="Parts the visit needs, e.g. 'FLT-01:2;VLV-3:1'."),
    credit_override: str | None = typer.Option(
        None, "--credit-override", help="Create it although the credit check refused or did not answer: why."
    ),
    day: str | None = typer.Option(None, "--date", help=f"Day for bare HH:MM times ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Create a job; prints its ref. A customer on credit hold (asked of the accounting system, see
    docs/integrations.md) is refused unless --credit-override says why."""
    database = db()
    who = actor()
    from integrations.checks import credit_for_site

    credit = _decided(credit_for_site(database, _answerer(), site), credit_override, "--credit-override")
    tz = site_zone(database, site)
    when = parse_day(day, tz)
    draft = JobDraft(
        type=job_type,
        site_code=site,
        summary=summary,
        duration_minutes=duration,
        priority=priority,
        skills=parse_skills(skills),
        description=description,
        asset_serial=asset,
        contract_code=contract,
        window_start=parse_moment(window_start, when, tz, "--window-start") if window_start else None,
        window_end=parse_moment(window_end, when, tz, "--window-end") if window_end else None,
        sla_due=parse_moment(sla_due, when, tz, "--sla-due") if sla_due else None,
        ref=ref,
        custom_fields=_custom(custom) if custom else {},
        parts_needed=_parts(parts) if parts else {},
    )
    job = create_job(database, who, draft)
    if credit:
        add_note(database, who, job.ref, credit)
    warnings = schedule_warnings(job, now(tz))
    if as_json:
        print_json({"ref": job.ref, "id": job.id, "sla_due": job.sla_due, "version": job.version, "warnings": warnings})
    else:
        out.print(f"created {job.ref}")
    _warn(warnings)


def _answerer() -> Answerer | None:
    from integrations.checks import answerer  # httpx and the connectors: only for the commands that ask
    from integrations.config import load_config

    return answerer(load_config())


def _decided(verdict: Verdict, override: str | None, option: str) -> str | None:
    """None when the check let the work go ahead; the note to keep when the dispatcher overrode it; else exit 2."""
    for warning in verdict.warnings:
        err.print(labelled("warning", warning, "yellow"))
    if verdict.ok:
        return None
    if override is None or not override.strip():
        decide = "decide" if verdict.unavailable else "go ahead anyway"
        raise fail(f"{verdict.message}; to {decide} pass {option} REASON")
    return f"{verdict.message}; went ahead: {override.strip()} ({option})"


def _parts(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in (p.strip() for p in text.split(";")):
        if not item:
            continue
        sku, _, quantity = item.partition(":")
        try:
            found[sku.strip()] = int(quantity or "1")
        except ValueError:
            raise InvalidInput(f"'{item}' is not SKU:quantity", record="option", field="--parts") from None
    return found


def _custom(text: str) -> dict[str, str]:
    try:
        return parse_assignments(text)
    except ValueError as e:
        raise InvalidInput(str(e), record="option", field="--custom-fields") from None


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(labelled("warning", warning, "yellow"))


@jobs_app.command("edit")
@handles_errors
def edit_command(
    ref: str = typer.Argument(..., help="Job ref."),
    window_start: str | None = typer.Option(None, "--window-start", help="HH:MM on --date or ISO 8601 with offset."),
    window_end: str | None = typer.Option(None, "--window-end"),
    duration: int | None = typer.Option(None, "--duration", help="Estimated minutes on site."),
    priority: int | None = typer.Option(None, "--priority", help="1 (emergency) to 4."),
    summary: str | None = typer.Option(None, "--summary"),
    description: str | None = typer.Option(None, "--description"),
    sla_due: str | None = typer.Option(None, "--sla-due", help="HH:MM on --date or ISO 8601 with offset."),
    skills: str | None = typer.Option(None, "--skills", help="Required skills, e.g. 'hvac:2;electrical:1'."),
    custom: str | None = typer.Option(
        None, "--custom-fields", help="The company's own fields, e.g. 'po_number=4500123;segment=retail'."
    ),
    parts: str | None = typer.Option(None, "--parts", help="Parts the visit needs, e.g. 'FLT-01:2' ('' for none)."),
    day: str | None = typer.Option(None, "--date", help=f"Day for bare HH:MM times ({DATE_HELP}; default today)."),
    expected_version: int | None = typer.Option(
        None, "--expected-version", help="Change it only if still at this version (exit 3 if someone changed it)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Change a job's window, duration, priority, summary, description, SLA or skills; exit 3 on a conflict."""
    database = db()
    tz = job_zone(database, ref)
    when = parse_day(day, tz)
    moments = {
        "window_start": (window_start, "--window-start"),
        "window_end": (window_end, "--window-end"),
        "sla_due": (sla_due, "--sla-due"),
    }
    changes: dict[str, object] = {
        name: parse_moment(value, when, tz, option) for name, (value, option) in moments.items() if value is not None
    }
    plain = {"duration_minutes": duration, "priority": priority, "summary": summary, "description": description}
    changes |= {name: value for name, value in plain.items() if value is not None}
    if skills is not None:
        changes["skills"] = parse_skills(skills)
    if custom is not None:
        changes["custom_fields"] = _custom(custom)
    if parts is not None:
        changes["parts_needed"] = _parts(parts)
    if not changes:
        raise fail("name something to change: --window-start, --window-end, --duration, --priority, --summary, ...")
    job = update_job(database, actor(), ref, changes, expected_version)
    warnings = schedule_warnings(job, now(tz))
    if as_json:
        print_json({"ref": job.ref, "version": job.version, "changed": sorted(changes), "warnings": warnings})
    else:
        out.print(f"{job.ref}: changed {', '.join(sorted(changes))}")
    _warn(warnings)


def _part(text: str) -> PartInput:
    from data.services.completion import PartInput

    sku, _, quantity = text.partition(":")
    try:
        return PartInput(sku.strip(), int(quantity or "1"))
    except ValueError:
        raise InvalidInput(f"'{text}' is not SKU:quantity", record="option", field="--part") from None


def _expense(text: str) -> ExpenseInput:
    from data.services.completion import ExpenseInput

    parts = [p.strip() for p in text.split(";")]
    try:
        if len(parts) != 3:
            raise InvalidOperation
        return ExpenseInput(parts[0], parts[1], Decimal(parts[2]))
    except InvalidOperation:
        raise InvalidInput(f"'{text}' is not 'kind;description;amount'", record="option", field="--expense") from None


@jobs_app.command("complete")
@handles_errors
def complete_command(
    ref: str = typer.Argument(..., help="Job ref."),
    start: str = typer.Option(..., "--start", help="When work began: HH:MM on --date or ISO 8601."),
    end: str = typer.Option(..., "--end", help="When work ended."),
    labour: int = typer.Option(..., "--labour", help="Minutes of labour to bill."),
    travel: int = typer.Option(0, "--travel", help="Minutes of travel."),
    resolution: str = typer.Option("FIXED", "--resolution", help="Resolution code."),
    parts: list[str] = typer.Option([], "--part", help="SKU:quantity taken from the technician's van, repeatable."),
    expenses: list[str] = typer.Option([], "--expense", help="'kind;description;amount', repeatable."),
    notes: str | None = typer.Option(None, "--notes", help="What was done."),
    day: str | None = typer.Option(None, "--date", help=f"Day for bare HH:MM times ({DATE_HELP}; default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Complete a visit from the office with its report: van parts, invoice draft, timesheet, job.completed."""
    from data.services.completion import CompletionInput, complete_from_office  # loads the file store: only here

    database = db()
    tz = job_zone(database, ref)
    when = parse_day(day, tz)
    report = CompletionInput(
        actual_start=parse_moment(start, when, tz, "--start"),
        actual_end=parse_moment(end, when, tz, "--end"),
        labour_minutes=labour,
        travel_minutes=travel,
        resolution_code=resolution,
        parts=[_part(p) for p in parts],
        expenses=[_expense(e) for e in expenses],
        notes=notes,
    )
    done = complete_from_office(database, actor(), ref, report)
    if as_json:
        print_json(
            {"ref": done.job_ref, "status": done.status, "invoice": done.invoice_ref, "total": done.invoice_total}
        )
        return
    out.print(
        f"{done.job_ref} completed; invoice {done.invoice_ref or '-'} {done.invoice_total or ''}", highlight=False
    )


@jobs_app.command("reopen")
@handles_errors
def reopen_command(
    ref: str = typer.Argument(..., help="Job ref."),
    reason: str = typer.Option(..., "--reason", help="Why the completion was a mistake."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Undo a mistaken completion: the invoice is voided (or credited if issued), van parts go back, the job is
    scheduled again; emits job.reopened (and invoice.voided or credit_note.issued)."""
    from data.services.reopen import reopen_job

    done = reopen_job(db(), actor(), ref, reason)
    if as_json:
        print_json(
            {"ref": done.job_ref, "status": done.status, "invoice": done.invoice, "parts_returned": done.parts_returned,
             "follow_up_cancelled": done.follow_up_cancelled}
        )  # fmt: skip
        return
    bill = done.invoice
    said = "" if bill is None else f"; invoice {bill['invoice']} {bill['action']}"
    said += f" by {bill['credit_note']}" if bill and bill["credit_note"] else ""
    out.print(f"{done.job_ref} reopened: {done.status.value}{said}", highlight=False)


@jobs_app.command("assign")
@handles_errors
def assign_command(
    ref: str = typer.Argument(..., help="Job ref."),
    technician: str = typer.Argument(..., help="Technician code."),
    start: str | None = typer.Option(None, "--start", help="HH:MM (on --date, branch zone) or ISO 8601."),
    day: str | None = typer.Option(None, "--date", help=f"Day for a bare HH:MM start ({DATE_HELP}; default today)."),
    pin: bool = typer.Option(False, "--pin", help="Pin it: re-planning will not move it."),
    force: bool = typer.Option(False, "--force", help="Pin it even where it overlaps another pin (exit 2 otherwise)."),
    expected_version: int | None = typer.Option(
        None,
        "--expected-version",
        help="Move an assigned job only if it is still at this version (exit 3 if someone changed it since).",
    ),
    reassign: bool = typer.Option(
        False,
        "--reassign",
        help="Move an assigned job whoever assigned it (without it or --expected-version: exit 3).",
    ),
    parts_override: str | None = typer.Option(
        None, "--parts-override", help="Assign it although the van lacks its parts and they cannot be had: why."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Assign (or move) a job to a technician; exit 2 if they cannot take it, 3 on a conflicting change.

    A job already assigned moves only with --expected-version N (the version you saw) or --reassign. A job whose
    parts the van lacks asks the stock system; if they cannot be had (or it does not answer), --parts-override."""
    database = db()
    who = actor()
    from integrations.checks import parts_for_assignment

    parts_note = _decided(
        parts_for_assignment(database, _answerer(), ref, technician), parts_override, "--parts-override"
    )
    tz = job_zone(database, ref)
    moment = parse_moment(start, parse_day(day, tz), tz, "--start") if start else None
    try:
        result = assign_job(
            database,
            who,
            ref,
            technician,
            moment,
            pinned=True if pin else None,
            expected_version=expected_version,
            force=force,
            reassign=reassign,
        )
    except AlreadyAssigned as e:
        raise fail(f"{e.holder}; to move it pass --expected-version {e.version} or --reassign", e.exit_code) from None
    job = result.job
    if parts_note:
        add_note(database, who, job.ref, parts_note)
    if as_json:
        print_json(
            {
                "ref": job.ref,
                "technician": technician,
                "planned_start": job.planned_start,
                "planned_end": job.planned_end,
                "pinned": job.pinned,
                "version": job.version,
                "warnings": result.warnings,
            }
        )
        return
    out.print(f"{job.ref} -> {technician} {_hhmm(job.planned_start, tz)}-{_hhmm(job.planned_end, tz)}")
    for warning in result.warnings:
        err.print(labelled("warning", str(warning), "yellow"))


@jobs_app.command("unassign")
@handles_errors
def unassign_command(
    ref: str = typer.Argument(...),
    expected_version: int | None = typer.Option(None, "--expected-version"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Take a job off its technician (back to new)."""
    job = unassign_job(db(), actor(), ref, expected_version)
    if as_json:
        print_json({"ref": job.ref, "status": job.status.value, "technician": None, "version": job.version})
        return
    out.print(f"{job.ref} unassigned")


@jobs_app.command("status")
@handles_errors
def status_command(
    ref: str = typer.Argument(...),
    status: JobStatus = typer.Argument(..., help="new, scheduled, dispatched, en_route, on_site, ..."),
    reason: str | None = typer.Option(None, "--reason"),
    expected_version: int | None = typer.Option(None, "--expected-version"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Move a job through its state machine (illegal moves exit 2 and list the allowed ones)."""
    job = change_status(db(), actor(), ref, status, reason=reason, expected_version=expected_version)
    if as_json:
        print_json({"ref": job.ref, "status": job.status.value, "version": job.version})
        return
    out.print(f"{job.ref} is {job.status.value}")


@jobs_app.command("depend")
@handles_errors
def depend_command(
    ref: str = typer.Argument(..., help="The job that must wait (B)."),
    after: str | None = typer.Option(None, "--after", help="The job it waits for (A)."),
    gap: int = typer.Option(0, "--gap", help="Minutes between A's end and B's start."),
    clear: bool = typer.Option(False, "--clear", help="Remove the dependency."),
    expected_version: int | None = typer.Option(None, "--expected-version"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """B starts at least --gap minutes after A ends (same or another technician); the planner plans both or
    neither."""
    if clear == (after is not None):
        raise InvalidInput("give --after JOB or --clear", record=f"job {ref}", field="--after")
    job = set_dependency(db(), actor(), ref, after, gap, expected_version)
    if as_json:
        print_json(
            {"ref": job.ref, "after": after.upper() if after else None, "gap_minutes": gap, "version": job.version}
        )
        return
    if after is None:
        out.print(f"{job.ref} no longer waits for another job")
    else:
        out.print(f"{job.ref} starts at least {gap} min after {after.upper()} ends")


@jobs_app.command("crew")
@handles_errors
def crew_command(
    ref: str = typer.Argument(...),
    size: int = typer.Option(..., "--size", help="Technicians who start the visit together (1 = no crew)."),
    expected_version: int | None = typer.Option(None, "--expected-version"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """The visit needs SIZE technicians starting together, holding the job's skills between them."""
    job = set_crew_size(db(), actor(), ref, size, expected_version)
    if as_json:
        print_json({"ref": job.ref, "crew_size": job.crew_size, "version": job.version})
        return
    out.print(f"{job.ref} needs a crew of {job.crew_size}" if job.crew_size > 1 else f"{job.ref} needs one technician")


@jobs_app.command("visits")
@handles_errors
def visits_command(
    ref: str = typer.Argument(...),
    days: int = typer.Option(..., "--days", help="Consecutive days the work takes (2-10)."),
    expected_version: int | None = typer.Option(None, "--expected-version"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Spread a job over consecutive days: one visit a day, the same technician (planning day 1 pins the rest)."""
    visits = split_into_visits(db(), actor(), ref, days, expected_version)
    if as_json:
        print_json({"ref": visits[0].ref, "days": days, "visits": [v.ref for v in visits]})
        return
    out.print(f"{visits[0].ref} takes {days} days: visits {', '.join(v.ref for v in visits)}")


@jobs_app.command("note")
@handles_errors
def note_command(
    ref: str = typer.Argument(...),
    text: str = typer.Argument(..., help="The note."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Add a dispatcher note to a job."""
    note = add_note(db(), actor(), ref, text)
    if as_json:
        print_json({"ref": ref, "note_id": note.id, "body": note.body, "created_at": note.created_at})
        return
    out.print(f"note {note.id} added to {ref}")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
