"""Connectors' OAuth2 tokens encrypted at rest in the database (Fernet), shared by every worker.

The key is Dispatch's one secret key (`data.secret_key`: `DISPATCH_SECRET_KEY` or the 0600
`secret.key` in the data directory). Losing the key loses only the stored tokens: authorise the
connectors again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from data.db import Database
from data.secret_key import KEY_ENV, SecretKeyError, load_keyring
from data.services.oauth_tokens import LockedToken, stored_token
from data.services.sealed_secrets import unseal
from integrations.secrets import CredentialsError

__all__ = ["KEY_ENV", "Held", "TokenVault", "load_key", "sealed_lookup", "share_tokens"]


def load_key(environ: Mapping[str, str] | None = None, key_file: Path | None = None) -> MultiFernet:
    """The secret key's keyring; a missing or unsafe key is a CredentialsError, as every connector error is."""
    try:
        return load_keyring(environ, key_file).fernet
    except SecretKeyError as err:
        raise CredentialsError(err.message) from err


class Held:
    """A connector's tokens under the row lock: `current` as stored, `save` to store new ones."""

    def __init__(self, vault: TokenVault, locked: LockedToken) -> None:
        self._vault = vault
        self._locked: LockedToken | None = locked
        self.current = vault.decrypt(locked.ciphertext) if locked.ciphertext else None

    def save(self, tokens: Mapping[str, Any]) -> None:
        assert self._locked is not None, "saved after close"
        self._locked.save(self._vault.encrypt(tokens))

    def close(self) -> None:
        if self._locked is not None:
            self._locked.close()
            self._locked = None


class TokenVault:
    def __init__(self, db: Database, fernet: Fernet | MultiFernet) -> None:
        self.db = db
        self.fernet = fernet

    def encrypt(self, tokens: Mapping[str, Any]) -> str:
        return self.fernet.encrypt(json.dumps(dict(tokens)).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            data = json.loads(self.fernet.decrypt(ciphertext.encode()))
        except InvalidToken as err:
            raise CredentialsError(
                "stored OAuth tokens cannot be decrypted with this key (was the key changed?): "
                "authorise the connector again"
            ) from err
        return dict(data)

    def load(self, connector: str) -> dict[str, Any] | None:
        ciphertext = stored_token(self.db, connector)
        return self.decrypt(ciphertext) if ciphertext else None

    def hold(self, connector: str) -> Held:
        """Lock the connector's row (blocks while another worker refreshes); close the result when done."""
        return Held(self, LockedToken(self.db, connector))


def share_tokens(db: Database, connectors: Iterable[object], fernet: Fernet | MultiFernet | None = None) -> int:
    """Keep the OAuth2 tokens of these connectors in the database; returns how many use OAuth2.

    The key is read (or the key file created) only when some connector refreshes tokens.
    """
    from integrations.oauth import RefreshingOAuth2

    auths = [a for a in (getattr(c, "auth", None) for c in connectors) if isinstance(a, RefreshingOAuth2)]
    if auths:
        vault = TokenVault(db, fernet or load_key())
        for auth in auths:
            auth.vault = vault
    return len(auths)


def sealed_lookup(db: Database) -> Callable[[str], str | None]:
    """Reads connectors' `x_sealed = "NAME"` secrets from the database; the key is read on first use."""

    def lookup(name: str) -> str | None:
        return unseal(db, load_keyring(), name)

    return lookup
