"""Every kind of master-data record a company keeps, declared once: fields, parsers, rules across fields.

`records.py` runs them; the CLI builds its `add|edit|list|show|archive` commands from the same declarations, so
a field added here is an option, a JSON key and a validated input everywhere at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.custom_fields import merge_custom_fields, parse_assignments, require_custom_fields
from data.errors import InvalidInput
from data.models.customers import Asset, Contact, Contract, Customer, PriceList, Site
from data.models.field import MaintenancePlan, OvertimeRules
from data.models.jobs import JobType
from data.models.org import Branch
from data.models.stock import Part, StockLevel, StockLocation, StockLocationKind
from data.models.workforce import ShiftPattern, Skill, Technician, TechnicianSkill
from data.services import record_parsers as p
from data.services.jobs import skills_by_code
from data.services.maintenance import check_plan_rules
from data.services.records import FieldSpec, RecordKind
from data.services.stock import ensure_van
from data.transfer.csv_formats import WEEKDAYS, WeeklyShift, format_shifts, format_skills
from data.uow import UnitOfWork

F = FieldSpec


def reference(name: str, help: str, model: type[Any], key: str = "code", *, required: bool = False) -> FieldSpec:
    """A field naming another record by its code (stored as `<name>_id`, shown as the code)."""
    label = name.replace("_", " ")
    return FieldSpec(name, help, p.reference(model, key, label), required, f"{name}_id", p.key_of(model, key))


ZERO = Decimal("0")


def overtime_rule(name: str, attribute: str, help: str, parse: p.Parser) -> FieldSpec:
    """A branch's overtime rule (its `overtime_rules` row, made on first change; the defaults until then)."""

    def current(session: Session, branch: Branch) -> OvertimeRules | None:
        return session.scalar(select(OvertimeRules).where(OvertimeRules.branch_id == branch.id))

    def apply(session: Session, branch: Branch, value: Any) -> bool:
        rules = current(session, branch)
        if rules is None:
            rules = OvertimeRules(branch_id=branch.id)
            session.add(rules)
            session.flush()
        wanted = _rule_default(attribute) if value is None else value
        if getattr(rules, attribute) == wanted:
            return False
        setattr(rules, attribute, wanted)
        return True

    def read(session: Session, branch: Branch) -> Any:
        rules = current(session, branch)
        return getattr(rules, attribute) if rules is not None else _rule_default(attribute)

    return FieldSpec(name, help, parse, apply=apply, read=read)


def _rule_default(attribute: str) -> Any:
    default = OvertimeRules.__table__.c[attribute].default
    if default is None:
        return None
    return [] if default.is_callable else default.arg


BRANCH = RecordKind(
    "branch",
    "branches",
    Branch,
    "code",
    (
        F("name", "Branch name.", p.text(120), required=True),
        F("timezone", "IANA time zone, e.g. Europe/Helsinki.", p.timezone, required=True),
        F("depot_lat", "Depot latitude (WGS84).", p.degrees(90), required=True),
        F("depot_lon", "Depot longitude (WGS84).", p.degrees(180), required=True),
        F("tax_rate", "Sales tax as a fraction, e.g. 0.255.", p.decimal(ZERO, Decimal("1"))),
        F("currency", "3-letter currency code.", p.currency),
        F("service_area", "GeoJSON Polygon or [[lon, lat], ...] of the area served.", p.polygon),
        overtime_rule(
            "overtime_daily_after",
            "daily_threshold_minutes",
            "Overtime after this many minutes a day.",
            p.integer(0, 24 * 60),
        ),
        overtime_rule(
            "overtime_weekly_after",
            "weekly_threshold_minutes",
            "Overtime after this many minutes a week.",
            p.integer(0, 7 * 24 * 60),
        ),
        overtime_rule(
            "overtime_daily_rate",
            "daily_multiplier",
            "Pay multiplier for daily overtime, e.g. 1.5.",
            p.decimal(Decimal("1"), Decimal("5")),
        ),
        overtime_rule(
            "overtime_weekly_rate",
            "weekly_multiplier",
            "Pay multiplier for weekly overtime.",
            p.decimal(Decimal("1"), Decimal("5")),
        ),
        overtime_rule(
            "rest_day_rate",
            "rest_day_multiplier",
            "Pay multiplier on a rest day.",
            p.decimal(Decimal("1"), Decimal("5")),
        ),
        overtime_rule(
            "holiday_rate",
            "holiday_multiplier",
            "Pay multiplier on a public holiday.",
            p.decimal(Decimal("1"), Decimal("5")),
        ),
        overtime_rule(
            "holiday_country",
            "holiday_country",
            "Public holiday calendar: ISO country code, e.g. FI, GB or DE-BY.",
            p.holiday_country,
        ),
        overtime_rule(
            "holiday_dates",
            "holiday_dates",
            "The company's own holidays: YYYY-MM-DD,YYYY-MM-DD,...",
            p.iso_dates,
        ),
    ),
    columns=("name", "timezone", "currency"),
)

