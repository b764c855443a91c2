"""Logging set up once per process: a level, text or JSON lines, and a private log file.

Services (`dispatch worker`, `dispatch serve`, `dispatch reminders run`) log what they do through the
standard `logging` module; this is the one place that decides where those lines go. Errors and above also
reach stderr; everything at the chosen level goes to `dispatch.log` in the data directory, created 0600
because lines can name customers and endpoints.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from data.paths import data_file

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d"
ENV_LOG_FILE = "DISPATCH_LOG_FILE"
ENV_LOG_LEVEL = "DISPATCH_LOG_LEVEL"
ENV_LOG_FORMAT = "DISPATCH_LOG_FORMAT"
_configured_file: Path | None = None
"""The file `configure_logging` chose for this process (None until it runs)."""


def default_log_file() -> Path:
    """$DISPATCH_LOG_FILE, else dispatch.log beside the default database in the user data directory."""
    explicit = os.environ.get(ENV_LOG_FILE)
    if explicit:
        return Path(explicit).expanduser()
    return data_file("dispatch.log")


def private_file(path: Path) -> Path:
    """Create (or tighten) the log file so only its owner can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    path.chmod(0o600)
    return path


def configure_logging(level: str = "warning", fmt: str = "text", log_file: Path | None = None) -> Path:
    """Install our handlers on the root logger, replacing ours from an earlier call; returns the file."""
    if level not in LEVELS:
        raise ValueError(f"log level '{level}' is not one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log format '{fmt}' is not text or json")
    formatter: logging.Formatter = (
        JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
        if fmt == "json"
        else logging.Formatter(TEXT_FORMAT)
    )
    path = private_file(log_file or default_log_file())
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(formatter)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(formatter)
    to_stderr.setLevel(logging.ERROR)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "dispatch_owned", False):  # ours from an earlier call; others' stay
            root.removeHandler(handler)
            handler.close()
    ours: tuple[logging.Handler, ...] = (to_file, to_stderr)
    for handler in ours:
        setattr(handler, "dispatch_owned", True)  # noqa: B010 - a marker on a stdlib object
        root.addHandler(handler)
    root.setLevel(level.upper())
    global _configured_file
    _configured_file = path
    return path


def current_log_file() -> Path:
    """This process's log file: the one logging was set up with, else the default."""
    return _configured_file or default_log_file()


def record_crash(error: BaseException) -> Path:
    """Write an unexpected error's traceback to the private log file and return the file's path.

    The traceback goes straight to the file, never through the stderr handler, and carries no local
    variables: an exception's message or a frame's locals can hold customer data (SQL parameters, a CSV row),
    which must not reach a terminal, a CI log or a screenshot.
    """
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    entry = f"{stamp} CRITICAL dispatch.crash: unexpected error\n{''.join(lines)}"
    try:
        path = private_file(current_log_file())
    except OSError:  # the data directory is unwritable: fall back to a private file in the temp directory
        import tempfile

        path = private_file(Path(tempfile.gettempdir()) / f"dispatch-{os.getuid()}.log")
    with path.open("a", encoding="utf-8") as log:
        log.write(entry if entry.endswith("\n") else entry + "\n")
    return path


def crash_message(path: Path) -> str:
    """The one line a person sees after an unexpected error."""
    return f"internal error, details in {path}"


def configure_from_environment() -> None:
    """For processes started by another (uvicorn's worker processes): the same set-up as their parent's."""
    configure_logging(
        os.environ.get(ENV_LOG_LEVEL, "info").lower(), os.environ.get(ENV_LOG_FORMAT, "text").lower(), None
    )


def export_to_environment(level: str, fmt: str, log_file: Path) -> None:
    """Hand this process's logging choices to the processes it starts."""
    os.environ[ENV_LOG_LEVEL], os.environ[ENV_LOG_FORMAT], os.environ[ENV_LOG_FILE] = level, fmt, str(log_file)
