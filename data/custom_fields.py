"""The company's own fields on jobs, customers and sites: declared in `dispatch.toml`, checked by the services.

```toml
[custom_fields.jobs.po_number]
type = "text"            # text, integer, number, date, boolean or choice
label = "PO number"
required = true          # forms and commands refuse a record without it
max_length = 40

[custom_fields.customers.segment]
type = "choice"
choices = ["retail", "industrial", "public"]
```

The file is `$DISPATCH_CONFIG`, else `dispatch.toml` in the user config directory; no file declares no fields.
Values are stored in each record's `custom_fields` JSON as plain JSON (numbers as exact text, dates ISO), travel in
the company export and in job event payloads (`payload.custom_fields.po_number` in an integration mapping).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from data.errors import InvalidInput
from data.paths import config_file

CONFIG_ENV = "DISPATCH_CONFIG"
ENTITIES = ("jobs", "customers", "sites")
TYPES = ("text", "integer", "number", "date", "boolean", "choice")
TRUE, FALSE = frozenset({"yes", "true", "1", "on"}), frozenset({"no", "false", "0", "off"})


@dataclass(frozen=True)
class CustomField:
    entity: str
    name: str
    type: str = "text"
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 200

    def parse(self, value: Any) -> Any:
        """A typed or typed-in value to what is stored; ValueError says what is wrong."""
        text = value.strip() if isinstance(value, str) else value
        if self.type == "boolean":
            if isinstance(text, bool):
                return text
            if str(text).lower() in TRUE | FALSE:
                return str(text).lower() in TRUE
            raise ValueError(f"'{value}' is not yes or no")
        if self.type == "integer":
            try:
                if isinstance(text, bool):
                    raise ValueError
                return int(text)
            except (TypeError, ValueError):
                raise ValueError(f"'{value}' is not a whole number") from None
        if self.type == "number":
            try:
                return str(Decimal(str(text)))
            except InvalidOperation:
                raise ValueError(f"'{value}' is not a number") from None
        if self.type == "date":
            try:
                return date.fromisoformat(str(text)).isoformat()
            except ValueError:
                raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None
        text = str(text)
        if self.type == "choice" and text not in self.choices:
            raise ValueError(f"'{value}' is not one of {', '.join(self.choices)}")
        if len(text) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        return text


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    return Path(explicit).expanduser() if explicit else config_file("dispatch.toml")


def declared(entity: str) -> dict[str, CustomField]:
    """The fields the company declared for jobs, customers or sites, by name."""
    path = config_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _load(str(path), stamp).get(entity, {})


@lru_cache(maxsize=4)
def _load(path: str, stamp: int) -> dict[str, dict[str, CustomField]]:
    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"cannot be read: {e}", record=name) from None
    tables = data.get("custom_fields", {})
    if not isinstance(tables, dict):
        raise InvalidInput("must be a table of jobs, customers, sites", record=name, field="custom_fields")
    found: dict[str, dict[str, CustomField]] = {}
    for entity, fields in tables.items():
        where = f"custom_fields.{entity}"
        if entity not in ENTITIES or not isinstance(fields, dict):
            raise InvalidInput(f"is not one of {', '.join(ENTITIES)}", record=name, field=where)
        found[entity] = {n: _declaration(entity, n, spec, name) for n, spec in fields.items()}
    return found


def _declaration(entity: str, field_name: str, spec: Any, source: str) -> CustomField:
    where = f"custom_fields.{entity}.{field_name}"
    if not isinstance(spec, dict):
        raise InvalidInput("must be a table (type = ...)", record=source, field=where)
    unknown = set(spec) - {"type", "label", "required", "choices", "max_length"}
    if unknown:
        raise InvalidInput(f"unknown key {sorted(unknown)[0]!r}", record=source, field=where)
    kind = spec.get("type", "text")
    if kind not in TYPES:
        raise InvalidInput(f"type {kind!r} is not one of {', '.join(TYPES)}", record=source, field=where)
    choices = spec.get("choices", [])
    if kind == "choice" and (not isinstance(choices, list) or not choices):
        raise InvalidInput("a choice needs choices = [...]", record=source, field=where)
    return CustomField(
        entity,
        field_name,
        kind,
        str(spec.get("label", field_name)),
        bool(spec.get("required", False)),
        tuple(str(c) for c in choices),
        int(spec.get("max_length", 200)),
    )


def parse_assignments(text: str) -> dict[str, str]:
    """'po_number=123;segment=retail' (an empty value clears the field)."""
    result: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"'{part.strip()}' is not like name=value")
        result[name.strip()] = value.strip()
    return result


def merge_custom_fields(entity: str, current: dict[str, Any], given: dict[str, Any], record: str) -> dict[str, Any]:
    """The record's custom fields after `given` (by name; an empty value clears): every name declared, every value
    of its type, every required one present."""
    fields = declared(entity)
    merged = dict(current)
    for name, value in given.items():
        spec = fields.get(name)
        if spec is None:
            known = ", ".join(sorted(fields)) or f"none declared for {entity}"
            raise InvalidInput(
                f"is not a declared field (declared: {known})", record=record, field=f"custom_fields.{name}"
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            merged.pop(name, None)
            continue
        try:
            merged[name] = spec.parse(value)
        except ValueError as e:
            raise InvalidInput(str(e), record=record, field=f"custom_fields.{name}") from None
    require_custom_fields(entity, merged, record)
    return dict(sorted(merged.items()))


def require_custom_fields(entity: str, values: dict[str, Any], record: str) -> None:
    for name, spec in declared(entity).items():
        if spec.required and values.get(name) in (None, ""):
            raise InvalidInput("is required", record=record, field=f"custom_fields.{name}")
