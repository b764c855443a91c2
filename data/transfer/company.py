"""A whole company as files, out and in: every record of every business table, one JSON Lines file per table.

`export_company` writes `manifest.json` and `<table>.jsonl` (layout in docs/company-format.md): rows in primary-key
order, columns in table order, values as JSON (money and times as exact text), so exporting the same company twice
gives identical bytes. `import_company` loads such a folder into an empty database in one transaction: every file,
line and field is checked first (types, references between files), then all rows are inserted; any error names the
file, line and field and writes nothing. What belongs to one installation rather than to the company (the event
log, the delivery outbox and its cursors, OAuth and field-API tokens) is neither exported nor imported.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.jsonable import jsonable
from data.models.base import Base, advance_sequences
from data.models.org import Role, User
from data.models.types import Money, UTCDateTime
from data.uow import UnitOfWork

FORMAT, VERSION = "dispatch-company", 1
INSTALLATION_TABLES = frozenset(
    {
        "events",
        "deliveries",
        "connector_cursors",
        "connector_state",
        "oauth_tokens",
        "api_tokens",
        "reminder_cursors",
        "sealed_secrets",
    }
)
"""Tables that belong to one running installation, not to the company: never in a company folder."""


def company_tables() -> list[sa.Table]:
    """The business tables in dependency order (a table after every table it refers to)."""
    return [t for t in Base.metadata.sorted_tables if t.name not in INSTALLATION_TABLES]


def money_text(amount: Decimal) -> str:
    """One text per amount whatever the engine stored (PostgreSQL pads NUMERIC to 4 places, SQLite keeps what was
    written): at least 2 decimals, no trailing zeros beyond them. 82.0000 and 82 are "82.00", 0.2550 is "0.255"."""
    whole, _, fraction = f"{amount:f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):  # a branch's map layers: gzipped blobs, as base64 text
        return base64.b64encode(value).decode("ascii")
    return money_text(value) if isinstance(value, Decimal) else jsonable(value)


def _line(table: sa.Table, row: sa.Row[Any]) -> str:
    values = {column.name: _to_json(row._mapping[column]) for column in table.columns}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_company(db: Database, folder: Path, revision: str) -> dict[str, int]:
    """Write the company into `folder` (made if missing); returns the rows written per table."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with db.read() as session:
        for table in company_tables():
            rows = session.execute(select(table).order_by(*table.primary_key.columns))
            with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
                counts[table.name] = 0
                for row in rows:
                    fh.write(_line(table, row))
                    counts[table.name] += 1
    manifest = {"format": FORMAT, "version": VERSION, "schema": revision, "tables": counts}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts


Converter = Callable[[Any], Any]


