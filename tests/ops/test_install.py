"""The documented install: a wheel built with `uv build`, installed as an isolated tool, runs from its own venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path(UV).exists():
        pytest.skip("uv is not installed (./dev installs it into .tools/)")
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([UV, "build", "--wheel", "--out-dir", str(out), str(ROOT)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [found] = out.glob("dispatch-*.whl")
    return found


def test_the_wheel_carries_the_code_the_docs_and_the_console_script(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "dispatch_tui/cli/main.py" in names and "data/migrations/env.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    assert any(n.startswith("optimizer/schema/") for n in names)


def test_uv_tool_install_runs_from_its_own_environment(wheel: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "HOME": str(tmp_path),
    }
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run([UV, "tool", "install", str(wheel)], capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr
    dispatch = tmp_path / "bin" / "dispatch"
    version = subprocess.run([str(dispatch), "--version"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("dispatch 0."), version.stderr
    db = tmp_path / "d.sqlite"
    init = subprocess.run(
        [str(dispatch), "--db", str(db), "init"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert init.returncode == 0, init.stderr
    status = subprocess.run(
        [str(dispatch), "--db", str(db), "status", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert status.returncode == 0 and '"ready": true' in status.stdout, status.stderr
    # The tool's own interpreter, not the project's: the top-level packages stay inside the tool's venv.
    assert (tmp_path / "tools" / "dispatch" / "lib" / "python3.11" / "site-packages" / "data").is_dir()
