"""Where uploaded photos and signature images live: a folder under the data directory, or an S3 bucket.

`DISPATCH_FILES_URL=s3://bucket/prefix` puts them in an S3-compatible store (AWS, MinIO, Ceph, R2...;
`DISPATCH_S3_ENDPOINT_URL` names a non-AWS endpoint, credentials come the standard AWS way). Otherwise
`DISPATCH_FILES_DIR` names a folder, else it sits beside a SQLite database (`<name>-files/`) or, for
PostgreSQL, in the user data directory. Local writes go to a temporary file first and are renamed into
place, so a reader never sees half a file; an S3 PUT is atomic by itself.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from data.atomic_files import write_private
from data.db import Database
from data.errors import NotFound, StorageUnavailable
from data.paths import data_file

ENV_FILES_DIR = "DISPATCH_FILES_DIR"
ENV_FILES_URL = "DISPATCH_FILES_URL"
ENV_S3_ENDPOINT = "DISPATCH_S3_ENDPOINT_URL"
KEY = re.compile(r"^[a-z0-9][a-z0-9/_.-]{0,299}$")


class FileStore(Protocol):
    def put(self, key: str, content: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def describe(self, key: str) -> str: ...


@dataclass(frozen=True)
class LocalFileStore:
    root: Path

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size == len(content):
            return  # content-addressed: the same key holds the same bytes
        write_private(path, content, prefix=".upload-")

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"file {key} is missing from the file store at {self.root}") from None

    def describe(self, key: str) -> str:
        return str(self._path(key))


def checked_key(key: str) -> str:
    if not KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FileStoreUnavailable(StorageUnavailable):
    """The configured bucket could not be reached or refused the request; the message names it."""


class S3FileStore:
    """Objects under `prefix/` in one bucket; content-addressed keys make a repeated PUT harmless."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self.endpoint: str | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # imported on first use: most commands never touch files

            self._client = boto3.client("s3", endpoint_url=self.endpoint)
        return self._client

    def _object(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, content: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=content)
        except (BotoCoreError, ClientError) as exc:
            raise FileStoreUnavailable(f"could not store {key} in {self.describe(key)}: {_reason(exc)}") from None

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
            body: bytes = answer["Body"].read()
            return body
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(f"file {key} is missing from the file store {self.describe(key)}") from None
            raise FileStoreUnavailable(f"could not read {self.describe(key)}: {_reason(exc)}") from None
        except BotoCoreError as exc:
            raise FileStoreUnavailable(f"could not read {self.describe(key)}: {_reason(exc)}") from None

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return type(exc).__name__


@functools.lru_cache(maxsize=8)
def s3_store_from_url(url: str, endpoint: str | None = None) -> S3FileStore:
    """One store (and one boto3 client, which is slow to build and thread-safe) per configuration."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"{ENV_FILES_URL} must look like s3://bucket/prefix, not {url!r}")
    store = S3FileStore(parts.netloc, parts.path)
    store.endpoint = endpoint
    return store


def files_dir_for(db: Database) -> Path:
    explicit = os.environ.get(ENV_FILES_DIR)
    if explicit:
        return Path(explicit).expanduser()
    path = db.sqlite_path
    if path is not None and str(path) not in ("", ":memory:"):
        return path.with_name(f"{path.stem}-files")
    return data_file("files")


def file_store_for(db: Database) -> FileStore:
    url = os.environ.get(ENV_FILES_URL)
    if url:
        return s3_store_from_url(url, os.environ.get(ENV_S3_ENDPOINT) or None)
    return LocalFileStore(files_dir_for(db))
