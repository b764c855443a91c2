"""`dispatch users add|list`: who may use Dispatch and which OS login maps to them."""

from __future__ import annotations

import typer
from rich.table import Table

from data.models.org import Role
from data.services.users import add_user, list_users
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
        print_json(
            [
                {
                    "login": u.login,
                    "name": u.name,
                    "role": u.role,
                    "os_login": u.os_login,
                    "email": u.email,
                    "active": u.active,
                }
                for u in users
            ]
        )
        return
    table = Table(title=f"Users ({len(users)})", header_style="bold")
    for col in ("login", "name", "role", "os login", "active"):
        table.add_column(col)
    for u in users:
        table.add_row(u.login, u.name, u.role.value, u.os_login or "", "yes" if u.active else "no")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
