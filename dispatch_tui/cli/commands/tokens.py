"""`dispatch tokens`: issue, list and revoke the technicians' field API tokens."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno
import typer
from rich.table import Table

from data.errors import InvalidInput
from data.services.api_tokens import issue_token, list_tokens, revoke_token
from dispatch_tui.cli.context import actor, db, err, handles_errors, out, print_json

tokens_app = typer.Typer(help="Field API tokens: one or more per technician, revocable, stored hashed.")


DEFAULT_APP_URL = "http://127.0.0.1:8080"


def checked_app_url(value: str) -> str:
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise InvalidInput(
            f"{value!r} is not an http(s) address such as https://field.example.com",
            record="tokens issue",
            field="app-url",
        )
    return value.strip().rstrip("/")


def sign_in_link(app_url: str, secret: str) -> str:
    """The token rides in the fragment (#), which browsers never send to a server or write to its logs."""
    return f"{app_url}/app/#token={secret}"


def qr_text(link: str) -> str:
    """The link as a QR code drawn with half blocks, scannable from a terminal (segno: pure Python, no deps)."""
    code = segno.make(link, error="m")
    buffer = io.StringIO()
    code.terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


@tokens_app.command("issue")
@handles_errors
def issue_command(
    technician: str = typer.Argument(..., help="Technician code, e.g. T1."),
    label: str | None = typer.Option(None, "--label", help="What the token is for, e.g. 'Pixel 8 phone'."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    qr: bool = typer.Option(False, "--qr", help="Also print a QR code of the app's sign-in link for the phone."),
    app_url: str = typer.Option(
        DEFAULT_APP_URL,
        "--app-url",
        envvar="DISPATCH_FIELD_APP_URL",
        help="Where phones reach `dispatch serve` (the link is <app-url>/app/#token=...).",
    ),
) -> None:
    """Issue a token (admins only). The token is printed once: it cannot be shown again."""
    link_base = checked_app_url(app_url)
    issued = issue_token(db(), actor("cli"), technician, label)
    link = sign_in_link(link_base, issued.secret)
    if as_json:
        print_json(
            {
                "token_id": issued.token_id,
                "technician": issued.technician_code,
                "label": issued.label,
                "token": issued.secret,
                "sign_in_link": link,
            }
        )
        return
    err.print(f"token {issued.token_id} for {issued.technician_code}; shown once, store it now:", highlight=False)
    out.print(issued.secret, markup=False, highlight=False)
    err.print("sign-in link for the technician's phone:", highlight=False)
    out.print(link, markup=False, highlight=False, soft_wrap=True)
    if qr:
        err.print("scan with the phone's camera:", highlight=False)
        out.file.write(qr_text(link))
        out.file.flush()


@tokens_app.command("list")
@handles_errors
def list_command(
    technician: str | None = typer.Option(None, "--technician", help="Only this technician's tokens."),
    active: bool = typer.Option(False, "--active", help="Hide revoked tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List tokens (never their secrets)."""
    rows = list_tokens(db(), technician, include_revoked=not active)
    if as_json:
        print_json(
            [
                {
                    "token_id": t.token_id,
                    "technician": t.technician_code,
                    "label": t.label,
                    "created_at": t.created_at,
                    "created_by": t.created_by,
                    "last_used_at": t.last_used_at,
                    "revoked_at": t.revoked_at,
                }
                for t in rows
            ]
        )
        return
    table = Table("id", "technician", "label", "created", "last used", "state")
    for t in rows:
        table.add_row(
            str(t.token_id),
            t.technician_code,
            t.label or "",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            "active" if t.active else f"revoked {t.revoked_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@tokens_app.command("revoke")
@handles_errors
def revoke_command(
    token_id: int = typer.Argument(..., help="Token id from `dispatch tokens list`."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Revoke a token at once (admins only): the next request carrying it gets 401."""
    info = revoke_token(db(), actor("cli"), token_id)
    if as_json:
        print_json(
            {
                "token_id": info.token_id,
                "technician": info.technician_code,
                "label": info.label,
                "revoked_at": info.revoked_at,
            }
        )
        return
    out.print(f"token {info.token_id} of {info.technician_code} revoked", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
