"""Files encrypted with the secret key (encrypted backups), streamed in Fernet-sealed chunks.

Fernet has no streaming mode, so a file becomes a header line and then frames: a 4-byte length and a
Fernet token whose plaintext is the chunk's index, a last-chunk flag and up to 1 MiB of data. Each
chunk is authenticated; the index and the flag make a reordered or truncated file fail as loudly as
a wrong key does.
"""

from __future__ import annotations

import struct
from pathlib import Path

from data.errors import InvalidInput
from data.secret_key import Keyring

MAGIC = b"DISPATCH-ENCRYPTED 1\n"
CHUNK = 1 << 20
_FRAME = struct.Struct(">I")
_HEAD = struct.Struct(">Q?")


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def encrypt_file(source: Path, target: Path, keyring: Keyring) -> None:
    fernet = keyring.fernet
    with source.open("rb") as src, target.open("wb") as dst:
        dst.write(MAGIC)
        index = 0
        chunk = src.read(CHUNK)
        while True:
            following = src.read(CHUNK)
            token = fernet.encrypt(_HEAD.pack(index, not following) + chunk)
            dst.write(_FRAME.pack(len(token)) + token)
            if not following:
                break
            chunk, index = following, index + 1


def decrypt_file(source: Path, target: Path, keyring: Keyring) -> None:
    """Decrypt `source` into `target`; a wrong key or a damaged file is InvalidInput naming the file."""
    with source.open("rb") as src, target.open("wb") as dst:
        if src.read(len(MAGIC)) != MAGIC:
            raise InvalidInput(f"{source} is not an encrypted Dispatch file", record="restore", field="PATH")
        index, last = 0, False
        while not last:
            size = src.read(_FRAME.size)
            if len(size) != _FRAME.size:
                raise InvalidInput(f"{source} is cut short (chunk {index} missing)", record="restore", field="PATH")
            token = src.read(_FRAME.unpack(size)[0])
            plain = keyring.decrypt(token, f"encrypted backup {source}")
            seen, last = _HEAD.unpack_from(plain)
            if seen != index:
                raise InvalidInput(f"{source} is damaged (chunk {index} out of order)", record="restore", field="PATH")
            dst.write(plain[_HEAD.size :])
            index += 1
        if src.read(1):
            raise InvalidInput(f"{source} has data after its last chunk", record="restore", field="PATH")
