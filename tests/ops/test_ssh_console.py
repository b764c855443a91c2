"""Supervisors over real SSH: sshd with docs/ssh.md's Match/ForceCommand block, an OS user with a key, `ssh -tt`,
and a terminal emulator (pyte) reading what the console draws.

Needs root (it creates OS users) and OpenSSH (`.ci/run` installs openssh-server); skips with the reason
elsewhere, and fails in CI when either is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyte
import pytest
from sqlalchemy import select

from data.db import Database
from data.models import Job, User
from tests.factories import build_world
from tests.integrations.test_field_api_world import dispatched_job

pytestmark = pytest.mark.postgres
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PATIENCE = 120.0
ENTRY = 'import sys; sys.argv[0] = "dispatch"; from dispatch_tui.cli.main import run; run()'
USERS = {"sam": "dsp-sam", "dana": "dsp-dana"}  # Dispatch login -> OS login


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create OS users for the SSH logins"
    if not Path(SSHD).exists() or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "OpenSSH (server and client) is not installed"
    return None


@pytest.fixture(scope="module")
def sshd_box() -> Iterator[Path]:
    """A world-readable folder with sshd's config, host key, the users' keys and the dispatch launcher."""
    reason = _why_not()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    box = Path(tempfile.mkdtemp(prefix="dispatch-ssh-"))
    box.chmod(0o755)
    for os_login in USERS.values():
        try:
            pwd.getpwnam(os_login)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", os_login], check=True)
        # No password, but not locked: sshd (without PAM) refuses key logins to a locked account.
        subprocess.run(["usermod", "--password", "*", os_login], check=True)
    yield box
    for os_login in USERS.values():
        subprocess.run(["userdel", "--remove", os_login], capture_output=True)
    shutil.rmtree(box, ignore_errors=True)


def _launcher(box: Path, db_url: str) -> Path:
    """What ForceCommand runs. The project's interpreter may sit under a private home (e.g. /root); then the
    system Python of the same version runs the same code with the environment's packages on its path."""
    python = Path(sys.executable).resolve()
    site = next(p for p in sys.path if p.endswith("site-packages"))
    root = Path(__file__).resolve().parents[2]
    if not all(os.access(p, os.X_OK) for p in [*python.parents]) or str(python).startswith("/root/"):
        python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    script = box / "dispatch"
    script.write_text(
        "#!/bin/sh\n"
        f"export DISPATCH_DATABASE_URL='{db_url}' PYTHONPATH='{site}:{root}' TERM=xterm-256color\n"
        f"exec {python} -c '{ENTRY}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sshd(sshd_box: Path, pg_db: Database, postgres_url: str) -> Iterator[tuple[int, Path]]:
    build_world(pg_db)
    dispatched_job(pg_db, "T1", 9)
    with pg_db.write_session() as s:
        for login, os_login in USERS.items():
            user = s.scalar(select(User).where(User.login == login))
            assert user is not None
            user.os_login = os_login
        s.commit()
    box = sshd_box
    launcher = _launcher(box, postgres_url)
    host_key = box / "host_ed25519"
    if not host_key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    client_key = box / "client_ed25519"
    if not client_key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client_key)], check=True)
    keys = box / "authorized_keys"
    keys.write_text((box / "client_ed25519.pub").read_text())
    keys.chmod(0o644)
    port = 2222 if _port_free(2222) else _free_port()
    config = box / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {box}/sshd.pid
AuthorizedKeysFile {keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
LogLevel VERBOSE

Match User {",".join(USERS.values())}
    ForceCommand {launcher} console --no-mouse
    PermitTTY yes
    AllowTcpForwarding no
    X11Forwarding no
    PermitTunnel no
    AllowAgentForwarding no
"""
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    log = box / "sshd.log"
    with log.open("wb") as sink:
        server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=sink)
    try:
        _wait("sshd listening", lambda: not _port_free(port) or server.poll() is not None)
        assert server.poll() is None, log.read_text()
        yield port, client_key
    finally:
        server.terminate()
        server.wait(timeout=30)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait(what: str, condition: Callable[[], bool], seen: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}\n{seen()}")
        time.sleep(0.05)


class Terminal:
    """`ssh -tt` on a pseudo-terminal of 100x30, its output fed to a pyte screen by a reader thread."""

    def __init__(self, port: int, key: Path, os_login: str) -> None:
        import pty

        self.screen = pyte.Screen(100, 30)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            ["ssh", "-tt", "-p", str(port), "-i", str(key), "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
             f"{os_login}@127.0.0.1"],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )  # fmt: skip
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.stream.feed(chunk)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def shows(self, needle: str) -> None:
        _wait(
            f"the screen to show {needle!r}", lambda: needle in self.text() or self.proc.poll() is not None, self.text
        )
        assert needle in self.text(), self.text()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def command(self, line: str) -> None:
        """`:` opens the command line; the rest is typed once it has drawn (keys before it would be keys)."""
        self.type(":")
        # Wait for the prompt itself (its placeholder), not any change: the clock redraws every second.
        _wait("the command line to open", lambda: ":replan" in self.text(), self.text)
        self.type(line + "\r")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self.master)


def _job_technician(db: Database) -> int | None:
    with db.read() as s:
        return s.scalar(select(Job.technician_id).where(Job.summary == "Visit T1 9"))


def test_a_supervisor_over_ssh_sees_a_read_only_console_and_q_ends_the_session(
    sshd: tuple[int, Path], pg_db: Database
) -> None:
    port, key = sshd
    before = _job_technician(pg_db)
    term = Terminal(port, key, USERS["sam"])
    try:
        term.shows("READ-ONLY")
        term.shows("sam · ")  # the title drops the role name first when narrow; READ-ONLY says it
        with pg_db.read() as s:
            ref = s.scalar(select(Job.ref).where(Job.summary == "Visit T1 9"))
        term.command(f"assign {ref} T3")
        term.shows("read-only, cannot assign jobs")
        term.type("q")
        _wait("the session to end after q", lambda: term.proc.poll() is not None)
        assert term.proc.returncode == 0
    finally:
        term.close()
    assert _job_technician(pg_db) == before  # nothing was written


def test_a_dispatcher_over_ssh_can_change_the_plan(sshd: tuple[int, Path], pg_db: Database) -> None:
    port, key = sshd
    before = _job_technician(pg_db)
    term = Terminal(port, key, USERS["dana"])
    try:
        term.shows("dana · ")
        assert "READ-ONLY" not in term.text()
        with pg_db.read() as s:
            ref = s.scalar(select(Job.ref).where(Job.summary == "Visit T1 9"))
        term.command(f"assign {ref} T3")
        _wait("the assignment to land", lambda: _job_technician(pg_db) not in (before, None))
        term.type("q")
        _wait("the session to end after q", lambda: term.proc.poll() is not None)
    finally:
        term.close()
