"""Secrets kept encrypted in the database, and the key rotation that re-encrypts every one of them at once.

What is sealed: connectors' OAuth2 tokens (`oauth_tokens`), named secrets such as a webhook's signing
secret (`sealed_secrets`, set with `dispatch secrets set`), and the pepper of the field API tokens'
digests. Only ciphertext reaches the database, its backups and its replicas.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput, NotFound
from data.models.deliveries import OAuthToken
from data.models.sealed import SealedSecret
from data.secret_key import Keyring, SecretKeyError, load_keyring
from data.uow import UnitOfWork

TOKEN_PEPPER = "field_api.token_pepper"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,119}$")
MAX_VALUE = 4096

_peppers: dict[str, bytes] = {}  # per database URL: the pepper never changes, only its encryption does


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"{name!r} is not a secret name (lower-case letters, digits, '.', '_', '-')", record="secret", field="NAME"
        )


def seal(db: Database, actor: Actor, keyring: Keyring, name: str, value: str) -> None:
    """Store (or replace) a named secret, encrypted; the event names it and never carries the value."""
    actor.require_admin("set secrets")
    _check_name(name)
    if not value or len(value) > MAX_VALUE:
        raise InvalidInput(f"must be 1 to {MAX_VALUE} characters", record=f"secret {name}", field="value")
    ciphertext = keyring.encrypt(value.encode()).decode()
    with UnitOfWork(db, actor) as uow:
        row = uow.session.get(SealedSecret, name)
        if row is None:
            uow.session.add(SealedSecret(name=name, ciphertext=ciphertext, updated_by=actor.login))
        else:
            row.ciphertext, row.updated_by = ciphertext, actor.login
        uow.emit("secret.set", "secret", name, {"name": name})


def unseal(db: Database, keyring: Keyring, name: str) -> str | None:
    with db.read() as session:
        ciphertext = session.scalar(select(SealedSecret.ciphertext).where(SealedSecret.name == name))
    if ciphertext is None:
        return None
    return keyring.decrypt(ciphertext.encode(), f"secret {name}").decode()


def secret_names(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(SealedSecret.name).order_by(SealedSecret.name)))


def token_pepper(db: Database, keyring: Keyring | None = None, *, fresh: bool = False) -> bytes:
    """The field API tokens' pepper, created on first use (the first process to insert it wins).

    The key is read only on a process's first call: the pepper is then remembered. Issuing a token
    reads it `fresh`, so a token is never hashed with a pepper the database does not hold.
    """
    cached = None if fresh else _peppers.get(db.url)
    if cached is not None:
        return cached
    keyring = keyring or load_keyring()
    value = unseal(db, keyring, TOKEN_PEPPER)
    if value is None:
        try:
            with db.write_session() as session, session.begin():
                sealed = keyring.encrypt(secrets.token_bytes(32).hex().encode()).decode()
                session.add(SealedSecret(name=TOKEN_PEPPER, ciphertext=sealed))
        except IntegrityError:
            pass  # another process created it a moment ago
        value = unseal(db, keyring, TOKEN_PEPPER)
        assert value is not None
    pepper = bytes.fromhex(value)
    _peppers[db.url] = pepper
    return pepper


@dataclass(frozen=True)
class Rotated:
    oauth_tokens: int
    secrets: int


def rotate(db: Database, actor: Actor, ring: MultiFernet) -> Rotated:
    """Re-encrypt every sealed value under the ring's first key, in one transaction: all or nothing.

    `ring` must hold the new key first and the keys the values were encrypted with after it.
    """
    actor.require_admin("rotate the secret key")
    with UnitOfWork(db, actor) as uow:
        tokens = list(uow.session.scalars(select(OAuthToken).where(OAuthToken.ciphertext != "")))
        sealed = list(uow.session.scalars(select(SealedSecret)))
        rows: list[tuple[OAuthToken | SealedSecret, str]] = [
            *((t, f"OAuth tokens of connector {t.connector}") for t in tokens),
            *((s, f"secret {s.name}") for s in sealed),
        ]
        for row, what in rows:
            try:
                row.ciphertext = ring.rotate(row.ciphertext.encode()).decode()
            except InvalidToken:
                raise SecretKeyError(f"{what} cannot be decrypted with the current key; nothing was rotated") from None
        uow.emit("secrets.rotated", "secret", "key", {"oauth_tokens": len(tokens), "secrets": len(sealed)})
    return Rotated(len(tokens), len(sealed))


def require_secret(db: Database, keyring: Keyring, name: str) -> str:
    value = unseal(db, keyring, name)
    if value is None:
        raise NotFound(f"no secret {name!r} in the database: set it with `dispatch secrets set {name}`")
    return value
