"""`dispatch roles add|edit|list|give`: roles a company defines from the fixed set of permissions."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from data.permissions import Permission, parse_permissions
from data.services.roles import RoleView, add_role, edit_role, give_role, list_roles
from dispatch_tui.cli.context import actor, db, handles_errors, out, print_json

roles_app = typer.Typer(help="Roles: the built-in ones and those the company defines.", no_args_is_help=True)

PERMISSIONS_HELP = "Comma-separated, from: " + ", ".join(p.value for p in Permission) + "."
BRANCHES_HELP = "Comma-separated branch codes the role acts in (default: every branch)."


def _codes(text: str | None) -> list[str]:
    return [c for c in (text or "").split(",") if c.strip()]


def _print(role: RoleView, as_json: bool) -> None:
    if as_json:
        print_json(asdict(role))
        return
    where = ", ".join(role.branches) or "every branch"
    out.print(f"role {role.name}: {', '.join(role.permissions) or 'no permissions'} in {where}", highlight=False)


@roles_app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="Role name, e.g. planner."),
    permissions: str = typer.Option(..., "--permissions", help=PERMISSIONS_HELP),
    branches: str | None = typer.Option(None, "--branches", help=BRANCHES_HELP),
    description: str = typer.Option("", "--description", help="What the role is for."),
    as_json: bool = typer.Option(False, "--json", help="Print the role as JSON."),
) -> None:
    """Define a role (admins only)."""
    role = add_role(db(), actor(), name, parse_permissions(permissions), _codes(branches), description)
    _print(role, as_json)


@roles_app.command("edit")
@handles_errors
def edit_command(
    name: str = typer.Argument(..., help="A role the company defined."),
    permissions: str | None = typer.Option(None, "--permissions", help=PERMISSIONS_HELP + " Replaces the old set."),
    branches: str | None = typer.Option(None, "--branches", help=BRANCHES_HELP + " Replaces the old set."),
    all_branches: bool = typer.Option(False, "--all-branches", help="Act in every branch again."),
    description: str | None = typer.Option(None, "--description", help="What the role is for."),
    as_json: bool = typer.Option(False, "--json", help="Print the role as JSON."),
) -> None:
    """Change a role's permissions, branches or description (admins only); its users act so at once."""
    role = edit_role(
        db(),
        actor(),
        name,
        permissions=None if permissions is None else parse_permissions(permissions),
        branches=[] if all_branches else (None if branches is None else _codes(branches)),
        description=description,
    )
    _print(role, as_json)


@roles_app.command("give")
@handles_errors
def give_command(
    login: str = typer.Argument(..., help="The user's login."),
    role: str = typer.Argument(..., help="A company role, or dispatcher / supervisor / admin."),
) -> None:
    """Give a user a role (admins only)."""
    give_role(db(), actor(), login, role)
    out.print(f"{login} now acts as {role}", highlight=False)


@roles_app.command("list")
@handles_errors
def list_command(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Every role, built-in ones first, with its permissions, branches and users."""
    roles = list_roles(db())
    if as_json:
        print_json([asdict(r) for r in roles])
        return
    table = Table("role", "permissions", "branches", "users", "", title="roles")
    for r in roles:
        table.add_row(
            r.name, ", ".join(r.permissions), ", ".join(r.branches) or "all", ", ".join(r.users), r.description
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(roles_app, name="roles")