SKILL = RecordKind("skill", "skills", Skill, "code", (F("name", "What the skill is.", p.text(120), required=True),))


def _set_technician_skills(session: Session, tech: Technician, levels: dict[str, int] | None) -> bool:
    levels = levels or {}
    if tech.skill_levels() == levels:
        return False
    found = skills_by_code(session, list(levels), f"technician {tech.code}")
    for code, skill in found.items():
        if skill.archived_at is not None:
            raise InvalidInput(f"skill {code} is archived", record=f"technician {tech.code}", field="skills")
    tech.skills = [TechnicianSkill(skill=found[c], level=lvl) for c, lvl in levels.items()]
    return True


def _set_technician_shifts(session: Session, tech: Technician, week: list[WeeklyShift] | None) -> bool:
    wanted = sorted((s.weekday, s.start, s.end, s.break_minutes) for s in week or [])
    if sorted((s.weekday, s.start, s.end, s.break_minutes) for s in tech.shifts) == wanted:
        return False
    tech.shifts.clear()
    session.flush()
    tech.shifts.extend(ShiftPattern(weekday=d, start=a, end=b, break_minutes=brk) for d, a, b, brk in wanted)
    return True


def _technician_week(_: Session, tech: Technician) -> str:
    return format_shifts([WeeklyShift(s.weekday, s.start, s.end, s.break_minutes) for s in tech.shifts])


def _technician_created(uow: UnitOfWork, tech: Technician) -> None:
    ensure_van(uow.session, tech.id, tech.code, tech.branch_id)


def _technician_archived(_: UnitOfWork, tech: Technician) -> None:
    tech.active = False  # the planner and the pickers leave out an inactive technician


def _van_of(session: Session, tech: Technician) -> str | None:
    return session.scalar(select(StockLocation.code).where(StockLocation.technician_id == tech.id))


TECHNICIAN = RecordKind(
    "technician",
    "technicians",
    Technician,
    "code",
    (
        F("name", "Full name.", p.text(120), required=True),
        reference("branch", "Branch code.", Branch, required=True),
        F("home_lat", "Home base latitude (WGS84).", p.degrees(90), required=True),
        F("home_lon", "Home base longitude (WGS84).", p.degrees(180), required=True),
        F(
            "skills",
            "Skills with levels 1-5, e.g. 'hvac:3;gas:1'.",
            p.skill_levels,
            apply=_set_technician_skills,
            read=lambda _, t: format_skills(t.skill_levels()),
        ),
        F(
            "shifts",
            "Weekly pattern, e.g. 'mon-fri 08:00-16:00; sat 08:00-12:00 break 0'.",
            p.weekly_shifts,
            apply=_set_technician_shifts,
            read=_technician_week,
        ),
        F("email", "Email address.", p.text(200)),
        F("phone", "Phone number.", p.text(40)),
        F("hourly_cost", "Cost per hour (payroll and planning cost).", p.decimal(ZERO)),
        F("max_daily_minutes", "Most minutes of work planned in a day.", p.integer(1, 24 * 60)),
        F("overtime_allowance_minutes", "Minutes the planner may run past the shift.", p.integer(0, 12 * 60)),
        F("active", "yes or no: an inactive technician is not planned.", p.boolean),
        F("van", "The van stock location (made with the technician).", p.text(40), read=_van_of, readonly=True),
    ),
    created=_technician_created,
    archived=_technician_archived,
    columns=("name", "branch", "skills", "shifts"),
)