def _converter(column: sa.Column[Any]) -> Converter:
    """How a JSON value becomes the column's Python value; raises ValueError saying what is wrong."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _moment
    if isinstance(kind, Money):
        return _money
    if isinstance(kind, sa.Enum) and kind.enum_class is not None:
        enum_class = kind.enum_class
        return lambda v: enum_class(v)
    if isinstance(kind, sa.Date):
        return lambda v: date.fromisoformat(_text(v))
    if isinstance(kind, sa.Time):
        return lambda v: time.fromisoformat(_text(v))
    if isinstance(kind, sa.Boolean):
        return _typed(bool, "true or false")
    if isinstance(kind, sa.Integer):
        return _integer
    if isinstance(kind, sa.Float):
        return _number
    if isinstance(kind, sa.JSON):
        return lambda v: v
    if isinstance(kind, sa.LargeBinary):
        return _blob
    return _typed(str, "text")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def _blob(value: Any) -> bytes:
    try:
        return base64.b64decode(_text(value), validate=True)
    except binascii.Error:
        raise ValueError("is not base64") from None


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(f"'{value}' has no UTC offset")
    return moment


def _money(value: Any) -> Decimal:
    try:
        return Decimal(_text(value))
    except InvalidOperation:
        raise ValueError(f"'{value}' is not an exact amount") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _typed(kind: type, what: str) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return convert


@dataclass
class _TableRows:
    table: sa.Table
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _read_table(folder: Path, table: sa.Table) -> _TableRows:
    path = folder / f"{table.name}.jsonl"
    name = path.name
    if not path.is_file():
        raise InvalidInput("is missing from the company folder", record=name)
    converters = {c.name: _converter(c) for c in table.columns}
    required = [c.name for c in table.columns if not c.nullable and c.default is None and c.server_default is None]
    found = _TableRows(table)
    with path.open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            record = f"{name} line {number}"
            try:
                values = json.loads(text)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"is not JSON ({e.msg})", record=record) from None
            if not isinstance(values, dict):
                raise InvalidInput("is not a JSON object", record=record)
            for column in values:
                if column not in converters:
                    raise InvalidInput(f"is not a column of {table.name}", record=record, field=column)
            for column in required:
                if values.get(column) is None:
                    raise InvalidInput("is required", record=record, field=column)
            row: dict[str, Any] = {}
            for column, value in values.items():
                try:
                    row[column] = None if value is None else converters[column](value)
                except ValueError as e:
                    raise InvalidInput(str(e), record=record, field=column) from None
            found.rows.append(row)
            found.lines.append(number)
    return found


def _check_references(tables: dict[str, _TableRows]) -> None:
    """Every reference points at a row of the folder: named by file, line and field before anything is written."""
    keys: dict[tuple[str, str], set[Any]] = {}
    for name, data in tables.items():
        for fk in data.table.foreign_keys:
            target = fk.column.table.name
            if target not in tables:
                continue
            wanted = keys.setdefault((target, fk.column.name), {row.get(fk.column.name) for row in tables[target].rows})
            for row, line in zip(data.rows, data.lines, strict=True):
                value = row.get(fk.parent.name)
                if value is not None and value not in wanted:
                    raise InvalidInput(
                        f"no {target} row has {fk.column.name} {value}",
                        record=f"{name}.jsonl line {line}",
                        field=fk.parent.name,
                    )


@dataclass(frozen=True)
class CompanyImport:
    folder: Path
    tables: dict[str, int]
    kept_users: list[str]


def import_company(db: Database, actor: Actor, folder: Path, revision: str) -> CompanyImport:
    """Load a company folder into an empty database, all of it or nothing."""
    actor.require_admin("import a whole company")
    manifest = _manifest(folder, revision)
    tables = {t.name: _read_table(folder, t) for t in company_tables() if t.name in manifest}
    _check_references(tables)
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        for table in company_tables():
            if table.name != "users" and s.scalar(select(func.count()).select_from(table)):
                raise InvalidInput(
                    f"the database already holds {table.name}: a company is imported into an empty database "
                    "(`dispatch init` on a new one)",
                    record=str(folder),
                )
        kept = _make_room_for_users(s, tables.get("users"))
        for data in tables.values():
            if data.rows:
                _insert(s, data, folder)
        for login, role, name_, os_login in kept:
            s.add(User(login=login, name=name_, role=role, os_login=os_login))
        s.flush()
        advance_sequences(s)
        counts = {name: len(data.rows) for name, data in tables.items()}
        uow.emit("company.imported", "company", folder.name, {"tables": counts, "kept_users": [k[0] for k in kept]})
    return CompanyImport(folder, counts, [k[0] for k in kept])


def _manifest(folder: Path, revision: str) -> dict[str, int]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise InvalidInput("is missing: not a company folder written by `dispatch export company`", record=str(path))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InvalidInput(f"is not JSON ({e.msg})", record="manifest.json") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"is not '{FORMAT}'", record="manifest.json", field="format")
    if manifest.get("version") != VERSION:
        raise InvalidInput(f"{manifest.get('version')!r} is not {VERSION}", record="manifest.json", field="version")
    if manifest.get("schema") != revision:
        raise InvalidInput(
            f"{manifest.get('schema')!r} differs from this database's {revision!r}: export and import with the same "
            "Dispatch version (or run `dispatch db upgrade` on the exporting side first)",
            record="manifest.json",
            field="schema",
        )
    tables = manifest.get("tables")
    known = {t.name for t in company_tables()}
    if not isinstance(tables, dict) or not set(tables) <= known:
        unknown = sorted(set(tables or {}) - known) if isinstance(tables, dict) else ["(not an object)"]
        raise InvalidInput(f"names unknown tables: {', '.join(unknown)}", record="manifest.json", field="tables")
    return tables


def _make_room_for_users(session: Any, users: _TableRows | None) -> list[tuple[str, Role, str, str | None]]:
    """`dispatch init` made a user for whoever runs it: those users give way to the company's own.

    An admin of the new database whom the company does not know (no user with that login or OS login) is kept,
    so the person importing can still work afterwards.
    """
    existing = list(session.scalars(select(User)))
    if not existing:
        return []
    rows = users.rows if users is not None else []
    logins = {r.get("login") for r in rows}
    os_logins = {r.get("os_login") for r in rows if r.get("os_login")}
    kept: list[tuple[str, Role, str, str | None]] = [
        (u.login, u.role, u.name, u.os_login)
        for u in existing
        if u.role is Role.ADMIN and u.login not in logins and (u.os_login is None or u.os_login not in os_logins)
    ]
    session.execute(delete(User))
    return kept


def _insert(session: Any, data: _TableRows, folder: Path) -> None:
    """Insert a table's rows; references to the same table are set afterwards (a job may follow a later one)."""
    table = data.table
    self_refs = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    rows = [{**row, **dict.fromkeys(self_refs)} for row in data.rows] if self_refs else data.rows
    try:
        session.execute(insert(table), rows)
        for column in self_refs:
            links = [{"row_id": r["id"], "value": r[column]} for r in data.rows if r.get(column) is not None]
            if links:
                statement = (
                    update(table).where(table.c.id == sa.bindparam("row_id")).values({column: sa.bindparam("value")})
                )
                session.connection().execute(statement, links)
    except IntegrityError as e:
        reason = str(e.orig).splitlines()[0] if e.orig is not None else str(e)
        raise InvalidInput(f"is refused by the database: {reason}", record=f"{table.name}.jsonl") from None
