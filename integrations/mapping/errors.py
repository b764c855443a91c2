"""Typed errors for integration configuration and mappings; each names the file and the bad key."""

from __future__ import annotations

from data.errors import InvalidInput


class ConfigError(InvalidInput):
    """The integrations configuration is wrong: `where` is the dotted key, e.g. `connectors.qbo.url`."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class MappingError(ConfigError):
    """A mapping rule is invalid, or cannot be applied to an event (missing required field, unknown lookup value)."""
