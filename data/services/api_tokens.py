"""Issuing, listing, revoking and checking the per-technician API tokens of the field API.

A token reads `dsp_<id>_<secret>`: the id finds the row, the secret is compared in constant time
against the stored digest: HMAC-SHA256 under the pepper sealed in the database with the secret key
(`sealed_secrets.token_pepper`), so the digests in a stolen backup cannot be checked without the key.
The raw token is returned once, at issue, and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from data.actor import SYSTEM, Actor
from data.db import Database
from data.errors import DispatchError, InvalidInput, NotFound
from data.models.api_tokens import ApiToken
from data.models.base import utcnow
from data.models.org import Branch, Role, User
from data.models.workforce import Technician
from data.permissions import Permission
from data.services.jobs import find_technician
from data.services.sealed_secrets import token_pepper
from data.uow import UnitOfWork

TOKEN_PREFIX = "dsp"
# `last_used_at` is refreshed at most this often, so a phone pinging every few seconds does not
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LABEL = 120


class Unauthenticated(DispatchError):
    """No credentials, unknown credentials or revoked credentials (HTTP 401)."""

    exit_code = 2


@dataclass(frozen=True)
class IssuedToken:
    token_id: int
    technician_code: str
    label: str | None
    created_at: datetime
    secret: str  # the full bearer token, shown once

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"IssuedToken(token_id={self.token_id}, technician_code={self.technician_code!r})"


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    technician_id: int
    technician_code: str
    label: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class FieldIdentity:
    """Who a valid token speaks for: the technician and the actor their actions are recorded as."""

    token_id: int
    technician_id: int
    technician_code: str
    technician_name: str
    branch_code: str
    timezone: str
    actor: Actor
    last_use_stale: bool = False  # `last_used_at` is older than LAST_USED_RESOLUTION


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def peppered_digest(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def issue_token(db: Database, actor: Actor, technician: str | int, label: str | None = None) -> IssuedToken:
    """Admins issue a token for a technician; the returned secret is the only copy there will ever be."""
    actor.require_write("issue API tokens", Permission.ISSUE_TOKENS)
    if label is not None and len(label) > MAX_LABEL:
        raise InvalidInput(f"at most {MAX_LABEL} characters", record="API token", field="label")
    secret = secrets.token_urlsafe(32)
    hashed = peppered_digest(token_pepper(db, fresh=True), secret)
    with UnitOfWork(db, actor) as uow:
        tech = find_technician(uow.session, technician)
        row = ApiToken(technician_id=tech.id, secret_sha256=hashed, peppered=True, label=label, created_by=actor.login)
        uow.session.add(row)
        uow.session.flush()
        uow.emit("token.issued", "technician", tech.id, {"token_id": row.id, "code": tech.code, "label": label})
        return IssuedToken(row.id, tech.code, label, row.created_at, f"{TOKEN_PREFIX}_{row.id}_{secret}")


def revoke_token(db: Database, actor: Actor, token_id: int) -> TokenInfo:
    """Revoke a token at once; requests carrying it are refused from the next one on."""
    actor.require_write("revoke API tokens", Permission.ISSUE_TOKENS)
    with UnitOfWork(db, actor) as uow:
        row = uow.session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"API token {token_id} does not exist (see `dispatch tokens list`)")
        tech = uow.session.get(Technician, row.technician_id)
        assert tech is not None
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.revoked_by = actor.login
            uow.emit("token.revoked", "technician", tech.id, {"token_id": row.id, "code": tech.code})
        return _info(row, tech.code)


def list_tokens(db: Database, technician: str | int | None = None, *, include_revoked: bool = True) -> list[TokenInfo]:
    with db.read() as session:
        stmt = select(ApiToken, Technician.code).join(Technician).order_by(ApiToken.id)
        if technician is not None:
            stmt = stmt.where(ApiToken.technician_id == find_technician(session, technician).id)
        if not include_revoked:
            stmt = stmt.where(ApiToken.revoked_at.is_(None))
        return [_info(row, code) for row, code in session.execute(stmt)]


def _info(row: ApiToken, code: str) -> TokenInfo:
    return TokenInfo(
        row.id, row.technician_id, code, row.label, row.created_at, row.created_by, row.last_used_at, row.revoked_at
    )


def parse_token(raw: str) -> tuple[int, str] | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1].isdigit() or not parts[2]:
        return None
    if len(parts[1]) > 18:
        return None
    return int(parts[1]), parts[2]


def touch_token(db: Database, token_id: int, at: datetime) -> None:
    """Note when a token was last used (no event: it is bookkeeping, not a business fact)."""
    with UnitOfWork(db, SYSTEM) as uow:
        uow.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


def authenticate(db: Database, raw: str | None, *, source: str = "api", touch: bool = True) -> FieldIdentity:
    """The technician behind a bearer token, or Unauthenticated with a reason the app can show.

    With `touch`, a stale `last_used_at` is refreshed at once; callers that queue their writes pass
    `touch=False` and call `touch_token` themselves when `last_use_stale` is set.
    """
    if not raw:
        raise Unauthenticated("missing API token: send 'Authorization: Bearer <token>'")
    parsed = parse_token(raw)
    if parsed is None:
        raise Unauthenticated("malformed API token: expected 'dsp_<id>_<secret>' as issued by `dispatch tokens issue`")
    token_id, secret = parsed
    now = utcnow()
    with db.read() as session:
        # One query for everything a request needs: this runs before every call a phone makes.
        found = session.execute(
            select(
                ApiToken.secret_sha256,
                ApiToken.peppered,
                ApiToken.revoked_at,
                ApiToken.last_used_at,
                Technician.id,
                Technician.code,
                Technician.name,
                Technician.active,
                Branch.code,
                Branch.timezone,
                User.login,
            )
            .join(Technician, Technician.id == ApiToken.technician_id)
            .join(Branch, Branch.id == Technician.branch_id)
            .outerjoin(User, (User.technician_id == Technician.id) & User.active.is_(True))
            .where(ApiToken.id == token_id)
            .limit(1)
        ).first()
    # Compare even when the row is missing so timing does not reveal which ids exist.
    pepper = token_pepper(db)
    expected = found[0] if found is not None else peppered_digest(pepper, "")
    given = peppered_digest(pepper, secret) if found is None or found[1] else digest(secret)
    matches = hmac.compare_digest(expected, given)
    if found is None or not matches:
        raise Unauthenticated("invalid API token")
    _, _, revoked_at, last_used_at, tech_id, tech_code, tech_name, tech_active, branch_code, tz, user_login = found
    if revoked_at is not None:
        raise Unauthenticated(f"API token {token_id} was revoked at {revoked_at:%Y-%m-%d %H:%M} UTC")
    if not tech_active:
        raise Unauthenticated(f"technician {tech_code} of API token {token_id} is not active")
    stale = last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION
    if stale and touch:
        touch_token(db, token_id, now)
    actor = Actor(login=user_login or tech_code, role=Role.TECHNICIAN, source=source, technician_id=tech_id)
    return FieldIdentity(token_id, tech_id, tech_code, tech_name, branch_code, tz, actor, stale)
