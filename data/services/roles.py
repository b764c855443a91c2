"""Roles a company defines: named sets of permissions, optionally scoped to branches, given to users by admins.

The built-in dispatcher, supervisor and admin stay as predefined roles (`data.permissions.BUILT_IN`);
`list_roles` shows them beside the company's own. A user given a company role acts with its permissions
(`actor_for`), whatever built-in role they had.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.models.org import Branch, CompanyRole, Role, User
from data.permissions import BUILT_IN, BUILT_IN_NAMES, Permission
from data.uow import UnitOfWork

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


@dataclass(frozen=True)
class RoleView:
    name: str
    permissions: tuple[str, ...]
    branches: tuple[str, ...]  # empty: every branch
    built_in: bool
    description: str = ""
    users: tuple[str, ...] = ()


def _branch_codes(session: Session, codes: Iterable[str], record: str) -> list[str]:
    wanted = sorted({c.strip() for c in codes if c.strip()})
    known = set(session.scalars(select(Branch.code).where(Branch.code.in_(wanted))))
    missing = [c for c in wanted if c not in known]
    if missing:
        raise InvalidInput(f"no branch {', '.join(missing)}", record=record, field="branches")
    return wanted


def _find(session: Session, name: str) -> CompanyRole:
    row = session.scalar(select(CompanyRole).where(CompanyRole.name == name))
    if row is None:
        raise NotFound(f"no role {name!r} (see `dispatch roles list`)")
    return row


def add_role(
    db: Database,
    actor: Actor,
    name: str,
    permissions: frozenset[Permission],
    branches: Iterable[str] = (),
    description: str = "",
) -> RoleView:
    actor.require_admin("define roles")
    record = f"role {name}"
    if not NAME.match(name):
        raise InvalidInput(
            "2-40 lower-case letters, digits, '-' or '_', starting with a letter", record=record, field="name"
        )
    if name in BUILT_IN_NAMES or name == Role.TECHNICIAN.value:
        raise InvalidInput("is a built-in role", record=record, field="name")
    with UnitOfWork(db, actor) as uow:
        if uow.session.scalar(select(CompanyRole.id).where(CompanyRole.name == name)) is not None:
            raise InvalidInput("already exists (use `dispatch roles edit`)", record=record, field="name")
        row = CompanyRole(
            name=name,
            description=description,
            permissions=sorted(p.value for p in permissions),
            branch_codes=_branch_codes(uow.session, branches, record),
        )
        uow.session.add(row)
        uow.session.flush()
        uow.emit(
            "role.defined", "role", row.id, {"name": name, "permissions": row.permissions, "branches": row.branch_codes}
        )
        return _view(row, ())


def edit_role(
    db: Database,
    actor: Actor,
    name: str,
    *,
    permissions: frozenset[Permission] | None = None,
    branches: Iterable[str] | None = None,
    description: str | None = None,
) -> RoleView:
    actor.require_admin("edit roles")
    if name in BUILT_IN_NAMES:
        raise InvalidInput("built-in roles are fixed; define a role of your own", record=f"role {name}", field="name")
    with UnitOfWork(db, actor) as uow:
        row = _find(uow.session, name)
        if permissions is not None:
            row.permissions = sorted(p.value for p in permissions)
        if branches is not None:
            row.branch_codes = _branch_codes(uow.session, branches, f"role {name}")
        if description is not None:
            row.description = description
        uow.emit(
            "role.changed", "role", row.id, {"name": name, "permissions": row.permissions, "branches": row.branch_codes}
        )
        users = tuple(
            uow.session.scalars(select(User.login).where(User.company_role_id == row.id).order_by(User.login))
        )
        return _view(row, users)


def give_role(db: Database, actor: Actor, login: str, role: str) -> User:
    """Give a user a company role, or a built-in one (which takes any company role away)."""
    actor.require_admin("give users roles")
    with UnitOfWork(db, actor) as uow:
        user = uow.session.scalar(select(User).where(User.login == login))
        if user is None:
            raise NotFound(f"no Dispatch user '{login}' (see `dispatch users list`)")
        if role in BUILT_IN_NAMES:
            user.role, user.company_role_id = Role(role), None
        else:
            user.company_role_id = _find(uow.session, role).id
            if user.role is Role.ADMIN:
                user.role = Role.DISPATCHER  # a company role replaces the admin's powers, it never adds to them
        uow.session.flush()
        keep_an_admin(uow.session, f"user {login}")
        uow.emit("user.role_changed", "user", user.id, {"login": login, "role": role})
        return user


def keep_an_admin(session: Session, record: str) -> None:
    """After a change: refuse it when no active admin (a built-in admin, no company role) would be left."""
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.company_role_id.is_(None))
    )
    if not admins:
        raise InvalidInput("is the last active admin: make another admin first", record=record, field="role")


def list_roles(db: Database) -> list[RoleView]:
    with db.read() as session:
        users: dict[int, list[str]] = {}
        built_in_users: dict[Role, list[str]] = {}
        for user in session.scalars(select(User).order_by(User.login)):
            if user.company_role_id is not None:
                users.setdefault(user.company_role_id, []).append(user.login)
            else:
                built_in_users.setdefault(user.role, []).append(user.login)
        views = [
            RoleView(
                r.value,
                tuple(sorted(p.value for p in BUILT_IN[r])),
                (),
                True,
                "built in",
                tuple(built_in_users.get(r, ())),
            )
            for r in (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
        ]
        rows = session.scalars(select(CompanyRole).order_by(CompanyRole.name))
        return views + [_view(r, tuple(users.get(r.id, ()))) for r in rows]


def _view(row: CompanyRole, users: tuple[str, ...]) -> RoleView:
    return RoleView(row.name, tuple(row.permissions), tuple(row.branch_codes), False, row.description, users)


def actor_for(session: Session, user: User, source: str) -> Actor:
    """The actor a user acts as: their company role's permissions and branches, else their built-in role's."""
    base = Actor(login=user.login, role=user.role, source=source, technician_id=user.technician_id)
    if user.company_role_id is None:
        return base
    role = session.get(CompanyRole, user.company_role_id)
    assert role is not None
    branch_ids = None
    if role.branch_codes:
        branch_ids = frozenset(session.scalars(select(Branch.id).where(Branch.code.in_(role.branch_codes))))
    return Actor(
        login=user.login,
        role=user.role,
        source=source,
        technician_id=user.technician_id,
        role_name=role.name,
        granted=frozenset(Permission(p) for p in role.permissions),
        branch_ids=branch_ids,
    )
