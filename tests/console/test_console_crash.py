"""A console crash shows one line naming the log file; the traceback, without locals, is only in that file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from data.db import Database
from integrations.logs import configure_logging
from tests.console.conftest import make_app

SECRET_LOCAL = "Aino Virtanen, lockbox 4471"


async def test_a_crash_goes_to_the_log_file_and_the_screen_gets_one_line(
    world_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = configure_logging("info", "text", tmp_path / "console.log")
    app = make_app(world_db)

    def crash() -> None:
        customer = SECRET_LOCAL  # a frame local Textual's crash screen would print
        raise RuntimeError(f"cannot draw {len(customer)}")

    app.action_help = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
    shown = capsys.readouterr()
    assert app.return_code == 1
    assert SECRET_LOCAL not in shown.out + shown.err
    assert "Traceback" not in shown.out + shown.err
    assert app.crash_log == log
    assert f"internal error, details in {log}" in shown.err.replace("\n", "")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    written = log.read_text(encoding="utf-8")
    assert "RuntimeError: cannot draw" in written and SECRET_LOCAL not in written
