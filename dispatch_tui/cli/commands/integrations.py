"""`dispatch integrations check|preview`: validate the connectors' configuration and show exact requests."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from typing import Any

import httpx
import typer
from rich.table import Table
from rich.text import Text

from data.errors import DispatchError, NotFound
from data.feed import tail
from dispatch_tui.cli.context import EXIT_ERROR, db, err, handles_errors, labelled, out, print_json
from integrations.config import load_config
from integrations.connector import OutboundRequest
from integrations.delivery.planner import map_event
from integrations.registry import build_connector

integrations_app = typer.Typer(
    help="Connectors: configuration check, request preview, OAuth authorisation.", no_args_is_help=True
)

CONFIG_HELP = "integrations.toml (default: $DISPATCH_INTEGRATIONS_CONFIG, then the user config dir)."
_SECRET_HEADER_WORDS = ("authorization", "signature", "token", "secret", "api-key", "apikey", "cookie", "password")


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """Hide credentials and signatures; ids and content types stay readable."""
    return {k: (v[:6] + "****" if any(w in k.lower() for w in _SECRET_HEADER_WORDS) else v) for k, v in headers.items()}


def _wire(connector: Any, request: OutboundRequest) -> OutboundRequest:
    prepare = getattr(connector, "prepare", None)
    return prepare(request) if callable(prepare) else request


def _request_json(request: OutboundRequest) -> dict[str, Any]:
    body: Any = request.json
    if body is None and request.content is not None:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = request.content.decode(errors="replace")
    return {
        "method": request.method,
        "url": request.url,
        "params": dict(request.params),
        "headers": mask_headers(dict(request.headers)),
        "idempotency_key": request.idempotency_key,
        "description": request.description,
        "body": body,
    }


async def _run_check(check: Any) -> Any:
    params = inspect.signature(check).parameters
    if params:
        async with httpx.AsyncClient(timeout=10) as client:
            result = check(client)
            return await result if inspect.isawaitable(result) else result
    result = check()
    return await result if inspect.isawaitable(result) else result


def shared_tokens(connector: object) -> bool:
    """Use the workers' tokens from the database, so a check never spends a refresh token they rotated.

    Without a database (a configuration checked before `dispatch init`) the token file is all there is.
    """
    from integrations.token_vault import share_tokens

    try:
        database = db()
    except DispatchError:
        return False
    return share_tokens(database, [connector]) > 0


@integrations_app.command("check")
@handles_errors
def check_command(
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Validate the configuration, resolve every connector's credentials, and run each connector's own check."""
    from integrations.token_vault import sealed_lookup

    settings = load_config(config)
    with contextlib.suppress(DispatchError):  # no database yet: sealed secrets are reported missing, one by one
        settings = settings.with_sealed(sealed_lookup(db()))
    rows: list[dict[str, Any]] = []
    for c in settings.connectors.values():
        row: dict[str, Any] = {"connector": c.name, "type": c.type, "enabled": c.enabled, "events": sorted(c.events)}
        try:
            c.credentials()
            connector = build_connector(c)
            shared_tokens(connector)
            check = getattr(connector, "check", None) if c.enabled else None
            detail = asyncio.run(_run_check(check)) if callable(check) else "configuration and credentials resolve"
            row.update(ok=True, detail=str(detail or "ok"))
        except DispatchError as e:
            row.update(ok=False, detail=e.message)
        except Exception as e:  # a connector's own check reports whatever went wrong
            row.update(ok=False, detail=f"{type(e).__name__}: {e}")
        rows.append(row)
    source = str(settings.path) if settings.path else "no configuration file (no connectors)"
    if as_json:
        print_json({"config": source, "connectors": rows})
    else:
        out.print(f"configuration: {source}", markup=False, highlight=False)
        table = Table("connector", "type", "enabled", "events", "check")
        for r in rows:
            mark = ("ok ", "green") if r["ok"] else ("FAIL ", "red")
            verdict = Text.assemble(mark, r["detail"])
            table.add_row(r["connector"], r["type"], "yes" if r["enabled"] else "no", ", ".join(r["events"]), verdict)
        out.print(table)
    if any(not r["ok"] for r in rows):
        raise typer.Exit(EXIT_ERROR)


@integrations_app.command("preview")
@handles_errors
def preview_command(
    event_seq: int = typer.Argument(..., help="The event's seq (see `dispatch events tail`)."),
    connector: str = typer.Option(..., "--connector", help="Connector name from the configuration."),
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """Print the exact request(s) the connector would send for one event (secrets masked); sends nothing."""
    from integrations.token_vault import sealed_lookup

    database = db()
    settings = load_config(config).with_sealed(sealed_lookup(database))
    cfg = settings.connector(connector)
    events = tail(database, event_seq - 1, 1)
    if not events or events[0].seq != event_seq:
        raise NotFound(f"event {event_seq} does not exist")
    event = events[0]
    built = build_connector(cfg)
    if event.type not in built.subscribes():
        err.print(
            f"note: {connector} does not subscribe to {event.type}; this is what it would send if it did",
            highlight=False,
        )
    requests = [_request_json(_wire(built, r)) for r in map_event(built, cfg, database, event)]
    if as_json:
        print_json(requests)
        return
    if not requests:
        out.print(f"{connector} sends nothing for event {event_seq} ({event.type})", highlight=False)
    for i, r in enumerate(requests):
        query = "&".join(f"{k}={v}" for k, v in r["params"].items())
        out.print(f"# request {i + 1} of {len(requests)}: {r['description']}", markup=False, highlight=False)
        out.print(f"{r['method']} {r['url']}" + (f"?{query}" if query else ""), markup=False, highlight=False)
        for k, v in r["headers"].items():
            out.print(f"{k}: {v}", markup=False, highlight=False)
        if r["idempotency_key"]:
            out.print(f"(idempotency key: {r['idempotency_key']})", markup=False, highlight=False)
        out.print("")
        body = r["body"]
        out.print(json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body, markup=False)


@integrations_app.command("authorize")
@handles_errors
def authorize_command(
    connector: str = typer.Argument(..., help="Connector name from the configuration, e.g. hubspot."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Local callback port (register it at the vendor)."),
    open_browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the consent page in a browser."),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="Seconds to wait for the consent."),
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="What was stored, as JSON."),
) -> None:
    """Authorise a connector once (OAuth2 authorisation code, local callback); stores its refresh token.

    Register http://127.0.0.1:PORT/callback as the app's redirect URL at the vendor first.
    """
    import webbrowser

    from integrations.authorize import AuthorizationFailed, authorize
    from integrations.secrets import CredentialsError

    cfg = load_config(config).connector(connector)

    def browse(url: str) -> None:
        err.print(f"Open this address to authorise {connector}:\n{url}", markup=False, highlight=False)
        if open_browser:
            webbrowser.open(url)

    try:
        done = authorize(cfg, port=port, browse=browse, timeout=timeout)
    except (AuthorizationFailed, CredentialsError) as e:
        err.print(labelled("error", str(e)))
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        print_json({"connector": done.connector, "scope": done.scope, "expires_at": done.expires_at,
                    "stored_in": done.stored_in})  # fmt: skip
    else:
        out.print(f"{connector} authorised (scope {done.scope}); tokens stored in {done.stored_in}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(integrations_app, name="integrations")
