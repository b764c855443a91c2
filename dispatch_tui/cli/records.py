"""One command group per master-data kind, built from its declaration: `add|edit|list|show|archive`, each with --json.

The options of `add` and `edit` are the kind's fields (`--timezone`, `--home-lat`, ...), made from
`data/services/record_kinds.py`, so the CLI never repeats a field list; parsing, validation and events are the
data service's (`data/services/records.py`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer
from rich.table import Table

from data.services.records import RecordKind, add_record, archive_record, edit_record, list_records, show_record
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json, shown_money

JSON_HELP = "Print JSON for scripts."


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items()) if "type" not in value else "(polygon)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


def print_record(kind: RecordKind, record: dict[str, Any], as_json: bool, verb: str | None = None) -> None:
    if as_json:
        print_json(record if verb is None else {verb: record})
        return
    if verb is not None:
        out.print(f"{verb} {kind.name.replace('_', ' ')} {record[kind.key]}", highlight=False)
        return
    print_fields(f"{kind.name.replace('_', ' ')} {record[kind.key]}", record)


def print_fields(title: str, record: dict[str, Any]) -> None:
    """One record as a two-column table: field, value (lists of dicts, like invoice lines, as their own table)."""
    record = shown_money(record)
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    nested = {k: v for k, v in record.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for name, value in record.items():
        if name not in nested:
            table.add_row(name, _shown(value))
    out.print(table)
    for name, rows in nested.items():
        print_rows(name, list(rows[0]), rows)


def print_rows(title: str, columns: list[str], records: list[dict[str, Any]]) -> None:
    records = shown_money(records)
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for record in records:
        table.add_row(*(_shown(record.get(c)) for c in columns))
    out.print(table)


def _with_signature(fn: Callable[..., None], params: list[inspect.Parameter], doc: str) -> Callable[..., None]:
    """Typer reads a command's options from its signature: give the generic function the kind's fields."""
    fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params}
    fn.__doc__ = doc
    return fn


def _key(kind: RecordKind) -> inspect.Parameter:
    return inspect.Parameter(
        "key",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=typer.Argument(..., metavar=kind.key.upper(), help=f"The {kind.name.replace('_', ' ')}'s {kind.key}."),
        annotation=str,
    )


def _json() -> inspect.Parameter:
    return inspect.Parameter(
        "as_json",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--json", help=JSON_HELP),
        annotation=bool,
    )


def _field_options(kind: RecordKind, adding: bool) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            spec.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None, option_name(spec.name), help=spec.help + (" Required." if adding and spec.required else "")
            ),
            annotation=str | None,
        )
        for spec in kind.fields
        if not spec.readonly
    ]


def _values(kind: RecordKind, given: dict[str, Any]) -> dict[str, str]:
    """The fields given on the command line; an empty string clears a field."""
    return {spec.name: given[spec.name] for spec in kind.fields if given.get(spec.name) is not None}


def record_group(kind: RecordKind, help: str) -> typer.Typer:
    """`add|edit|list|show|archive` for one kind of record."""
    group = typer.Typer(help=help, no_args_is_help=True)
    label = kind.name.replace("_", " ")

    def add(key: str, as_json: bool = False, **given: Any) -> None:
        print_record(kind, add_record(db(), actor(), kind, key, _values(kind, given)), as_json, "added")

    def edit(key: str, as_json: bool = False, **given: Any) -> None:
        values = _values(kind, given)
        if not values:
            fields = ", ".join(option_name(f.name) for f in kind.fields if not f.readonly)
            raise typer.BadParameter(f"name a field to change: {fields}")
        record, changed = edit_record(db(), actor(), kind, key, values)
        if as_json:
            print_json({"edited": record, "changed": changed})
        else:
            out.print(
                f"{label} {key}: " + (f"changed {', '.join(changed)}" if changed else "unchanged"), highlight=False
            )

    def show(key: str, as_json: bool = False) -> None:
        print_record(kind, show_record(db(), kind, key), as_json)

    def archive(key: str, as_json: bool = False) -> None:
        done = archive_record(db(), actor(), kind, key)
        if as_json:
            print_json({"archived": key, "changed": done})
        else:
            out.print(f"{label} {key}: " + ("archived" if done else "was already archived"), highlight=False)

    def listing(as_json: bool = False, archived: bool = False) -> None:
        records = list_records(db(), kind, archived=archived)
        if as_json:
            print_json(records)
            return
        columns = [kind.key, *kind.listed, *(["archived_at"] if archived else [])]
        print_rows(f"{kind.plural.replace('-', ' ').capitalize()} ({len(records)})", columns, records)

    archived_option = inspect.Parameter(
        "archived",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--archived", help="Include archived records."),
        annotation=bool,
    )
    commands: list[tuple[str, Callable[..., None], list[inspect.Parameter], str]] = [
        ("add", add, [_key(kind), _json(), *_field_options(kind, True)], f"Add a {label}; prints what was stored."),
        ("edit", edit, [_key(kind), _json(), *_field_options(kind, False)], f"Change the fields given of a {label}."),
        ("list", listing, [_json(), archived_option], f"Every {label} not archived (--archived: all)."),
        ("show", show, [_key(kind), _json()], f"One {label}, every field."),
        (
            "archive",
            archive,
            [_key(kind), _json()],
            f"Archive a {label}: kept for the history that points at it, offered for nothing new.",
        ),
    ]
    for name, fn, params, doc in commands:
        group.command(name)(handles_errors(_with_signature(fn, params, doc)))
    return group
