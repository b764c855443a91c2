"""Users and roles: who may use the console, and how an OS (SSH) login maps to them."""

from __future__ import annotations

import getpass
import os

from sqlalchemy import func, or_, select

from data.actor import SYSTEM, Actor
from data.db import Database
from data.errors import InvalidInput, NotFound, PermissionDenied
from data.models.org import Role, User
from data.uow import UnitOfWork

ENV_USER = "DISPATCH_USER"


def add_user(
    db: Database,
    actor: Actor,
    login: str,
    name: str,
    role: Role,
    *,
    os_login: str | None = None,
    email: str | None = None,
    technician_id: int | None = None,
) -> User:
    """Admins add users; the very first user of a new database may be added by anyone (bootstrap)."""
    with UnitOfWork(db, actor) as uow:
        existing = uow.session.scalar(select(func.count()).select_from(User)) or 0
        if existing:
            actor.require_admin("add users")
        if not login.strip() or not login.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidInput("letters, digits, '.', '-' and '_' only", record=f"user {login!r}", field="login")
        if uow.session.scalar(select(User).where(User.login == login)) is not None:
            raise InvalidInput("is already taken", record=f"user {login}", field="login")
        if os_login and uow.session.scalar(select(User).where(User.os_login == os_login)) is not None:
            raise InvalidInput(
                f"'{os_login}' is already mapped to another user", record=f"user {login}", field="os_login"
            )
        user = User(login=login, name=name, role=role, os_login=os_login, email=email, technician_id=technician_id)
        uow.session.add(user)
        uow.session.flush()
        uow.emit("user.added", "user", user.id, {"login": login, "role": role, "os_login": os_login})
        return user


def list_users(db: Database) -> list[User]:
    with db.read() as session:
        return list(session.scalars(select(User).order_by(User.login)))


def resolve_actor(db: Database, login: str | None = None, source: str = "cli") -> Actor:
    """Who is at the keyboard: --as LOGIN, then $DISPATCH_USER, then the OS login mapped to a user."""
    wanted = login or os.environ.get(ENV_USER)
    os_user = getpass.getuser()
    with db.read() as session:
        if session.scalar(select(func.count()).select_from(User)) == 0:
            # A database nobody has claimed yet (e.g. right after `dispatch init` on a script host).
            return Actor(login=wanted or os_user, role=SYSTEM.role, source=source)
        mapped = session.scalar(select(User).where(or_(User.os_login == os_user, User.login == os_user)))
        if wanted and (mapped is None or mapped.login == wanted or mapped.role is Role.ADMIN):
            user = session.scalar(select(User).where(User.login == wanted))
            if user is None:
                raise NotFound(f"no Dispatch user '{wanted}' (see `dispatch users list`)")
        elif wanted:
            # An SSH supervisor mapped to their own user cannot become someone else.
            raise PermissionDenied(f"OS login '{os_user}' is {mapped.login if mapped else '?'}; cannot act as {wanted}")
        else:
            user = mapped
            if user is None:
                raise PermissionDenied(
                    f"OS login '{os_user}' is not mapped to a Dispatch user: ask an admin to run "
                    f"`dispatch users add LOGIN --os-login {os_user}`, or pass --as LOGIN"
                )
        if not user.active:
            raise PermissionDenied(f"user {user.login} is deactivated")
        return Actor(login=user.login, role=user.role, source=source, technician_id=user.technician_id)
