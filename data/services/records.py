"""Master data through one path: add, edit, archive and read any kind of record a company keeps.

Each kind (branches, skills, technicians, customers, sites, assets, contracts, price lists, parts, stock
locations, maintenance plans) is declared once in `data/services/record_kinds.py` as a `RecordKind`: its model,
the column that names a record (code, SKU or serial), and its fields, each with a parser from text. The CLI,
the console forms and scripts send text values by field name; this module parses them, names the record and
field of any bad one, writes the change with its `<kind>.created|updated|archived` event in one transaction,
and reads records back as plain dictionaries. Records are archived, never deleted: history points at them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.models.base import utcnow
from data.uow import UnitOfWork

Parser = Callable[[Session, str], Any]
"""Text as typed (an option, a form cell) to the stored value; raises ValueError with what is wrong."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record kind: its name (the option `--name` and the JSON key), parser and presentation."""

    name: str
    help: str
    parse: Parser
    required: bool = False  # on add
    column: str | None = None  # the model attribute it sets (default: the name)
    show: Callable[[Session, Any], Any] | None = None  # stored value to what people and JSON see
    # For what is not one column (skills with levels, a weekly pattern, stock levels): set it on the row and
    # say whether anything changed; read it back.
    apply: Callable[[Session, Any, Any], bool] | None = None
    read: Callable[[Session, Any], Any] | None = None
    readonly: bool = False  # shown, never set (a technician's van is made with them)

    @property
    def attribute(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class RecordKind:
    """A kind of master-data record and the rules its fields follow."""

    name: str  # "branch": in messages, event types ("branch.created") and subject types
    plural: str  # "branches": the command group
    model: type[Any]
    key: str  # the column that names a record: "code", "sku", "serial"
    fields: tuple[FieldSpec, ...]
    # Rules across fields, run after every change with the record's label; raise InvalidInput.
    check: Callable[[Session, Any, str], None] | None = None
    created: Callable[[UnitOfWork, Any], None] | None = None  # what a new record brings along (a van)
    archived: Callable[[UnitOfWork, Any], None] | None = None
    columns: tuple[str, ...] = ()  # the fields a listing shows (default: the first four)
    # Values a new record may be given without, filled in from the others before they are checked (a site's
    # lat/lon from its address); raise InvalidInput naming the record and field.
    complete: Callable[[Session, dict[str, str], str], dict[str, str]] | None = None

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        known = ", ".join(f.name for f in self.fields)
        raise InvalidInput(f"is not a field of a {self.name} (fields: {known})", record=self.name, field=name)

    @property
    def listed(self) -> tuple[str, ...]:
        return self.columns or tuple(f.name for f in self.fields[:4])


def find_record(session: Session, kind: RecordKind, key: str) -> Any:
    row = session.scalar(select(kind.model).where(getattr(kind.model, kind.key) == key))
    if row is None:
        raise NotFound(f"{kind.name} {key} does not exist (see `dispatch {kind.plural} list`)")
    return row


def describe(session: Session, kind: RecordKind, row: Any) -> dict[str, Any]:
    """A record as people and scripts see it: its key, every field as shown, and when it was archived."""
    shown: dict[str, Any] = {kind.key: getattr(row, kind.key)}
    for spec in kind.fields:
        if spec.read is not None:
            shown[spec.name] = spec.read(session, row)
            continue
        value = getattr(row, spec.attribute)
        shown[spec.name] = spec.show(session, value) if spec.show is not None and value is not None else value
    shown["archived_at"] = row.archived_at
    return shown


def _parse(session: Session, kind: RecordKind, record: str, values: Mapping[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, text in values.items():
        spec = kind.field(name)
        if spec.readonly:
            raise InvalidInput("is set by Dispatch, not by hand", record=record, field=name)
        try:
            parsed[name] = spec.parse(session, text.strip()) if text.strip() else None
        except ValueError as e:
            raise InvalidInput(str(e), record=record, field=name) from None
        if parsed[name] is None and spec.required:
            raise InvalidInput("is required", record=record, field=name)
    return parsed


def _apply(session: Session, kind: RecordKind, row: Any, parsed: dict[str, Any]) -> list[str]:
    changed: list[str] = []
    for name, value in parsed.items():
        spec = kind.field(name)
        if spec.apply is not None:
            if spec.apply(session, row, value):
                changed.append(name)
        elif getattr(row, spec.attribute) != value:
            setattr(row, spec.attribute, value)
            changed.append(name)
    return changed


def add_record_in(uow: UnitOfWork, kind: RecordKind, key: str, values: Mapping[str, str]) -> Any:
    """Create a record inside a larger change; every required field must be given."""
    uow.actor.require_write(f"add {kind.plural}")
    key = key.strip()
    record = f"{kind.name} {key}"
    if not key:
        raise InvalidInput("must not be empty", record=kind.name, field=kind.key)
    s = uow.session
    if s.scalar(select(kind.model).where(getattr(kind.model, kind.key) == key)) is not None:
        raise InvalidInput("is already taken", record=record, field=kind.key)
    if kind.complete is not None:
        values = kind.complete(s, dict(values), record)
    missing = [f.name for f in kind.fields if f.required and not str(values.get(f.name) or "").strip()]
    if missing:
        raise InvalidInput("is required", record=record, field=missing[0])
    parsed = _parse(s, kind, record, values)
    row = kind.model(**{kind.key: key})
    plain = {n: v for n, v in parsed.items() if kind.field(n).apply is None}
    for name, value in plain.items():
        setattr(row, kind.field(name).attribute, value)
    s.add(row)
    s.flush()
    _apply(s, kind, row, {n: v for n, v in parsed.items() if n not in plain})
    if kind.check is not None:
        kind.check(s, row, record)
    s.flush()
    if kind.created is not None:
        kind.created(uow, row)
    uow.emit(f"{kind.name}.created", kind.name, row.id, {kind.key: key, **_payload(parsed)})
    return row


def edit_record_in(uow: UnitOfWork, kind: RecordKind, key: str, values: Mapping[str, str]) -> list[str]:
    """Change the given fields of a record; returns the fields that changed (none: no event)."""
    uow.actor.require_write(f"edit {kind.plural}")
    s = uow.session
    row = find_record(s, kind, key)
    record = f"{kind.name} {key}"
    changed = _apply(s, kind, row, _parse(s, kind, record, values))
    if changed:
        if kind.check is not None:
            kind.check(s, row, record)
        s.flush()
        uow.emit(f"{kind.name}.updated", kind.name, row.id, {kind.key: key, "changed": changed})
    return changed


def archive_record_in(uow: UnitOfWork, kind: RecordKind, key: str) -> bool:
    """Archive a record (it stays for the history that points at it); False when it already was."""
    uow.actor.require_write(f"archive {kind.plural}")
    row = find_record(uow.session, kind, key)
    if row.archived_at is not None:
        return False
    row.archived_at = utcnow()
    if kind.archived is not None:
        kind.archived(uow, row)
    uow.emit(f"{kind.name}.archived", kind.name, row.id, {kind.key: key})
    return True


def add_record(db: Database, actor: Actor, kind: RecordKind, key: str, values: Mapping[str, str]) -> dict[str, Any]:
    with UnitOfWork(db, actor) as uow:
        row = add_record_in(uow, kind, key, values)
        return describe(uow.session, kind, row)


def edit_record(
    db: Database, actor: Actor, kind: RecordKind, key: str, values: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    with UnitOfWork(db, actor) as uow:
        changed = edit_record_in(uow, kind, key, values)
        return describe(uow.session, kind, find_record(uow.session, kind, key)), changed


def archive_record(db: Database, actor: Actor, kind: RecordKind, key: str) -> bool:
    with UnitOfWork(db, actor) as uow:
        return archive_record_in(uow, kind, key)


def list_records(db: Database, kind: RecordKind, *, archived: bool = False) -> list[dict[str, Any]]:
    """Every record of a kind in key order; archived ones only when asked for."""
    with db.read() as session:
        query = select(kind.model).order_by(getattr(kind.model, kind.key))
        if not archived:
            query = query.where(kind.model.archived_at.is_(None))
        return [describe(session, kind, row) for row in session.scalars(query)]


def show_record(db: Database, kind: RecordKind, key: str) -> dict[str, Any]:
    with db.read() as session:
        return describe(session, kind, find_record(session, kind, key))


def _payload(parsed: dict[str, Any]) -> dict[str, Any]:
    """What the created event carries: the plain values given (relations are named by the fields changed)."""
    return {n: v for n, v in parsed.items() if isinstance(v, str | int | float | bool) or v is None}
