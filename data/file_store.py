"""Where uploaded photos and signature images live: a folder under the data directory, keyed by content.

`DISPATCH_FILES_DIR` names the folder; otherwise it sits beside a SQLite database (`<name>-files/`) or,
for PostgreSQL, in the user data directory. Several API processes on one host share it; on several hosts
point them all at one shared folder. Writes go to a temporary file first and are renamed into place,
so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from platformdirs import user_data_path

from data.db import Database
from data.errors import NotFound

ENV_FILES_DIR = "DISPATCH_FILES_DIR"
KEY = re.compile(r"^[a-z0-9][a-z0-9/_.-]{0,299}$")


class FileStore(Protocol):
    def put(self, key: str, content: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def describe(self, key: str) -> str: ...


@dataclass(frozen=True)
class LocalFileStore:
    root: Path

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size == len(content):
            return  # content-addressed: the same key holds the same bytes
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"file {key} is missing from the file store at {self.root}") from None

    def describe(self, key: str) -> str:
        return str(self._path(key))


def files_dir_for(db: Database) -> Path:
    explicit = os.environ.get(ENV_FILES_DIR)
    if explicit:
        return Path(explicit).expanduser()
    path = db.sqlite_path
    if path is not None and str(path) not in ("", ":memory:"):
        return path.with_name(f"{path.stem}-files")
    return user_data_path("dispatch", appauthor=False, ensure_exists=True) / "files"


def file_store_for(db: Database) -> FileStore:
    return LocalFileStore(files_dir_for(db))
