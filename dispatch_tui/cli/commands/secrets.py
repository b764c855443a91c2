"""`dispatch secrets set|list|rotate`: secrets sealed in the database, and rotating the key that seals them."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from data.errors import InvalidInput
from data.secret_key import KEY_ENV, load_keyring, new_key, write_key_file
from data.services.sealed_secrets import rotate, seal, secret_names
from dispatch_tui.cli.context import actor, db, err, handles_errors, out, print_json

secrets_app = typer.Typer(help="Secrets encrypted at rest: set, list, rotate the key.", no_args_is_help=True)


@secrets_app.command("set")
@handles_errors
def set_command(
    name: str = typer.Argument(
        ..., help='Secret name, e.g. webhook.acme (a connector reads it with secret_sealed = "NAME").'
    ),
    from_stdin: bool = typer.Option(False, "--stdin", help="Read the value from standard input instead of a prompt."),
) -> None:
    """Store a secret encrypted in the database (admins only); the value is never printed or logged."""
    value = sys.stdin.read().strip() if from_stdin else typer.prompt(f"value of {name}", hide_input=True)
    database = db()
    seal(database, actor(), load_keyring(), name, value)
    out.print(f"secret {name} stored encrypted", highlight=False)


@secrets_app.command("list")
@handles_errors
def list_command(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The names of the secrets sealed in the database (never their values)."""
    names = secret_names(db())
    if as_json:
        print_json({"secrets": names})
        return
    table = Table("secret", title="sealed secrets")
    for name in names:
        table.add_row(name)
    out.print(table)


@secrets_app.command("rotate")
@handles_errors
def rotate_command(
    new_key_file: Path | None = typer.Option(
        None, "--new-key-file", help=f"With the key in {KEY_ENV}: where to write the new keyring (0600) to put there."
    ),
    forget_old: bool = typer.Option(
        False, "--forget-old", help="Drop the old keys (backups encrypted with them can no longer be restored)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Encrypt every secret under a new key, in one transaction (admins only).

    With the key file, the new key is added first (old keys kept to read older encrypted backups), the database is
    re-encrypted, then the old keys are dropped if asked; a crash at any step leaves every secret readable.
    """
    database = db()
    who = actor()
    who.require_admin("rotate the secret key")
    current = load_keyring()
    ring = (new_key(), *current.keys)
    if current.from_env:
        if new_key_file is None:
            raise InvalidInput(f"the key comes from {KEY_ENV}: pass --new-key-file PATH", record="secrets rotate")
        target = new_key_file.expanduser()
    else:
        target = Path(current.source)
    write_key_file(target, ring)  # before the database: its new ciphertext must never lack its key
    done = rotate(database, who, load_keyring({}, target).fernet)
    if forget_old:
        write_key_file(target, ring[:1])
    if as_json:
        print_json({"oauth_tokens": done.oauth_tokens, "secrets": done.secrets, "key_file": str(target)})
    else:
        out.print(
            f"re-encrypted {done.oauth_tokens} connectors' OAuth tokens and {done.secrets} secrets;"
            f" new key in {target}",
            highlight=False,
        )
    if current.from_env:
        err.print(
            f"set {KEY_ENV} to the contents of {target} (comma-separated) and restart the services", highlight=False
        )


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
