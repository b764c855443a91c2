"""The one key that encrypts Dispatch's secrets at rest, and the keyring that decrypts older ones.

The key comes from `DISPATCH_SECRET_KEY` (a Fernet key; several, comma-separated, newest first, while
a rotation is under way) or from `secret.key` in the data directory, created 0600 on first use: one key
per line, the first encrypts, the others only decrypt what older keys encrypted (backups made before a
rotation). A key file that others can read is refused. Generate a key with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from data.atomic_files import write_private
from data.errors import DispatchError
from data.paths import data_file

KEY_ENV = "DISPATCH_SECRET_KEY"
KEY_FILE = "secret.key"


class SecretKeyError(DispatchError):
    """The key is missing, malformed, unsafe, or does not open what it was asked to open."""

    exit_code = 2


def default_key_file() -> Path:
    return data_file(KEY_FILE)


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts) and the retired ones (decrypt only), and where they came from."""

    keys: tuple[bytes, ...]
    source: str  # "env" or the key file's path

    @property
    def fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    @property
    def from_env(self) -> bool:
        return self.source == "env"

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.fernet.encrypt(plaintext)

    def decrypt(self, token: bytes, what: str) -> bytes:
        """Decrypt with any key of the ring, or SecretKeyError naming `what` could not be opened."""
        try:
            return self.fernet.decrypt(token)
        except InvalidToken:
            raise SecretKeyError(f"{what} cannot be decrypted with the key in {self.describe()}") from None

    def describe(self) -> str:
        return KEY_ENV if self.from_env else str(self.source)


def _parse(lines: Sequence[str], where: str) -> tuple[bytes, ...]:
    keys = tuple(line.strip().encode() for line in lines if line.strip())
    if not keys:
        raise SecretKeyError(f"{where} holds no key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise SecretKeyError(f"{where} does not hold a Fernet key (32 url-safe base64 bytes)") from None
    return keys


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Replace the key file atomically, created 0600, so no moment exists with a partial or readable key."""
    write_private(path, b"\n".join(keys) + b"\n")


def load_keyring(environ: Mapping[str, str] | None = None, key_file: Path | None = None) -> Keyring:
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return Keyring(_parse(env[KEY_ENV].split(","), KEY_ENV), "env")
    path = key_file or default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it a moment ago
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key() + b"\n")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise SecretKeyError(f"key file {path} is readable by others: chmod 600 {path}")
    return Keyring(
        _parse(path.read_text(encoding="ascii", errors="replace").splitlines(), f"key file {path}"), str(path)
    )


def load_key(environ: Mapping[str, str] | None = None, key_file: Path | None = None) -> MultiFernet:
    """The keyring as one Fernet-like object: encrypts with the current key, decrypts with any."""
    return load_keyring(environ, key_file).fernet


def new_key() -> bytes:
    return Fernet.generate_key()
