"""Where Dispatch keeps a user's files: one home for the data and config directories (platformdirs).

Every default path (database, demo, secret key, files, log, each config file) is built here, so they
cannot drift apart between modules or platforms.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "dispatch"


def data_dir() -> Path:
    """The user data directory (databases, key, files, log), created on first use."""
    return user_data_path(APP, appauthor=False, ensure_exists=True)


def config_dir() -> Path:
    """The user config directory (dispatch.toml, integrations.toml, keys.toml, filters ...); not created here."""
    return user_config_path(APP, appauthor=False)


def data_file(name: str) -> Path:
    return data_dir() / name


def config_file(name: str) -> Path:
    return config_dir() / name
