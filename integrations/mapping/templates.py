"""Field templates in str.format style, whose names resolve only through dicts and lists of the source.

Chosen over Jinja2 because a mapping template is one line of text: `{payload.ref}` and format specs
(`{payload.hours:.2f}`) cover it, no sandbox is needed since no attribute or method of a Python object
is ever reachable, and a template is checked completely at start-up by `string.Formatter.parse`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from integrations.mapping.paths import is_missing, parse_path, read_path


class MissingField(KeyError):
    """A template names a field the source does not have."""


def field_names(template: str) -> list[str]:
    """The field names a template uses; raises ValueError for bad syntax or positional fields."""
    names = []
    for _literal, name, _spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise ValueError("positional fields are not allowed; name the field, e.g. {payload.ref}")
        if conversion not in (None, "s", "r"):
            raise ValueError(f"unknown conversion !{conversion}")
        parse_path(name)
        names.append(name)
    return names


class _PathFormatter(string.Formatter):
    """Resolves `{a.b[0]}` as a path into the source, then, failing that, into source['payload']."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        path = parse_path(field_name)
        value = read_path(kwargs, path)
        if is_missing(value) and isinstance(kwargs.get("payload"), dict):
            value = read_path(kwargs["payload"], path)
        if is_missing(value):
            raise MissingField(field_name)
        return value, field_name

    def format_field(self, value: Any, format_spec: str) -> Any:
        if value is None:
            return ""
        if format_spec and isinstance(value, str):
            # Decimals travel as text in payloads; let numeric specs work on them.
            from decimal import Decimal, InvalidOperation

            try:
                return format(Decimal(value), format_spec)
            except (InvalidOperation, ValueError):
                pass
        return format(value, format_spec)


def render(template: str, source: Mapping[str, Any]) -> str:
    """Fill a template; raises MissingField naming the first absent field."""
    return _PathFormatter().vformat(template, (), source)
