"""Xero Payroll UK: an approved day's hours become a timesheet, and leave comes back as absences.

On `timesheet.approved` (a dispatcher approved the week; `events = ["timesheet.closed"]` publishes each day
as it closes instead) one Timesheet (camelCase, ISO dates) is posted for the technician's employee,
with one line per kind of time: regular work, travel and each overtime kind, each with the earnings
rate the `earnings_rates` lookup gives (a `kind:skill` key wins over the plain `kind`). The
`Idempotency-Key` header makes a repeat return the first timesheet; with `approve = true` the same
delivery then approves it (its own key), so a crash between the two repeats both harmlessly.
`pull` reads each linked employee's leave and records it with `mark_absent(source="xero",
external_id=leaveID)`: a leave already recorded is skipped, so a re-pull changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select

from data.actor import Actor
from data.availability import local_day_bounds
from data.db import Database
from data.errors import DispatchError
from data.feed import EventRecord
from data.models.customers import ExternalRef
from data.models.org import Branch, Role
from data.models.workforce import Absence, AbsenceKind, Technician
from data.services.technicians import mark_absent
from data.services.timesheets import decimal_hours
from integrations.connector import MappingContext, OutboundRequest, Outcome, PullResult, SendResult
from integrations.connectors.responses import body_text, guarded, json_body, malformed, send_request
from integrations.connectors.sources import timesheet_source
from integrations.connectors.xero import TOKEN_URL, XeroApp, xero_time, xero_verdict
from integrations.mapping import ConfigError, MappingError, apply_mapping

ABSENCE_SOURCE = "xero"
DEFAULTS: dict[str, Any] = {
    "base_url": "https://api.xero.com/payroll.xro/2.0",
    "token_url": TOKEN_URL,
    "approve": False,
}
DEFAULT_EVENTS = ("timesheet.approved",)
PUBLISHED = frozenset({"timesheet.approved", "timesheet.closed"})
OVERTIME_KINDS = ("daily", "weekly", "rest_day", "holiday")


def hours(minutes: int) -> float:
    """Minutes as hours to two decimals (Xero's numberOfUnits is a double)."""
    return float(decimal_hours(minutes))


class XeroPayrollConnector(XeroApp):
    defaults = DEFAULTS
    default_events = DEFAULT_EVENTS

    async def check(self, client: httpx.AsyncClient) -> str:
        """`dispatch integrations check`: the token works and the payroll calendars are readable."""
        response = await client.get(f"{self.base}/PayRunCalendars", headers=self._headers(), auth=self.auth)
        if (verdict := xero_verdict(response, "payroll calendars")) is not None:
            raise RuntimeError(f"Xero Payroll refused: {verdict.message}")
        calendars = (json_body(response) or {}).get("payRunCalendars") or []
        return f"authorised; {len(calendars)} payroll calendar(s)"

    # -- map ---------------------------------------------------------------------------------------

    def map(self, event: EventRecord, context: MappingContext) -> list[OutboundRequest]:
        if event.type not in PUBLISHED:
            return []
        source = timesheet_source(context.db, event)
        source["skills"] = self._skills(context.db, (source.get("technician") or {}).get("id"))
        return self.requests_for(source, f"dispatch-{self.name}-{event.seq}-timesheet")

    def _skills(self, db: Database, technician_id: int | None) -> list[str]:
        if technician_id is None:
            return []
        from data.models.workforce import Skill, TechnicianSkill

        with db.read() as s:
            rows = s.execute(
                select(Skill.code)
                .join(TechnicianSkill, TechnicianSkill.skill_id == Skill.id)
                .where(TechnicianSkill.technician_id == technician_id)
                .order_by(TechnicianSkill.level.desc(), Skill.code)
            )
            return [code for (code,) in rows]

    def _rate(self, kind: str, skills: list[str]) -> str:
        rate = self._lookup("earnings_rates", *(f"{kind}:{s}" for s in skills), kind)
        if rate is None:
            raise MappingError(
                self.config.where("lookups.earnings_rates"),
                f'no earnings rate for {kind!r} (add {kind} = "<earningsRateID>")',
            )
        return rate

    def requests_for(self, source: Mapping[str, Any], key: str) -> list[OutboundRequest]:
        tech = source.get("technician")
        if not tech:
            return []
        code = str(tech["code"])
        employee = (tech.get("refs") or {}).get(self.name) or self._lookup("employees", code)
        if employee is None:
            raise MappingError(
                self.config.where("lookups.employees"),
                f'technician {code} has no Xero employee (add {code} = "<employeeID>" or link the ExternalRef)',
            )
        calendar = self._lookup("payroll_calendars", code) or self.settings.get("payroll_calendar_id")
        if calendar is None:
            raise ConfigError(self.config.where("payroll_calendar_id"), "required setting is missing")
        day = date.fromisoformat(str(source["day"]))
        event = source.get("event") or {}
        payload = event.get("payload") or {}
        skills = list(source.get("skills") or [])
        travel = int(source.get("travel_minutes") or 0)
        regular_total = int(payload.get("regular_minutes", int(source.get("worked_minutes") or 0) + travel))
        travel_paid = min(travel, regular_total)
        minutes_by_kind: dict[str, int] = {"regular": regular_total - travel_paid, "travel": travel_paid}
        overtime = payload.get("overtime") or source.get("overtime_breakdown") or {}
        for kind in OVERTIME_KINDS:
            minutes = int((overtime.get(kind) or {}).get("minutes", 0))
            minutes_by_kind[f"overtime_{kind}"] = minutes
        lines = [
            {"date": day.isoformat(), "earningsRateID": self._rate(kind, skills), "numberOfUnits": hours(minutes)}
            for kind, minutes in minutes_by_kind.items()
            if minutes > 0
        ]
        if not lines:
            return []
        body: dict[str, Any] = {
            "payrollCalendarID": str(calendar),
            "employeeID": str(employee),
            "startDate": day.isoformat(),
            "endDate": day.isoformat(),
            "timesheetLines": lines,
        }
        # `[connectors.NAME.mapping.timesheet]` writes extra or overriding fields of the Timesheet.
        body = apply_mapping(self.config.mapping("timesheet"), dict(source), base=body)
        return [
            OutboundRequest(
                method="POST",
                url=f"{self.base}/Timesheets",
                headers={**self._headers(key), "Content-Type": "application/json"},
                json=body,
                idempotency_key=key,
                description=f"Xero timesheet of {code} for {day.isoformat()}",
            )
        ]

    # -- send --------------------------------------------------------------------------------------

    async def send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        return await guarded(lambda: self._send(request, client))

    async def _send(self, request: OutboundRequest, client: httpx.AsyncClient) -> SendResult:
        response = await send_request(client, request, self.auth)
        if (verdict := xero_verdict(response, request.description)) is not None:
            return verdict
        sheet = (json_body(response) or {}).get("timesheet") or {}
        sheet_id = sheet.get("timesheetID")
        if not sheet_id:
            return malformed(response, "Xero timesheet create")
        if self.settings.get("approve") and sheet.get("status") != "Approved":
            approve = await client.post(
                f"{self.base}/Timesheets/{quote(str(sheet_id), safe='')}/Approve",
                headers=self._headers(f"{request.idempotency_key or sheet_id}-approve"),
                auth=self.auth,
            )
            if (verdict := xero_verdict(approve, f"approve timesheet {sheet_id}")) is not None:
                return verdict
        return SendResult(
            Outcome.DELIVERED,
            response.status_code,
            body_text(response),
            external_id=str(sheet_id),
            message=request.description,
        )

    # -- pull --------------------------------------------------------------------------------------

    def _employees(self, db: Database) -> list[tuple[str, str, str]]:
        """(technician code, branch time zone, employeeID) for every technician linked to an employee."""
        lookup = {str(k): str(v) for k, v in self.config.lookups.get("employees", {}).items()}
        with db.read() as s:
            rows = [
                (int(tid), str(code), str(tz))
                for tid, code, tz in s.execute(select(Technician.id, Technician.code, Branch.timezone).join(Branch))
            ]
            refs = {
                int(entity_id): str(external_id)
                for entity_id, external_id in s.execute(
                    select(ExternalRef.entity_id, ExternalRef.external_id).where(
                        ExternalRef.entity == "technician", ExternalRef.system == self.name
                    )
                )
            }
            return [
                (code, tz, refs.get(tid) or lookup[code]) for tid, code, tz in rows if tid in refs or code in lookup
            ]

    def _kind(self, leave_type_id: str) -> AbsenceKind:
        value = self._lookup("leave_types", leave_type_id) or "leave"
        try:
            return AbsenceKind(value)
        except ValueError:
            raise MappingError(
                self.config.where("lookups.leave_types"),
                f"{leave_type_id} maps to {value!r}; use one of {', '.join(k.value for k in AbsenceKind)}",
            ) from None

    async def pull(self, db: Database, since: datetime | None, client: httpx.AsyncClient) -> PullResult:
        actor = Actor(login=f"sync:{self.name}", role=Role.ADMIN, source=f"sync:{self.name}")
        result = PullResult(cursor=since.isoformat() if since else None)
        newest = since
        for code, tz, employee in self._employees(db):
            response = await client.get(
                f"{self.base}/Employees/{quote(employee, safe='')}/Leave", headers=self._headers(), auth=self.auth
            )
            if (verdict := xero_verdict(response, f"leave of {code}")) is not None:
                result.errors.append(verdict.message)
                continue
            for leave in (json_body(response) or {}).get("leave") or []:
                leave_id = str(leave.get("leaveID") or "")
                updated = xero_time(leave.get("updatedDateUTC"))
                if updated is not None and (newest is None or updated > newest):
                    newest = updated
                if not leave_id or self._known(db, leave_id):
                    result.skipped += 1
                    continue
                try:
                    first = date.fromisoformat(str(leave["startDate"])[:10])
                    last = date.fromisoformat(str(leave["endDate"])[:10])
                    starts_at, _ = local_day_bounds(first, tz)
                    _, ends_at = local_day_bounds(last, tz)
                    mark_absent(
                        db,
                        actor,
                        code,
                        self._kind(str(leave.get("leaveTypeID"))),
                        starts_at,
                        ends_at,
                        str(leave.get("description") or "")[:500] or None,
                        source=ABSENCE_SOURCE,
                        external_id=leave_id,
                    )
                    result.created += 1
                except (DispatchError, KeyError, ValueError) as err:
                    result.errors.append(f"leave {leave_id} of {code}: {err}")
        if newest is not None:
            result.cursor = newest.isoformat()
        return result

    @staticmethod
    def _known(db: Database, leave_id: str) -> bool:
        with db.read() as s:
            found = s.scalar(
                select(Absence.id).where(Absence.source == ABSENCE_SOURCE, Absence.external_id == leave_id)
            )
            return found is not None