def custom_fields(entity: str, label: str) -> FieldSpec:
    """The company's own fields (declared in dispatch.toml), given as 'name=value;other=value'."""

    def parse(_: Session, text: str) -> dict[str, str]:
        return parse_assignments(text)

    def apply(_: Session, row: Any, given: dict[str, str] | None) -> bool:
        merged = merge_custom_fields(entity, row.custom_fields or {}, given or {}, f"{label} {row.code}")
        if merged == (row.custom_fields or {}):
            return False
        row.custom_fields = merged
        return True

    return FieldSpec(
        "custom_fields",
        "The company's own fields, e.g. 'segment=retail;po_required=yes' (an empty value clears one).",
        parse,
        apply=apply,
        read=lambda _, row: dict(row.custom_fields or {}),
    )


def _required_custom_fields(entity: str, label: str) -> Any:
    def check(_: Session, row: Any, record: str) -> None:
        require_custom_fields(entity, row.custom_fields or {}, record)

    return check


def _primary_contact(customer: Customer) -> Contact | None:
    return next((c for c in customer.contacts if c.primary), None)


def _contact_setter(attribute: str) -> Any:
    def apply(_: Session, customer: Customer, value: str | None) -> bool:
        contact = _primary_contact(customer)
        if contact is None:
            if value is None:
                return False
            contact = Contact(name=customer.name, primary=True)
            customer.contacts.append(contact)
        if getattr(contact, attribute) == value:
            return False
        if attribute == "name" and value is None:
            raise InvalidInput("a contact needs a name", record=f"customer {customer.code}", field="contact_name")
        setattr(contact, attribute, value)
        return True

    return apply


def _contact_getter(attribute: str) -> Any:
    def read(_: Session, customer: Customer) -> Any:
        contact = _primary_contact(customer)
        return getattr(contact, attribute) if contact is not None else None

    return read


CUSTOMER = RecordKind(
    "customer",
    "customers",
    Customer,
    "code",
    (
        F("name", "Customer name.", p.text(200), required=True),
        F("email", "Billing email.", p.text(200)),
        F("phone", "Main phone.", p.text(40)),
        F("payment_terms_days", "Days to pay an invoice.", p.integer(0, 365)),
        F("notes", "Free text the office should know.", p.text(10_000)),
        F(
            "contact_name",
            "Primary contact's name.",
            p.text(200),
            apply=_contact_setter("name"),
            read=_contact_getter("name"),
        ),
        F(
            "contact_email",
            "Primary contact's email.",
            p.text(200),
            apply=_contact_setter("email"),
            read=_contact_getter("email"),
        ),
        custom_fields("customers", "customer"),
        F(
            "contact_phone",
            "Primary contact's phone.",
            p.text(40),
            apply=_contact_setter("phone"),
            read=_contact_getter("phone"),
        ),
    ),
    check=_required_custom_fields("customers", "customer"),
    columns=("name", "phone", "contact_name"),
)


def _site_rules(session: Session, site: Site, record: str) -> None:
    require_custom_fields("sites", site.custom_fields or {}, record)
    customer = session.get(Customer, site.customer_id)
    if customer is not None and customer.archived_at is not None:
        raise InvalidInput(f"customer {customer.code} is archived", record=record, field="customer")


SITE = RecordKind(
    "site",
    "sites",
    Site,
    "code",
    (
        reference("customer", "Customer code.", Customer, required=True),
        reference("branch", "Branch that serves it.", Branch, required=True),
        F("name", "Site name.", p.text(200), required=True),
        F("address", "Street address.", p.text(300), required=True),
        F("lat", "Latitude (WGS84).", p.degrees(90), required=True),
        F("lon", "Longitude (WGS84).", p.degrees(180), required=True),
        F("postcode", "Postcode.", p.text(20)),
        F("city", "City.", p.text(100)),
        F("access_notes", "Keys, codes, parking: what a technician must know.", p.text(10_000)),
        custom_fields("sites", "site"),
    ),
    check=_site_rules,
    columns=("customer", "branch", "name", "address"),
)


def _asset_rules(_: Session, asset: Asset, record: str) -> None:
    if asset.install_date and asset.warranty_end and asset.warranty_end < asset.install_date:
        raise InvalidInput("is before install_date", record=record, field="warranty_end")


