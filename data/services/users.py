"""Users and roles: who may use the console, and how an OS (SSH) login maps to them."""

from __future__ import annotations

import os
import pwd

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.actor import SYSTEM, Actor
from data.db import Database
from data.errors import InvalidInput, NotFound, PermissionDenied
from data.models.org import Role, User
from data.services.roles import actor_for, keep_an_admin
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


USER_FIELDS = ("name", "role", "os_login", "email", "active")


def update_user(db: Database, actor: Actor, login: str, changes: dict[str, object]) -> tuple[User, list[str]]:
    """Admins change a user's name, role, OS login, email or active flag; the last active admin stays one."""
    actor.require_admin("change users")
    record = f"user {login}"
    unknown = sorted(set(changes) - set(USER_FIELDS))
    if unknown:
        raise InvalidInput(f"cannot be changed (fields: {', '.join(USER_FIELDS)})", record=record, field=unknown[0])
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        user = s.scalar(select(User).where(User.login == login))
        if user is None:
            raise NotFound(f"no Dispatch user '{login}' (see `dispatch users list`)")
        os_name = changes.get("os_login")
        if os_name and s.scalar(select(User).where(User.os_login == os_name, User.id != user.id)) is not None:
            raise InvalidInput(f"'{os_name}' is already mapped to another user", record=record, field="os_login")
        changed = [name for name, value in changes.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, changes[name])
        if user.role is not Role.ADMIN or not user.active:
            s.flush()
            keep_an_admin(s, record)
        if changed:
            s.flush()
            uow.emit("user.updated", "user", user.id, {"login": login, "changed": changed})
        return user, changed


def list_users(db: Database) -> list[User]:
    with db.read() as session:
        return list(session.scalars(select(User).order_by(User.login)))


def os_login() -> str | None:
    """The login name of the OS account this process runs as, from its real user id.

    Never `LOGNAME`/`USER` (what `getpass.getuser()` reads first): anyone can set those. None when the
    user id has no passwd entry (a container's arbitrary uid), which maps to nobody.
    """
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None


def resolve_actor(db: Database, login: str | None = None, source: str = "cli") -> Actor:
    """Who is at the keyboard: the OS login mapped to a user; --as LOGIN (or $DISPATCH_USER) only for an admin's.

    A user mapped explicitly (`--os-login`) is found by that mapping; a user without one matches an OS login of the
    same name. An OS login mapped to nobody gets nothing, so setting an environment variable proves no identity.
    """
    wanted = login or os.environ.get(ENV_USER)
    os_user = os_login()
    with db.read() as session:
        if session.scalar(select(func.count()).select_from(User)) == 0:
            # A database nobody has claimed yet (e.g. right after `dispatch init` on a script host).
            return Actor(login=wanted or os_user or f"uid {os.getuid()}", role=SYSTEM.role, source=source)
        mapped = _mapped_user(session, os_user)
        if mapped is None:
            shown = f"OS login '{os_user}'" if os_user else f"OS user id {os.getuid()} (no passwd entry)"
            hint = f"--os-login {os_user}" if os_user else "--os-login LOGIN"
            raise PermissionDenied(
                f"{shown} is not mapped to a Dispatch user: ask an admin to run `dispatch users add LOGIN {hint}`"
                + (f" (--as {wanted} needs an OS login mapped to an admin)" if wanted else "")
            )
        if not mapped.active:
            raise PermissionDenied(f"user {mapped.login} (OS login '{os_user}') is deactivated")
        if not wanted or wanted == mapped.login:
            user = mapped
        elif mapped.role is not Role.ADMIN:
            # An SSH supervisor mapped to their own user cannot become someone else.
            raise PermissionDenied(f"OS login '{os_user}' is {mapped.login}; only an admin can act as {wanted}")
        else:
            found = session.scalar(select(User).where(User.login == wanted))
            if found is None:
                raise NotFound(f"no Dispatch user '{wanted}' (see `dispatch users list`)")
            user = found
        if not user.active:
            raise PermissionDenied(f"user {user.login} is deactivated")
        return actor_for(session, user, source)


def _mapped_user(session: Session, os_user: str | None) -> User | None:
    if os_user is None:
        return None
    explicit = session.scalar(select(User).where(User.os_login == os_user))
    if explicit is not None:
        return explicit
    return session.scalar(select(User).where(User.login == os_user, User.os_login.is_(None)))
