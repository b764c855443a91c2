"""Where connector secrets come from: the environment or a 0600 credentials file, never the database.

A secret is wrapped in `Secret` so that printing, logging or `repr` of a connector or a request
never shows it. The credentials file is JSON, one object per connector name; refreshed OAuth2
tokens are written back to it atomically with the same 0600 mode.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data.atomic_files import write_private
from data.paths import config_file

if TYPE_CHECKING:
    from integrations.config import ConnectorConfig

CREDENTIALS_ENV = "DISPATCH_TOKENS"


class CredentialsError(Exception):
    """A credential is missing or its file is unsafe; the message says which and how to fix it."""


class Secret:
    """A string that never shows itself: `str`, `repr` and f-strings print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def default_credentials_path() -> Path:
    """The JSON file where refreshed OAuth2 tokens are kept (`DISPATCH_TOKENS` overrides it)."""
    env = os.environ.get(CREDENTIALS_ENV)
    return Path(env) if env else config_file("tokens.json")


def env_name(connector: str, key: str) -> str:
    """`hubspot`, `client_secret` -> `DISPATCH_HUBSPOT_CLIENT_SECRET`."""
    clean = "".join(ch if ch.isalnum() else "_" for ch in f"{connector}_{key}")
    return f"DISPATCH_{clean.upper()}"


def check_private(path: Path) -> None:
    """Refuse a credentials file that its group or other users could read or write."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"credentials file {path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


class CredentialStore:
    """One connector's secrets: configured values (env refs, TOML credentials file), then the token file.

    `base` is what the integrations config resolved (`x_env = "VAR"` references and the connector's
    `credentials_file`); `DISPATCH_<CONNECTOR>_<KEY>` environment variables override it. Tokens that
    a refresh produced live in the 0600 JSON token file and win over `base` while they descend from
    the refresh token configured there (an operator who re-authorises and puts a new refresh token in
    the config starts a new lineage).
    """

    def __init__(
        self,
        connector: str,
        base: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.connector = connector
        self.path = path if path is not None else default_credentials_path()
        # Resolved lazily, so previewing a request never needs the secrets to be present.
        self._base_source = base
        self._base_cache: dict[str, str] | None = None
        self._environ = environ if environ is not None else os.environ

    def __repr__(self) -> str:
        return f"CredentialStore(connector={self.connector!r}, path={str(self.path)!r})"

    def _base(self) -> dict[str, str]:
        if self._base_cache is None:
            source = self._base_source
            self._base_cache = dict(source() if callable(source) else (source or {}))
        return self._base_cache

    def _read_file(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        check_private(self.path)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise CredentialsError(f"credentials file {self.path} is not valid JSON: line {err.lineno}") from err
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise CredentialsError(f"credentials file {self.path} must be an object of objects, one per connector")
        return data

    def configured(self) -> dict[str, Any]:
        """What the configuration gives (base, then environment), without the refreshed tokens."""
        values: dict[str, Any] = dict(self._base())
        prefix = env_name(self.connector, "")
        for name, value in self._environ.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                values[name[len(prefix) :].lower()] = value
        return values

    def section(self) -> dict[str, Any]:
        """Everything known for the connector, highest priority last: base, environment, refreshed tokens."""
        values = self.configured()
        stored = dict(self._read_file().get(self.connector, {}))
        seed = stored.pop("seed_refresh_token", None)
        if not values.get("refresh_token") or seed == values.get("refresh_token"):
            values.update(stored)
        return values

    def get(self, key: str) -> Secret | None:
        value = self.section().get(key)
        return None if value in (None, "") else Secret(str(value))

    def require(self, key: str) -> Secret:
        value = self.get(key)
        if value is None:
            raise CredentialsError(
                f'connector {self.connector}: no {key}; set {key}_env = "VAR" in its configuration, put {key} '
                f"in its credentials_file, or set {env_name(self.connector, key)}"
            )
        return value

    def update(self, values: Mapping[str, Any]) -> None:
        """Store refreshed tokens in the connector's section, writing the file atomically with mode 0600."""
        data = self._read_file()
        section = data.setdefault(self.connector, {})
        if "seed_refresh_token" not in section:
            section["seed_refresh_token"] = self._base().get("refresh_token")
        section.update(values)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True).encode(), prefix=".credentials-")


def store_for(config: ConnectorConfig) -> CredentialStore:
    """The credential store of a configured connector; `oauth_state_file` moves its refreshed-token file."""
    state = config.setting("oauth_state_file")
    return CredentialStore(config.name, base=config.credentials, path=Path(state).expanduser() if state else None)
