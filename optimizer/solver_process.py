"""A warm solver in its own process: OR-Tools holds the GIL for a whole search, so a caller that must stay
responsive (the console) runs its searches here, and its keys and live feed go on meanwhile.

`SolverProcess.run(fn, *args, **kwargs)` calls a module-level function in the child with plain picklable
data (a `Problem`, a `Plan`) and returns its result, or raises its exception, in the calling thread, which
waits on a pipe without holding the GIL. The child is a `spawn` process started once (`start()`, in the
background) with the solver modules already imported, and reused. `cancel()` ends the search under way:
the child is terminated, the waiting call raises `SolveCancelled`, and a fresh child is started.
`call_here` is the same call in this process (batch commands, tests that cannot spawn).
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

WARM_MODULES = ("optimizer.solver", "optimizer.suggest", "optimizer.replan")
"""Imported by the child before its first call, so a search never waits for OR-Tools to load."""

SolveRunner = Callable[..., Any]
"""`run(fn, *args, **kwargs) -> fn(*args, **kwargs)`, here or in a solver process."""


class SolveCancelled(Exception):
    """The search was cancelled (or its process died) before it answered."""


def call_here(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The in-process runner: the call, in the caller's thread."""
    return fn(*args, **kwargs)


def _serve(conn: Connection, warm: Sequence[str]) -> None:
    """The child: import the solver, then answer one call at a time until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c belongs to the parent, which ends the child
    for name in warm:
        importlib.import_module(name)
    conn.send(("ready", None))
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except Exception as e:
            answer = ("error", e)
        try:
            conn.send(answer)
        except Exception as e:  # an answer or an error that does not pickle: say what it was
            conn.send(("error", RuntimeError(f"the solver's answer could not be sent back ({type(e).__name__})")))


class SolverProcess:
    """One warm child process for searches; one call at a time (later callers wait their turn).

    Make it before a full-screen app takes the terminal: multiprocessing's resource tracker, started here,
    hands the child this process's stderr, which such an app replaces with one that has no file descriptor."""

    def __init__(self, warm: Sequence[str] = WARM_MODULES) -> None:
        self.warm = tuple(warm)
        self._context = multiprocessing.get_context("spawn")
        resource_tracker.ensure_running()
        self._state = threading.Lock()
        self._turn = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self._starting = threading.Lock()
        self._closed = False
        self.calls = 0
        """Calls answered by a child (a test's proof that the search ran there)."""

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it starts)."""
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        """Start the child if none runs; returns when it has loaded the solver (call it in the background)."""
        with self._starting:
            with self._state:
                if self._closed:
                    return
                if self._process is not None and self._process.is_alive():
                    return
                parent, child = self._context.Pipe()
                process = self._context.Process(
                    target=_serve, args=(child, self.warm), name="dispatch-solver", daemon=True
                )
                process.start()
                child.close()
                self._process, self._conn = process, parent
            try:
                parent.recv()  # ("ready", None): the solver modules are loaded
            except (EOFError, OSError):
                self._forget(parent)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in the child; raises what it raised, or `SolveCancelled`."""
        with self._turn:
            self.start()
            conn = self._conn
            if conn is None or self._closed:
                raise SolveCancelled("the solver process is closed or could not start")
            try:
                conn.send((fn, args, kwargs))
                kind, value = conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                self._forget(conn)
                raise SolveCancelled("the search was cancelled") from None
            self.calls += 1
        if kind == "error":
            raise value
        return value

    def cancel(self) -> None:
        """End the search under way, if any (its child is terminated), and start a fresh child; returns at once."""
        if self._turn.locked():
            threading.Thread(target=self._replace_child, name="dispatch-solver-cancel", daemon=True).start()

    def _replace_child(self) -> None:
        with self._starting, self._state:
            process, self._process = self._process, None
            self._conn = None  # the waiting call sees the pipe close and raises SolveCancelled
        if process is not None:
            process.terminate()
            process.join(timeout=5)
        self.start()

    def _forget(self, conn: Connection) -> None:
        with self._state:
            if self._conn is conn:
                self._process, self._conn = None, None
        conn.close()

    def close(self) -> None:
        """Stop the child (the console is closing)."""
        with self._state:
            self._closed = True
            process, self._process = self._process, None
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if process is not None:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
