"""`dispatch users add|edit|list|show|archive`: who may use Dispatch and which OS login maps to them."""

from __future__ import annotations

import typer
from rich.table import Table

from data.errors import NotFound
from data.models.org import Role, User
from data.services.users import USER_FIELDS, add_user, list_users, update_user
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json

users_app = typer.Typer(help="Users and roles.", no_args_is_help=True)


@users_app.command("add")
@handles_errors
def add_command(
    login: str = typer.Argument(..., help="Dispatch login."),
    name: str = typer.Option(..., "--name", help="Full name."),
    role: Role = typer.Option(..., "--role", help="dispatcher, supervisor (read-only), admin or technician."),
    os_login: str | None = typer.Option(None, "--os-login", help="OS/SSH account recognised as this user."),
    email: str | None = typer.Option(None, "--email"),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Add a user (admins only, except the very first user of a database)."""
    user = add_user(db(), actor(), login, name, role, os_login=os_login, email=email)
    if as_json:
        print_json({"added": user.login, "name": user.name, "role": user.role, "os_login": user.os_login})
        return
    mapped = f" (OS login {user.os_login})" if user.os_login else ""
    out.print(f"added {user.login}: {user.role.value}{mapped}")


@users_app.command("list")
@handles_errors
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Every user with role and OS login."""
    users = list_users(db())
    if as_json:
        print_json([_user_json(u) for u in users])
        return
    table = Table(title=f"Users ({len(users)})", header_style="bold")
    for col in ("login", "name", "role", "os login", "active"):
        table.add_column(col)
    for u in users:
        table.add_row(u.login, u.name, u.role.value, u.os_login or "", "yes" if u.active else "no")
    out.print(table)


def _user_json(u: User) -> dict[str, object]:
    return {"login": u.login, **{name: getattr(u, name) for name in USER_FIELDS}}


@users_app.command("edit")
@handles_errors
def edit_command(
    login: str = typer.Argument(..., help="Dispatch login."),
    name: str | None = typer.Option(None, "--name"),
    role: Role | None = typer.Option(None, "--role", help="dispatcher, supervisor (read-only), admin or technician."),
    os_login: str | None = typer.Option(None, "--os-login", help="OS/SSH account recognised as this user ('' clears)."),
    email: str | None = typer.Option(None, "--email", help="'' clears."),
    active: bool | None = typer.Option(None, "--active/--inactive", help="An inactive user cannot act."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Change a user (admins only); the last active admin cannot be demoted or deactivated."""
    given = {"name": name, "role": role, "os_login": os_login, "email": email, "active": active}
    changes: dict[str, object] = {
        k: (v or None) if k in ("os_login", "email") else v for k, v in given.items() if v is not None
    }
    if not changes:
        raise typer.BadParameter("name a field to change: --name, --role, --os-login, --email, --active/--inactive")
    user, changed = update_user(db(), actor(), login, changes)
    if as_json:
        print_json({"edited": _user_json(user), "changed": changed})
        return
    out.print(f"user {login}: " + (f"changed {', '.join(changed)}" if changed else "unchanged"), highlight=False)


@users_app.command("archive")
@handles_errors
def archive_command(
    login: str = typer.Argument(..., help="Dispatch login."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON for scripts."),
) -> None:
    """Deactivate a user: kept for the history that names them, unable to act."""
    _, changed = update_user(db(), actor(), login, {"active": False})
    if as_json:
        print_json({"archived": login, "changed": bool(changed)})
        return
    out.print(f"user {login}: " + ("archived" if changed else "was already archived"), highlight=False)


@users_app.command("show")
@handles_errors
def show_command(
    login: str = typer.Argument(..., help="Dispatch login."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """One user: role, OS login, email, active."""
    found = [u for u in list_users(db()) if u.login == login]
    if not found:
        raise NotFound(f"no Dispatch user '{login}' (see `dispatch users list`)")
    if as_json:
        print_json(_user_json(found[0]))
        return
    for key, value in _user_json(found[0]).items():
        out.print(f"{key}\t{getattr(value, 'value', value) if value is not None else ''}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
