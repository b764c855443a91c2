"""The import/export file formats: columns per entity, reading CSV/JSON leniently, and typed field parsing.

CSV rows are numbered as a spreadsheet shows them (the header is row 1, the first record row 2);
JSON records are numbered from 1. Every parse error names the file, the row and the field.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from data.errors import InvalidInput


class Entity(StrEnum):
    TECHNICIANS = "technicians"
    CUSTOMERS = "customers"
    JOBS = "jobs"


TECHNICIAN_COLUMNS = (
    "code",
    "name",
    "branch",
    "email",
    "phone",
    "home_lat",
    "home_lon",
    "skills",
    "shifts",
    "exceptions",
    "hourly_cost",
    "max_daily_minutes",
    "active",
)
CUSTOMER_COLUMNS = (
    "customer_code",
    "customer_name",
    "customer_email",
    "customer_phone",
    "payment_terms_days",
    "customer_notes",
    "site_code",
    "site_name",
    "branch",
    "address",
    "postcode",
    "city",
    "lat",
    "lon",
    "access_notes",
)
JOB_COLUMNS = (
    "ref",
    "type",
    "status",
    "priority",
    "summary",
    "description",
    "site",
    "skills",
    "duration_minutes",
    "window_start",
    "window_end",
    "sla_due",
    "technician",
    "planned_start",
    "pinned",
)
COLUMNS: dict[Entity, tuple[str, ...]] = {
    Entity.TECHNICIANS: TECHNICIAN_COLUMNS,
    Entity.CUSTOMERS: CUSTOMER_COLUMNS,
    Entity.JOBS: JOB_COLUMNS,
}
# Columns a file may leave out (they keep their defaults); every other column must be present.
OPTIONAL: dict[Entity, frozenset[str]] = {
    Entity.TECHNICIANS: frozenset({"email", "phone", "exceptions", "max_daily_minutes", "active", "hourly_cost"}),
    Entity.CUSTOMERS: frozenset(
        {
            "customer_email",
            "customer_phone",
            "payment_terms_days",
            "customer_notes",
            "postcode",
            "access_notes",
            "lat",
            "lon",
        }
    ),
    Entity.JOBS: frozenset(
        {"status", "description", "window_start", "window_end", "sla_due", "technician", "planned_start", "pinned"}
    ),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_BREAK = 30
MAX_CELL_CHARS = 100_000
"""No column takes more (the longest, a job's description, takes 10,000): a longer cell is refused by name."""
CSV_READ_LIMIT = 64 * 1024 * 1024
"""What the CSV reader accepts in one cell, so an oversized cell reaches the named check above instead of
failing the whole file with csv's "field larger than field limit"; beyond it only the row can be named."""
csv.field_size_limit(max(csv.field_size_limit(), CSV_READ_LIMIT))


@dataclass
class SourceRow:
    """One record as read: its number in the file and its raw values by column."""

    number: int
    values: dict[str, Any]


@dataclass
class RowError:
    file: str
    row: int
    field: str | None
    message: str
    kind: str = "row"  # "row" in a CSV file, "record" in a JSON file

    def __str__(self) -> str:
        where = f"{self.file} {self.kind} {self.row}"
        return f"{where}, field {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class FileRejected(InvalidInput):
    """A file that cannot be read at all (not CSV/JSON, missing columns)."""


def read_rows(path: Path, fmt: str, entity: Entity) -> tuple[Iterator[SourceRow], list[str]]:
    """The file's records, read as they are used (a CSV file is streamed), and its own column names.

    Refuses a file that is not UTF-8 or misses a required column before the first record is handed out.
    """
    _check_utf8(path)
    rows: Iterator[SourceRow]
    if fmt == "json":
        listed, columns = _read_json(path.read_text(encoding="utf-8-sig"), path.name)
        rows = iter(listed)
    else:
        rows, columns = _read_csv(path, COLUMNS[entity])
    required = [c for c in COLUMNS[entity] if c not in OPTIONAL[entity]]
    missing = [c for c in required if c not in columns]
    if missing:
        where = "row 1" if fmt != "json" else "records"
        raise FileRejected(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            record=f"{path.name} {where}",
            field=missing[0],
        )
    return rows, columns


def _check_utf8(path: Path, chunk: int = 1 << 20) -> None:
    """One pass over the bytes, a megabyte at a time, naming the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk)
            pending = len(decoder.getstate()[0])  # bytes of a character the last block cut in two
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                at = offset - pending + e.start
                raise FileRejected(f"is not UTF-8 text ({e.reason} at byte {max(at, 0)})", record=path.name) from None
            if not block:
                return
            offset += len(block)


def _dialect(sample: str, expected: Sequence[str]) -> type[csv.Dialect] | csv.Dialect:
    """The delimiter that splits the header into known column names; otherwise whatever csv.Sniffer finds.

    The header test comes first because a value like 'hvac:3;gas:1' can make ';' look as regular as ','.
    """
    header = sample.split("\n", 1)[0]
    best, hits = None, 1
    for delimiter in (",", ";", "\t", "|"):
        found = sum(1 for cell in header.split(delimiter) if cell.strip().strip('"') in expected)
        if found > hits:
            best, hits = delimiter, found
    if best is not None:
        return type("Detected", (csv.excel,), {"delimiter": best})
    try:
        return csv.Sniffer().sniff(sample[:8192], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _read_csv(path: Path, expected: Sequence[str]) -> tuple[Iterator[SourceRow], list[str]]:
    name = path.name
    with path.open(encoding="utf-8-sig", newline="") as fh:  # a BOM from spreadsheet exports is tolerated
        sample = fh.read(65536)
    if not sample.strip():
        raise FileRejected("is empty", record=name)
    dialect = _dialect(sample, expected)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, dialect)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise FileRejected("is empty", record=name) from None
        except csv.Error as e:
            raise FileRejected(f"cannot be read as CSV ({e})", record=f"{name} row 1") from None
    return _csv_records(path, dialect, header), header


def _csv_records(path: Path, dialect: type[csv.Dialect] | csv.Dialect, header: list[str]) -> Iterator[SourceRow]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, dialect)
        next(reader)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise FileRejected(
                    f"cannot be read as CSV ({e}; no cell may hold more than {MAX_CELL_CHARS:,} characters)",
                    record=f"{path.name} row {reader.line_num}",
                ) from None
            if not any(v.strip() for v in values):
                continue
            record: dict[str, Any] = {
                h: (restore_formula(values[i]) if i < len(values) else None) for i, h in enumerate(header)
            }
            if len(values) > len(header):
                record["__extra__"] = values[len(header) :]
            yield SourceRow(reader.line_num, record)


def _read_json(text: str, name: str) -> tuple[list[SourceRow], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise FileRejected(f"is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})", record=name) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise FileRejected("must hold a JSON array of records", record=name)
    rows = []
    columns: list[str] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(i, {"__invalid__": item}))
            continue
        for key in item:
            if key not in columns:
                columns.append(key)
        rows.append(SourceRow(i, dict(item)))
    if not data:
        return [], []
    # Every record must carry the columns the first complete one has; missing keys are read as empty.
    return rows, columns


def write_rows(fmt: str, columns: Sequence[str], records: Iterable[dict[str, Any]]) -> str:
    """CSV (comma, header, UTF-8) or a JSON array; both render the same record dictionaries."""
    records = list(records)
    if fmt == "json":
        return json.dumps([{c: r.get(c) for c in columns} for r in records], indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow([to_cell(r.get(c)) for c in columns])
    return buffer.getvalue()


def to_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return format_skills(value)
    if isinstance(value, str):
        return neutralise_formula(value)
    return str(value)  # numbers: a negative coordinate is a number to a spreadsheet, never a formula


FORMULA_START = re.compile(r"'*[=+\-@\t\r]")  # used with match(): anchored at the start
"""Text a spreadsheet would run as a formula (OWASP "CSV injection"), also behind quotes we added before."""


def neutralise_formula(text: str) -> str:
    """`=HYPERLINK(...)` leaves as `'=HYPERLINK(...)`: a spreadsheet shows it as text instead of running it.

    Text already starting with quotes before such a character gets one more, so `restore_formula` can undo
    exactly what was added and a CSV round trip keeps every value as typed.
    """
    return "'" + text if FORMULA_START.match(text) else text


def restore_formula(cell: str) -> str:
    """The inverse of `neutralise_formula`, for cells read back from CSV."""
    return cell[1:] if cell[:1] == "'" and FORMULA_START.match(cell, 1) else cell


# -- field parsing ----------------------------------------------------------------------------


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_cells(values: dict[str, Any]) -> None:
    """Refuse, by column, what no field may hold: a NUL character (PostgreSQL text cannot store it, and it
    is never typed by a person) or a cell longer than any column takes."""
    for column, value in values.items():
        if isinstance(value, str) and len(value) <= MAX_CELL_CHARS and "\x00" not in value:
            continue  # the common case, without a call
        if column.startswith("__"):
            continue
        problem = _cell_problem(value)
        if problem:
            raise FieldError(column, problem)


def _cell_problem(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return f"contains a NUL character (\\x00) at position {value.index(chr(0)) + 1}"
        if len(value) > MAX_CELL_CHARS:
            return f"holds {len(value):,} characters; no field takes more than {MAX_CELL_CHARS:,}"
        return None
    if isinstance(value, dict):
        return next((p for k, v in value.items() for p in (_cell_problem(k), _cell_problem(v)) if p), None)
    if isinstance(value, list):
        return next((p for v in value if (p := _cell_problem(v))), None)
    return None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(row: dict[str, Any], field: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = row.get(field)
    if blank(value):
        if required:
            raise FieldError(field, "is required")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise FieldError(field, f"{value!r} is not text")
    result = str(value).strip()
    if len(result) > max_len:
        raise FieldError(field, f"is longer than {max_len} characters")
    return result


def code(row: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = text(row, field, required=required, max_len=32)
    if value is not None and not re.fullmatch(r"[A-Za-z0-9._/-]+", value):
        raise FieldError(field, f"'{value}' may hold only letters, digits, '.', '_', '-' and '/'")
    return value


def integer(
    row: dict[str, Any], field: str, low: int, high: int, *, default: int | None = None, what: str | None = None
) -> int:
    value = row.get(field)
    if blank(value):
        if default is None:
            raise FieldError(field, "is required")
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise FieldError(field, f"'{value}' is not a whole number")
    try:
        number = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
    except ValueError:
        raise FieldError(field, f"'{value}' is not {what or f'a whole number {low}-{high}'}") from None
    if not low <= number <= high:
        raise FieldError(field, f"'{value}' is not {what or f'{low}-{high}'}")
    return number


def coordinate(row: dict[str, Any], field: str, limit: float) -> float:
    value = row.get(field)
    if blank(value) or isinstance(value, bool):
        raise FieldError(field, "is required" if blank(value) else f"'{value}' is not a number")
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise FieldError(field, f"'{value}' is not a number") from None
    if number != number or not -limit <= number <= limit:  # NaN fails the first test
        raise FieldError(field, f"'{value}' is outside -{limit:g}..{limit:g}")
    return number


def money(row: dict[str, Any], field: str, *, default: Decimal | None = None) -> Decimal:
    value = row.get(field)
    if blank(value):
        if default is None:
            raise FieldError(field, "is required")
        return default
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(field, f"'{value}' is not an amount (e.g. 38.50)") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("100000"):
        raise FieldError(field, f"'{value}' is not an amount between 0 and 100000")
    return amount.quantize(Decimal("0.01"))


def boolean(row: dict[str, Any], field: str, *, default: bool) -> bool:
    value = row.get(field)
    if blank(value):
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "1", "y"):
        return True
    if lowered in ("false", "no", "0", "n"):
        return False
    raise FieldError(field, f"'{value}' is not true/false")


def moment(row: dict[str, Any], field: str) -> datetime | None:
    value = row.get(field)
    if blank(value):
        return None
    try:
        result = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(field, f"'{value}' is not an ISO 8601 time (2026-11-25T09:00:00+02:00)") from None
    if result.tzinfo is None:
        raise FieldError(field, f"'{value}' needs a UTC offset (e.g. +02:00)")
    return result


def choice(row: dict[str, Any], field: str, allowed: Sequence[str], *, default: str | None = None) -> str:
    value = row.get(field)
    if blank(value):
        if default is None:
            raise FieldError(field, "is required")
        return default
    lowered = str(value).strip().lower()
    if lowered not in allowed:
        raise FieldError(field, f"'{value}' is not one of {', '.join(allowed)}")
    return lowered


def skills(row: dict[str, Any], field: str, known: set[str]) -> dict[str, int]:
    """'hvac:3;gas:1' in CSV, or {"hvac": 3} in JSON; every code must be a known skill."""
    value = row.get(field)
    if blank(value):
        return {}
    pairs: list[tuple[str, Any]]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for part in re.split(r"[;,]", value):
            if part.strip():
                name, _, level = part.partition(":")
                pairs.append((name.strip(), level.strip() or "1"))
    else:
        raise FieldError(field, f"{value!r} is not a skill list like 'hvac:3;gas:1'")
    result: dict[str, int] = {}
    for name, level in pairs:
        if name not in known:
            raise FieldError(field, f"unknown skill '{name}' (known: {', '.join(sorted(known)) or 'none'})")
        try:
            number = int(level)
        except (TypeError, ValueError):
            raise FieldError(field, f"level '{level}' of {name} is not a whole number 1-5") from None
        if isinstance(level, bool) or not 1 <= number <= 5:
            raise FieldError(field, f"level '{level}' of {name} is not 1-5")
        result[name] = number
    return dict(sorted(result.items()))


def format_skills(levels: dict[str, int]) -> str:
    return ";".join(f"{k}:{v}" for k, v in sorted(levels.items()))


@dataclass(frozen=True)
class WeeklyShift:
    weekday: int
    start: time
    end: time
    break_minutes: int = DEFAULT_BREAK


_SHIFT = re.compile(
    r"^(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})(?:\s+break\s+(?P<brk>\d{1,3}))?$"
)


def shifts(row: dict[str, Any], field: str) -> list[WeeklyShift]:
    """'mon-fri 08:00-16:00; sat 08:00-12:00 break 0': a weekly pattern, at most one shift per weekday."""
    value = row.get(field)
    if blank(value):
        return []
    if not isinstance(value, str):
        raise FieldError(field, f"{value!r} is not a shift pattern like 'mon-fri 08:00-16:00'")
    result: dict[int, WeeklyShift] = {}
    for part in value.lower().split(";"):
        part = part.strip()
        if not part:
            continue
        match = _SHIFT.match(part)
        if match is None:
            raise FieldError(field, f"'{part}' is not like 'mon-fri 08:00-16:00'")
        try:
            start = time.fromisoformat(match["start"].zfill(5))
            end = time.fromisoformat(match["end"].zfill(5))
        except ValueError:
            raise FieldError(field, f"'{part}' has an impossible time") from None
        if start == end:
            raise FieldError(field, f"'{part}' starts and ends at the same time")
        brk = int(match["brk"]) if match["brk"] else DEFAULT_BREAK
        for day in _weekdays(match["days"], field):
            if day in result:
                raise FieldError(field, f"{WEEKDAYS[day]} has two shifts")
            result[day] = WeeklyShift(day, start, end, brk)
    return [result[d] for d in sorted(result)]


def _weekdays(spec: str, field: str) -> list[int]:
    days: list[int] = []
    for chunk in spec.split(","):
        first, _, last = (p.strip() for p in chunk.partition("-"))
        for name in (first, last):
            if name and name not in WEEKDAYS:
                raise FieldError(field, f"'{name}' is not a weekday (mon..sun)")
        a = WEEKDAYS.index(first)
        b = WEEKDAYS.index(last) if last else a
        if b < a:
            raise FieldError(field, f"'{chunk.strip()}' runs backwards")
        days.extend(range(a, b + 1))
    return days


def format_shifts(pattern: Sequence[WeeklyShift]) -> str:
    """The shortest text for a week: runs of consecutive days with the same hours share one entry."""
    groups: list[tuple[list[int], time, time, int]] = []
    for s in sorted(pattern, key=lambda s: s.weekday):
        last = groups[-1] if groups else None
        if last and last[1:] == (s.start, s.end, s.break_minutes) and last[0][-1] == s.weekday - 1:
            last[0].append(s.weekday)
        else:
            groups.append(([s.weekday], s.start, s.end, s.break_minutes))
    parts = []
    for days, start, end, brk in groups:
        span = WEEKDAYS[days[0]] if len(days) == 1 else f"{WEEKDAYS[days[0]]}-{WEEKDAYS[days[-1]]}"
        extra = f" break {brk}" if brk != DEFAULT_BREAK else ""
        parts.append(f"{span} {start:%H:%M}-{end:%H:%M}{extra}")
    return "; ".join(parts)


def exceptions(row: dict[str, Any], field: str) -> list[tuple[date, time | None, time | None]]:
    """'2026-11-25 10:00-18:30; 2026-11-27 off': dated changes to the weekly pattern."""
    value = row.get(field)
    if blank(value):
        return []
    if not isinstance(value, str):
        raise FieldError(field, f"{value!r} is not like '2026-11-25 10:00-18:30; 2026-11-27 off'")
    result: dict[date, tuple[date, time | None, time | None]] = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        day_text, _, hours = part.partition(" ")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise FieldError(field, f"'{day_text}' is not a date (YYYY-MM-DD)") from None
        hours = hours.strip().lower()
        if day in result:
            raise FieldError(field, f"{day.isoformat()} appears twice")
        if hours == "off":
            result[day] = (day, None, None)
            continue
        start_text, _, end_text = hours.partition("-")
        try:
            start, end = time.fromisoformat(start_text.strip().zfill(5)), time.fromisoformat(end_text.strip().zfill(5))
        except ValueError:
            raise FieldError(field, f"'{part}' is not like '2026-11-25 10:00-18:30' or '2026-11-25 off'") from None
        result[day] = (day, start, end)
    return [result[d] for d in sorted(result)]


def iso(value: datetime | None) -> str | None:
    """Times leave as UTC ISO 8601 with an explicit offset, so a re-import reads the same instant."""
    return value.astimezone(UTC).isoformat() if value is not None else None
