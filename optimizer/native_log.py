"""Keep OR-Tools' own C++ log lines (absl ``WARNING: All log messages before absl::InitializeLog()``,
``E0000 routing.cc ...``) away from the people using the product: they describe the engine, not the plan.

absl is initialised once (no "before InitializeLog" warning, no ``E0000 ... routing.cc`` prefix), and file
descriptor 2 is pointed at /dev/null while a search runs, for the lines the C++ side still writes. A
full-screen terminal app that draws on fd 2 (Textual does) turns the redirect off with
``set_stderr_redirect(False)``: its screen must not go blank while a plan is being computed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved: int | None = None
_initialised = False
_redirect = True
ABSL_FATAL = 3


def set_stderr_redirect(enabled: bool) -> bool:
    """Whether ``quiet_native_logs`` points fd 2 at /dev/null during a search (default: yes).

    Returns the previous setting, so a caller that turns it off for its lifetime can put it back.
    """
    global _redirect
    previous, _redirect = _redirect, enabled
    return previous


def _init_absl() -> None:
    global _initialised
    if _initialised:
        return
    _initialised = True
    try:
        from ortools.init.python import init

        flags = init.CppFlags()
        flags.stderrthreshold = ABSL_FATAL
        flags.log_prefix = False
        init.CppBridge.set_flags(flags)
        init.CppBridge.init_logging("dispatch")
    except (ImportError, AttributeError, RuntimeError):  # an OR-Tools without the bridge: the redirect still holds
        pass


@contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Silence native stderr for the duration (re-entrant and shared across threads)."""
    global _depth, _saved
    with _lock:
        _init_absl()
        if _depth == 0 and _redirect:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
                _saved = saved
            except OSError:
                _saved = None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                try:
                    sys.stderr.flush()
                finally:
                    os.dup2(_saved, 2)
                    os.close(_saved)
                    _saved = None
