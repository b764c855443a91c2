"""Every default file sits in the one data directory or the one config directory (data/paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import config, custom_fields, file_store, secret_key
from dispatch_tui import keymap
from dispatch_tui.cli.commands import demo
from dispatch_tui.screens.jobs import SavedFilters
from integrations import config as integrations_config
from integrations import logs, secrets
from integrations.reminders import settings as reminders


def test_default_files_live_in_the_user_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, conf = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(conf))
    for env in (logs.ENV_LOG_FILE, custom_fields.CONFIG_ENV, integrations_config.CONFIG_ENV, file_store.ENV_FILES_DIR):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.delenv(secrets.CREDENTIALS_ENV, raising=False)
    in_data = [
        config.default_sqlite_path(),
        demo.default_demo_path(),
        secret_key.default_key_file(),
        logs.default_log_file(),
    ]
    in_config = [
        custom_fields.config_path(),
        integrations_config.config_path(),
        reminders.default_config_path(),
        keymap.keys_file(),
        SavedFilters().path,
        secrets.default_credentials_path(),
    ]
    assert all(p.parent == data / "dispatch" for p in in_data), in_data
    assert all(p.parent == conf / "dispatch" for p in in_config), in_config
    assert len({p.name for p in in_data + in_config}) == len(in_data + in_config)
