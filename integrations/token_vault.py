"""Connectors' OAuth2 tokens encrypted at rest in the database (Fernet), shared by every worker.

The key comes from `DISPATCH_SECRET_KEY` (a Fernet key: `python -c "from cryptography.fernet
import Fernet; print(Fernet.generate_key().decode())"`) or from `secret.key` in the data directory,
created 0600 on first use; a key file that others can read is refused. Losing the key loses only
the stored tokens: authorise the connectors again.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from platformdirs import user_data_path

from data.db import Database
from data.services.oauth_tokens import LockedToken, stored_token
from integrations.secrets import CredentialsError

KEY_ENV = "DISPATCH_SECRET_KEY"
KEY_FILE = "secret.key"


def default_key_file() -> Path:
    return user_data_path("dispatch", appauthor=False, ensure_exists=True) / KEY_FILE


def load_key(environ: Mapping[str, str] | None = None, key_file: Path | None = None) -> Fernet:
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        try:
            return Fernet(env[KEY_ENV].strip().encode())
        except ValueError as err:
            raise CredentialsError(f"{KEY_ENV} is not a Fernet key (32 url-safe base64 bytes)") from err
    path = key_file or default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker created it a moment ago
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise CredentialsError(f"key file {path} is readable by others: chmod 600 {path}")
    try:
        return Fernet(path.read_bytes().strip())
    except ValueError as err:
        raise CredentialsError(f"key file {path} does not hold a Fernet key") from err


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
    def __init__(self, db: Database, fernet: Fernet) -> None:
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


def share_tokens(db: Database, connectors: Iterable[object], fernet: Fernet | None = None) -> int:
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
