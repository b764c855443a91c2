"""Compile TOML mapping tables into typed rules (validated at start-up) and apply them to a source dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mapping.errors import MappingError
from integrations.mapping.paths import MISSING, Segment, is_missing, parse_path, read_path, write_path
from integrations.mapping.templates import MissingField, field_names, render

CASTS = ("str", "int", "float", "decimal", "bool")
_NO_DEFAULT = object()
_RULE_KEYS = {"from", "const", "template", "lookup", "default", "required", "as"}


@dataclass(frozen=True)
class Rule:
    """One target field and where its value comes from: exactly one of source / const / template."""

    target: str
    target_path: tuple[Segment, ...]
    where: str  # the dotted config key, for error messages
    source: tuple[Segment, ...] | None = None
    source_text: str | None = None
    const: Any = None
    has_const: bool = False
    template: str | None = None
    lookup: str | None = None
    default: Any = _NO_DEFAULT
    required: bool = False
    cast: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class MappingRules:
    """An ordered set of rules for one event type or target, with the lookup tables they use."""

    rules: tuple[Rule, ...] = ()
    lookups: dict[str, dict[str, Any]] = field(default_factory=dict)
    where: str = ""

    def __bool__(self) -> bool:
        return bool(self.rules)


def compile_mapping(table: dict[str, Any], lookups: dict[str, dict[str, Any]], where: str) -> MappingRules:
    """Validate one `[connectors.X.mapping.Y]` table; every problem names its key (`where.target`)."""
    if not isinstance(table, dict):
        raise MappingError(where, "must be a table of target field = rule")
    rules = [_compile_rule(target, spec, lookups, f"{where}.{target}") for target, spec in table.items()]
    return MappingRules(tuple(rules), lookups, where)


def _compile_rule(target: str, spec: Any, lookups: dict[str, dict[str, Any]], where: str) -> Rule:
    try:
        target_path = parse_path(target)
    except ValueError as e:
        raise MappingError(where, f"bad target path: {e}") from None
    if isinstance(spec, str):
        return Rule(target, target_path, where, source=_source(spec, where), source_text=spec)
    if not isinstance(spec, dict):
        raise MappingError(
            where, f"expected a field path string or a table with from/const/template/lookup, got {spec!r}"
        )
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise MappingError(where, f"unknown rule key {unknown[0]!r} (allowed: {', '.join(sorted(_RULE_KEYS))})")
    kinds = [k for k in ("const", "template", "lookup") if k in spec]
    if len(kinds) > 1:
        raise MappingError(where, f"use one of const, template, lookup (found {' and '.join(kinds)})")
    if not kinds and "from" not in spec and "default" not in spec:
        raise MappingError(where, "a rule needs from, const, template, lookup or default")
    cast = spec.get("as")
    if cast is not None and cast not in CASTS:
        raise MappingError(where, f"unknown type {cast!r} for 'as' (one of {', '.join(CASTS)})")
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise MappingError(where, "required must be true or false")
    common: dict[str, Any] = {"default": spec.get("default", _NO_DEFAULT), "required": required, "cast": cast}
    if "const" in spec:
        return Rule(target, target_path, where, const=spec["const"], has_const=True, **common)
    if "template" in spec:
        template = spec["template"]
        if not isinstance(template, str):
            raise MappingError(where, "template must be a string")
        try:
            field_names(template)
        except ValueError as e:
            raise MappingError(where, f"bad template {template!r}: {e}") from None
        return Rule(target, target_path, where, template=template, **common)
    source_text = spec.get("from")
    source = _source(source_text, where) if source_text is not None else None
    if "lookup" in spec:
        name = spec["lookup"]
        if not isinstance(name, str) or name not in lookups:
            known = ", ".join(sorted(lookups)) or "none defined"
            raise MappingError(where, f"unknown lookup {name!r} (known: {known})")
        if source is None:
            raise MappingError(where, 'a lookup needs from = "field.path" to look up')
        return Rule(target, target_path, where, source=source, source_text=source_text, lookup=name, **common)
    return Rule(target, target_path, where, source=source, source_text=source_text, **common)


def _source(text: Any, where: str) -> tuple[Segment, ...]:
    if not isinstance(text, str):
        raise MappingError(where, f"field path must be a string, got {text!r}")
    try:
        return parse_path(text)
    except ValueError as e:
        raise MappingError(where, str(e)) from None


def apply_mapping(rules: MappingRules, source: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the outgoing body: each rule in order writes its target; a missing optional field is left out."""
    out: dict[str, Any] = dict(base) if base else {}
    for rule in rules.rules:
        value = _value(rule, rules, source)
        if is_missing(value):
            continue
        write_path(out, rule.target_path, _cast(value, rule) if rule.cast else value)
    return out


def _value(rule: Rule, rules: MappingRules, source: dict[str, Any]) -> Any:
    value: Any
    if rule.has_const:
        return rule.const
    if rule.template is not None:
        try:
            value = render(rule.template, source)
        except MissingField as e:
            value = _fallback(rule, f"template field {e.args[0]!r} is missing from the event")
        return value
    value = read_path(source, rule.source) if rule.source is not None else MISSING
    if is_missing(value) or value is None:
        what = f"field {rule.source_text!r} is missing from the event" if rule.source_text else "no value"
        return _fallback(rule, what)
    if rule.lookup is not None:
        table = rules.lookups[rule.lookup]
        key = str(value)
        if key in table:
            return table[key]
        if rule.has_default:
            return rule.default
        known = ", ".join(sorted(table)) or "empty"
        raise MappingError(rule.where, f"value {key!r} is not in lookup {rule.lookup!r} (known: {known})")
    return value


def _fallback(rule: Rule, what: str) -> Any:
    if rule.has_default:
        return rule.default
    if rule.required:
        raise MappingError(rule.where, f"required, but {what}")
    return MISSING  # leave the target out


def _cast(value: Any, rule: Rule) -> Any:
    try:
        if rule.cast == "str":
            return str(value)
        if rule.cast == "int":
            return int(Decimal(str(value)))
        if rule.cast == "float":
            return float(Decimal(str(value)))
        if rule.cast == "decimal":
            return str(Decimal(str(value)))
        if rule.cast == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "y", "on")
            return bool(value)
    except (InvalidOperation, ValueError, TypeError):
        raise MappingError(rule.where, f"cannot convert {value!r} to {rule.cast}") from None
    return value
