"""`dispatch init`: create or migrate the database and make the person running it its first admin."""

from __future__ import annotations

import re

import typer
from sqlalchemy import func, select

from data.actor import SYSTEM
from data.errors import PermissionDenied
from data.migrate import current_revision
from data.models.org import Role, User
from data.services.users import add_user, os_login
from dispatch_tui.cli.context import db, handles_errors, out


def _login_for(os_login: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", os_login).strip("_")
    return cleaned or "admin"


@handles_errors
def init_command(
    name: str | None = typer.Option(None, "--name", help="Full name of the first admin (default: the OS login)."),
) -> None:
    """Create (or migrate) the database; when it has no users, add an admin mapped to your OS login."""
    database = db(create=True)  # opening migrates to the newest schema
    out.print(f"database {database.url} at revision {current_revision(database)}", highlight=False)
    with database.read() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
    if users:
        out.print(f"{users} user(s) already exist; nothing else to do")
        return
    login = os_login()
    if login is None:
        raise PermissionDenied(
            "this OS user id has no login name (no passwd entry): run `dispatch init` as a named user"
        )
    user = add_user(database, SYSTEM, _login_for(login), name or login, Role.ADMIN, os_login=login)
    out.print(f"added admin {user.login} (OS login {login})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
