"""Load and validate `integrations.toml`: connectors, their events, mappings, lookups and secret references.

Where the file is found: `--config PATH`, else `$DISPATCH_INTEGRATIONS_CONFIG`, else
`integrations.toml` in the user config directory (platformdirs). No file means no connectors.
Secrets are referenced, never written in the file: `secret_env = "HUBSPOT_TOKEN"` (any key ending in
`_env` names an environment variable), `secret_sealed = "webhook.acme"` (a secret kept encrypted in the
database, set with `dispatch secrets set NAME`) or `credentials_file = "~/.config/dispatch/hubspot.toml"`
(a TOML file of name = value that must not be readable by group or others).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from data.errors import DispatchError
from data.paths import config_file
from integrations.mapping import ConfigError, MappingRules, compile_mapping

CONFIG_ENV = "DISPATCH_INTEGRATIONS_CONFIG"
CONFIG_NAME = "integrations.toml"
_CONNECTOR_KEYS = {"type", "enabled", "events", "start", "mapping", "lookups", "credentials_file"}
_SECRET_WORDS = ("secret", "token", "password", "api_key", "apikey", "private_key")


@dataclass(frozen=True)
class DeliverySettings:
    """The retry budget, backoff, circuit breaker and batching shared by every connector."""

    max_attempts: int = 10
    max_age_seconds: float = 48 * 3600
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 900.0
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 60.0
    lease_seconds: float = 60.0
    request_timeout_seconds: float = 15.0
    batch_size: int = 50
    plan_batch: int = 500
    poll_seconds: float = 0.5


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    type: str
    enabled: bool = True
    events: frozenset[str] = frozenset()
    start: str = "beginning"  # or "now": a new connector skips the history already in the log
    settings: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, MappingRules] = field(default_factory=dict)
    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    credentials_file: Path | None = None
    source: str = CONFIG_NAME  # file name, for messages
    # Reads a secret sealed in the database (`x_sealed = "NAME"`, set with `dispatch secrets set NAME`).
    sealed: Callable[[str], str | None] | None = field(default=None, compare=False, repr=False)

    def where(self, key: str = "") -> str:
        return f"{self.source}: connectors.{self.name}" + (f".{key}" if key else "")

    def mapping(self, name: str) -> MappingRules:
        """The compiled rules of `[connectors.NAME.mapping.<name>]`, or empty rules when there are none."""
        return self.mappings.get(name) or MappingRules(where=self.where(f"mapping.{name}"))

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def require(self, key: str) -> Any:
        if key not in self.settings or self.settings[key] in ("", None):
            raise ConfigError(self.where(key), "required setting is missing")
        return self.settings[key]

    def credentials(self) -> dict[str, str]:
        """Resolve every secret reference: `x_env = "VAR"` gives credentials["x"]; the file adds its keys."""
        found: dict[str, str] = {}
        if self.credentials_file is not None:
            found.update(read_credentials_file(self.credentials_file, self.where("credentials_file")))
        for key, value in self.settings.items():
            if key.endswith("_env") and isinstance(value, str):
                secret = os.environ.get(value)
                if not secret:
                    raise ConfigError(self.where(key), f"environment variable {value} is not set")
                found[key.removesuffix("_env")] = secret
            elif key.endswith("_sealed") and isinstance(value, str):
                if self.sealed is None:
                    raise ConfigError(
                        self.where(key), "a sealed secret is read from the database, which is not open here"
                    )
                try:
                    secret = self.sealed(value)
                except DispatchError as err:
                    raise ConfigError(self.where(key), err.message) from None
                if not secret:
                    raise ConfigError(
                        self.where(key), f"no secret {value!r} in the database: dispatch secrets set {value}"
                    )
                found[key.removesuffix("_sealed")] = secret
        return found

    def secret(self, name: str = "secret") -> str:
        creds = self.credentials()
        if name not in creds:
            raise ConfigError(
                self.where(f"{name}_env"), f'no {name!r}: set {name}_env = "VAR" or put {name} in the credentials file'
            )
        return creds[name]


@dataclass(frozen=True)
class IntegrationsConfig:
    connectors: Mapping[str, ConnectorConfig] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    path: Path | None = None

    def enabled(self) -> list[ConnectorConfig]:
        return [c for c in self.connectors.values() if c.enabled]

    def with_sealed(self, lookup: Callable[[str], str | None]) -> IntegrationsConfig:
        """The same configuration, its connectors able to read secrets sealed in the database."""
        connectors = {name: replace(c, sealed=lookup) for name, c in self.connectors.items()}
        return replace(self, connectors=connectors)

    def connector(self, name: str) -> ConnectorConfig:
        if name not in self.connectors:
            known = ", ".join(sorted(self.connectors)) or "none configured"
            where = self.path.name if self.path else CONFIG_NAME
            raise ConfigError(f"{where}: connectors.{name}", f"no such connector (known: {known})")
        return self.connectors[name]


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    return config_file(CONFIG_NAME)


def load_config(path: str | Path | None = None) -> IntegrationsConfig:
    """Read and validate the configuration; a missing default file means no connectors."""
    resolved = config_path(path)
    if not resolved.exists():
        if path or os.environ.get(CONFIG_ENV):
            raise ConfigError(str(resolved), "integrations configuration file not found")
        return IntegrationsConfig()
    try:
        data = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(resolved.name, f"not valid TOML: {e}") from None
    return parse_config(data, resolved.name, path=resolved)


def parse_config(data: Mapping[str, Any], source: str = CONFIG_NAME, path: Path | None = None) -> IntegrationsConfig:
    unknown = sorted(set(data) - {"delivery", "connectors"})
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}", "unknown section (expected [delivery] or [connectors.NAME])")
    delivery = _delivery(data.get("delivery", {}), source)
    raw = data.get("connectors", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: connectors", "must be a table of [connectors.NAME]")
    base = path.parent if path else Path.cwd()
    connectors = {name: _connector(name, table, source, base) for name, table in raw.items()}
    return IntegrationsConfig(connectors, delivery, path)


def _delivery(table: Any, source: str) -> DeliverySettings:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: delivery", "must be a table")
    defaults = DeliverySettings()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if not hasattr(defaults, key):
            raise ConfigError(f"{source}: delivery.{key}", "unknown setting")
        expected = type(getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{source}: delivery.{key}", f"must be a non-negative number, got {value!r}")
        values[key] = expected(value)
    for key in ("max_attempts", "batch_size", "plan_batch", "breaker_failures"):
        if key in values and values[key] < 1:
            raise ConfigError(f"{source}: delivery.{key}", "must be at least 1")
    return DeliverySettings(**values)


def _connector(name: str, table: Any, source: str, base: Path) -> ConnectorConfig:
    from integrations.registry import CONNECTOR_TYPES

    where = f"{source}: connectors.{name}"
    if not isinstance(table, dict):
        raise ConfigError(where, "must be a table")
    kind = table.get("type")
    if not isinstance(kind, str) or kind not in CONNECTOR_TYPES:
        raise ConfigError(
            f"{where}.type", f"unknown connector type {kind!r} (one of {', '.join(sorted(CONNECTOR_TYPES))})"
        )
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled", "must be true or false")
    events = table.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        raise ConfigError(f"{where}.events", 'must be a list of event types, e.g. ["job.completed"]')
    for e in events:
        if e.startswith("delivery."):
            raise ConfigError(
                f"{where}.events", f"{e!r}: delivery events describe the outbox itself and are never sent"
            )
    start = table.get("start", "beginning")
    if start not in ("beginning", "now"):
        raise ConfigError(f"{where}.start", 'must be "beginning" or "now"')
    settings = {k: v for k, v in table.items() if k not in _CONNECTOR_KEYS}
    for key, _value in settings.items():
        if not key.endswith(("_env", "_sealed")) and key.lower().endswith(_SECRET_WORDS):
            raise ConfigError(
                f"{where}.{key}",
                f'secrets are not written in the configuration: use {key}_env = "VAR", {key}_sealed = "NAME"'
                " or credentials_file",
            )
    lookups = table.get("lookups", {})
    if not isinstance(lookups, dict) or not all(isinstance(v, dict) for v in lookups.values()):
        raise ConfigError(f"{where}.lookups", "each lookup must be a table of our value = their value")
    mapping_tables = table.get("mapping", {})
    if not isinstance(mapping_tables, dict):
        raise ConfigError(f"{where}.mapping", "must be a table of [mapping.<event type or target>]")
    mappings = {
        target: compile_mapping(rules, lookups, f"{where}.mapping.{_key(target)}")
        for target, rules in mapping_tables.items()
    }
    cred_file = table.get("credentials_file")
    if cred_file is not None and not isinstance(cred_file, str):
        raise ConfigError(f"{where}.credentials_file", "must be a path")
    cred_path = None
    if cred_file:
        cred_path = Path(cred_file).expanduser()
        if not cred_path.is_absolute():
            cred_path = base / cred_path
    return ConnectorConfig(
        name=name,
        type=kind,
        enabled=enabled,
        events=frozenset(events),
        start=start,
        settings=settings,
        mappings=mappings,
        lookups=lookups,
        credentials_file=cred_path,
        source=source,
    )


def _key(name: str) -> str:
    return f'"{name}"' if "." in name else name


def read_credentials_file(path: Path, where: str) -> dict[str, str]:
    """A TOML file of name = "value"; refused when group or others may read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(where, f"credentials file {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            where,
            f"credentials file {path} is readable by group or others (mode {stat.S_IMODE(mode):o}): chmod 600 {path}",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(where, f"credentials file {path} is not valid TOML: {e}") from None
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int)}