ASSET = RecordKind(
    "asset",
    "assets",
    Asset,
    "serial",
    (
        reference("site", "Site code.", Site, required=True),
        F("kind", "boiler, heat pump, elevator, ...", p.text(60), required=True),
        F("model", "Make and model.", p.text(120), required=True),
        F("install_date", "YYYY-MM-DD.", p.iso_date),
        F("warranty_end", "Last day under warranty, YYYY-MM-DD.", p.iso_date),
    ),
    check=_asset_rules,
    columns=("site", "kind", "model", "warranty_end"),
)


def _contract_rules(session: Session, contract: Contract, record: str) -> None:
    if contract.valid_to < contract.valid_from:
        raise InvalidInput("is before valid_from", record=record, field="valid_to")
    if contract.coverage_end <= contract.coverage_start:
        raise InvalidInput("must be after coverage_start", record=record, field="coverage_end")
    skus = set(contract.covered_part_skus or [])
    known = set(session.scalars(select(Part.sku).where(Part.sku.in_(skus)))) if skus else set()
    for sku in sorted(skus - known):
        raise InvalidInput(f"unknown part '{sku}'", record=record, field="covered_parts")


def _show_weekdays(_: Session, days: list[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


CONTRACT = RecordKind(
    "contract",
    "contracts",
    Contract,
    "code",
    (
        reference("customer", "Customer code.", Customer, required=True),
        F("name", "Contract name.", p.text(200), required=True),
        F("sla_response_hours", "Hours to respond to a covered job.", p.integer(1, 24 * 90), required=True),
        F("valid_from", "First day, YYYY-MM-DD.", p.iso_date, required=True),
        F("valid_to", "Last day, YYYY-MM-DD.", p.iso_date, required=True),
        F("covered_job_types", "Job types covered, e.g. 'repair,maintenance'.", p.choices(JobType)),
        F(
            "covered_parts",
            "Part SKUs covered, e.g. 'FLT-1,VLV-2'.",
            lambda _, v: sorted({s.strip() for s in v.split(",") if s.strip()}),
            column="covered_part_skus",
        ),
        F("coverage_weekdays", "Covered weekdays, e.g. 'mon-fri'.", p.weekdays, show=_show_weekdays),
        F("coverage_start", "Coverage starts, HH:MM local time.", p.clock),
        F("coverage_end", "Coverage ends, HH:MM local time.", p.clock),
        reference("price_list", "Price list code.", PriceList),
    ),
    check=_contract_rules,
    columns=("customer", "name", "sla_response_hours", "valid_to"),
)


PRICE_LIST = RecordKind(
    "price_list",
    "price-lists",
    PriceList,
    "code",
    (
        F("name", "Price list name.", p.text(120), required=True),
        F("labour_rate", "Labour per hour.", p.decimal(ZERO), required=True),
        F("currency", "3-letter currency code.", p.currency),
        F("callout_fee", "Fixed fee per visit.", p.decimal(ZERO)),
        F("labour_increment_minutes", "Labour is billed in blocks of this many minutes.", p.integer(1, 240)),
        F("labour_minimum_minutes", "Least labour billed per visit.", p.integer(0, 24 * 60)),
        F(
            "part_prices",
            "Prices that differ from list price, e.g. 'FLT-1=12.50;VLV-2=40'.",
            p.amounts(lambda v: str(Decimal(v)), "12.50"),
        ),
    ),
    columns=("name", "labour_rate", "currency"),
)

PART = RecordKind(
    "part",
    "parts",
    Part,
    "sku",
    (
        F("name", "Part name.", p.text(200), required=True),
        F("unit_cost", "What a unit costs us.", p.decimal(ZERO), required=True),
        F("list_price", "What a unit costs the customer.", p.decimal(ZERO), required=True),
        F("serial_tracked", "yes or no: each unit has a serial.", p.boolean),
        F("supplier", "Supplier name.", p.text(120)),
    ),
    columns=("name", "unit_cost", "list_price"),
)


def level_field(name: str, column: str, help: str) -> FieldSpec:
    """A number per part at a location (`levels`: the quantities counted; `minimums`: what it should hold).

    Setting one names parts; parts not named keep theirs."""

    def apply(session: Session, location: StockLocation, wanted: dict[str, int] | None) -> bool:
        changed = False
        for sku, value in (wanted or {}).items():
            part = session.scalar(select(Part).where(Part.sku == sku))
            if part is None:
                raise InvalidInput(f"unknown part '{sku}'", record=f"stock location {location.code}", field=name)
            if value < 0:
                raise InvalidInput(f"{sku}: {value} is below 0", record=f"stock location {location.code}", field=name)
            row = session.get(StockLevel, (location.id, part.id))
            if row is None:
                row = StockLevel(location_id=location.id, part_id=part.id, quantity=0, min_quantity=0)
                session.add(row)
                changed = True
            if getattr(row, column) != value:
                setattr(row, column, value)
                changed = True
        return changed

    def read(session: Session, location: StockLocation) -> dict[str, int]:
        rows = session.execute(
            select(Part.sku, getattr(StockLevel, column))
            .join(Part, Part.id == StockLevel.part_id)
            .where(StockLevel.location_id == location.id)
            .order_by(Part.sku)
        )
        return {sku: value for sku, value in rows if column == "quantity" or value}

    return FieldSpec(name, help, p.amounts(int, "12"), apply=apply, read=read)


def _stock_rules(session: Session, location: StockLocation, record: str) -> None:
    if location.kind is StockLocationKind.VAN and location.technician_id is None:
        raise InvalidInput("a van belongs to a technician", record=record, field="technician")
    if location.kind is StockLocationKind.WAREHOUSE and location.technician_id is not None:
        raise InvalidInput("a warehouse belongs to no technician", record=record, field="technician")


STOCK_LOCATION = RecordKind(
    "stock_location",
    "stock",
    StockLocation,
    "code",
    (
        F("kind", "warehouse or van.", p.choice(StockLocationKind), required=True),
        reference("branch", "Branch code.", Branch, required=True),
        reference("technician", "The van's technician.", Technician),
        level_field("levels", "quantity", "Quantities counted, e.g. 'FLT-1=12;VLV-2=3'."),
        level_field("minimums", "min_quantity", "What it should hold: below it a part is low, e.g. 'FLT-1=4'."),
    ),
    check=_stock_rules,
    columns=("kind", "branch", "technician"),
)


def _plan_rules(session: Session, plan: MaintenancePlan, record: str) -> None:
    check_plan_rules(plan.interval_months, plan.season_months, plan.duration_minutes, record)
    if plan.asset_id is None and plan.contract_id is None:
        raise InvalidInput("a plan belongs to an asset or a contract", record=record, field="asset")
    site = session.get(Site, plan.site_id)
    asset = session.get(Asset, plan.asset_id) if plan.asset_id is not None else None
    if site is not None and asset is not None and asset.site_id != site.id:
        raise InvalidInput(f"asset {asset.serial} is not at site {site.code}", record=record, field="asset")
    contract = session.get(Contract, plan.contract_id) if plan.contract_id is not None else None
    if site is not None and contract is not None and contract.customer_id != site.customer_id:
        raise InvalidInput(f"contract {contract.code} is not this site's customer's", record=record, field="contract")
    skills_by_code(session, list(plan.skills or {}), record)


PLAN = RecordKind(
    "maintenance_plan",
    "plans",
    MaintenancePlan,
    "code",
    (
        reference("site", "Site code.", Site, required=True),
        F("summary", "What the visit does.", p.text(300), required=True),
        F("interval_months", "Months between visits, 1-120.", p.integer(1, 120), required=True),
        F("duration_minutes", "Minutes on site.", p.integer(1, 24 * 60), required=True),
        F("next_due", "Next due date, YYYY-MM-DD.", p.iso_date, required=True),
        reference("asset", "Serial of the asset maintained.", Asset, "serial"),
        reference("contract", "Contract code it is part of.", Contract),
        F("job_type", "Type of the jobs it makes.", lambda s, v: str(p.choice(JobType)(s, v))),
        F("season_months", "Months a visit may fall in, e.g. '4,5,9' (default any).", p.months),
        F("skills", "Skills the visit needs, e.g. 'hvac:2'.", p.skill_levels),
        F("active", "yes or no: a paused plan makes no jobs.", p.boolean),
    ),
    check=_plan_rules,
    columns=("site", "summary", "interval_months", "next_due"),
)

KINDS: dict[str, RecordKind] = {
    kind.plural: kind
    for kind in (BRANCH, SKILL, TECHNICIAN, CUSTOMER, SITE, ASSET, CONTRACT, PRICE_LIST, PART, STOCK_LOCATION, PLAN)
}
"""By command group name: `dispatch branches ...`, `dispatch price-lists ...`."""
