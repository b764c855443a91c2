"""Parsers from typed text to stored values for master-data fields: each raises ValueError saying what is wrong.

`records.py` turns the ValueError into an `InvalidInput` naming the record and the field, so a parser only says
what is wrong with the text. The list formats are the import files' (`data/transfer/csv_formats.py`): skills
`hvac:3;gas:1`, a week `mon-fri 08:00-16:00; sat 08:00-12:00 break 0`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import public_holidays
from data.errors import InvalidInput
from data.services.jobs import parse_skills
from data.transfer.csv_formats import WEEKDAYS, FieldError, WeeklyShift, shifts

Parser = Callable[[Session, str], Any]
TRUE, FALSE = frozenset({"yes", "true", "1", "on", "y"}), frozenset({"no", "false", "0", "off", "n"})


def text(limit: int) -> Parser:
    def parse(_: Session, value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    def parse(_: Session, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"{number} is not {low}-{high}")
        return number

    return parse


def decimal(low: Decimal, high: Decimal | None = None) -> Parser:
    def parse(_: Session, value: str) -> Decimal:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number") from None
        if not number.is_finite() or number < low or (high is not None and number > high):
            raise ValueError(f"{value} is not {low}-{high}" if high is not None else f"{value} is below {low}")
        return number

    return parse


def degrees(limit: int) -> Parser:
    def parse(_: Session, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a number of degrees") from None
        if math.isnan(number) or not -limit <= number <= limit:
            raise ValueError(f"{value} is outside -{limit}..{limit}")
        return number

    return parse


def boolean(_: Session, value: str) -> bool:
    lowered = value.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"'{value}' is not yes or no")


def iso_date(_: Session, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None


def iso_dates(_: Session, value: str) -> list[str]:
    """'2026-12-24,2026-12-31': dates, sorted, as ISO text."""
    found = {iso_date(_, part.strip()).isoformat() for part in value.replace(";", ",").split(",") if part.strip()}
    return sorted(found)


def holiday_country(_: Session, value: str) -> str:
    return public_holidays.check_country(value)


def clock(_: Session, value: str) -> time:
    try:
        return time.fromisoformat(value.zfill(5))
    except ValueError:
        raise ValueError(f"'{value}' is not a time (HH:MM)") from None


def timezone(_: Session, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. Europe/Helsinki)") from None
    return value


def currency(_: Session, value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise ValueError(f"'{value}' is not a 3-letter currency code (EUR)")
    return value.upper()


def choice(enum: type[StrEnum]) -> Parser:
    def parse(_: Session, value: str) -> StrEnum:
        try:
            return enum(value.lower())
        except ValueError:
            raise ValueError(f"'{value}' is not one of {', '.join(m.value for m in enum)}") from None

    return parse


def choices(enum: type[StrEnum]) -> Parser:
    """'repair,maintenance': a list of an enum's values, sorted, each once."""

    def parse(session: Session, value: str) -> list[str]:
        return sorted({str(choice(enum)(session, part.strip())) for part in value.split(",") if part.strip()})

    return parse


def reference(model: type[Any], key: str, label: str) -> Parser:
    """A code naming another record to its id; an archived record takes no new references."""

    def parse(session: Session, value: str) -> int:
        row = session.scalar(select(model).where(getattr(model, key) == value))
        if row is None:
            known = list(session.scalars(select(getattr(model, key)).order_by(getattr(model, key)).limit(20)))
            raise ValueError(f"unknown {label} '{value}' (known: {', '.join(map(str, known)) or 'none'})")
        if row.archived_at is not None:
            raise ValueError(f"{label} {value} is archived")
        return int(row.id)

    return parse


def key_of(model: type[Any], key: str) -> Callable[[Session, Any], Any]:
    """How a reference is shown: the other record's code, not its id."""

    def show(session: Session, row_id: Any) -> Any:
        return session.scalar(select(getattr(model, key)).where(model.id == row_id))

    return show


def skill_levels(_: Session, value: str) -> dict[str, int]:
    """'hvac:3;gas:1' (known skills are checked where they are set)."""
    try:
        return parse_skills(value)
    except InvalidInput as e:
        raise ValueError(e.message.split(": ", 2)[-1]) from None


def weekly_shifts(_: Session, value: str) -> list[WeeklyShift]:
    try:
        return shifts({"shifts": value}, "shifts")
    except FieldError as e:
        raise ValueError(e.message) from None


def weekdays(_: Session, value: str) -> list[int]:
    """'mon-fri' or 'mon,wed,fri': weekday numbers, Monday = 0."""
    try:
        return [s.weekday for s in shifts({"days": f"{value.replace(' ', '')} 00:00-00:01"}, "days")]
    except FieldError:
        raise ValueError(f"'{value}' is not like 'mon-fri' or 'mon,wed' ({'/'.join(WEEKDAYS)})") from None


def months(_: Session, value: str) -> list[int]:
    """'4,5,9': month numbers, January = 1."""
    found: set[int] = set()
    for part in value.split(","):
        try:
            month = int(part)
        except ValueError:
            raise ValueError(f"'{part.strip()}' is not a month number 1-12") from None
        if not 1 <= month <= 12:
            raise ValueError(f"{month} is not a month number 1-12")
        found.add(month)
    return sorted(found)


def amounts(kind: Callable[[str], Any], what: str) -> Parser:
    """'SKU-1=12.50;SKU-2=3': a value per part SKU."""

    def parse(_: Session, value: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for part in value.replace(",", ";").split(";"):
            if not part.strip():
                continue
            sku, sep, amount = part.partition("=")
            try:
                if not sep or not sku.strip():
                    raise ValueError
                result[sku.strip()] = kind(amount.strip())
            except (ValueError, InvalidOperation):
                raise ValueError(f"'{part.strip()}' is not like SKU={what}") from None
        return dict(sorted(result.items()))

    return parse


def polygon(_: Session, value: str) -> dict[str, object]:
    """A GeoJSON Polygon, or just its ring [[lon, lat], ...]; every point validated."""
    try:
        shape = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError("is not JSON: give a GeoJSON Polygon or [[lon, lat], ...]") from None
    if isinstance(shape, list):
        shape = {"type": "Polygon", "coordinates": [shape]}
    rings = shape.get("coordinates") if isinstance(shape, dict) and shape.get("type") == "Polygon" else None
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list) or len(rings[0]) < 4:
        raise ValueError("is not a GeoJSON Polygon with a ring of at least 4 [lon, lat] points")
    for point in rings[0]:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
            or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)
        ):
            raise ValueError(f"{point!r} is not a [lon, lat] point")
    return {"type": "Polygon", "coordinates": rings}
