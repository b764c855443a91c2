"""What a screen offers the dispatch keys: the job and the technician drawn under its own cursor.

Each view screen answers for itself, from what it shows; the app asks only the screen on view
(`app.screen`), so a hidden screen's cursor never decides what a key acts on. A screen with no job
under its cursor answers None and the job keys are not offered there.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.screen import Screen


@dataclass(frozen=True)
class JobTarget:
    """A job as a screen shows it: its ref and the version drawn (a stale version is refused by the service)."""

    ref: str
    version: int | None = None


class TargetScreen(Screen[None]):
    """A view whose cursor can rest on a job or a technician; both default to none."""

    def job_target(self) -> JobTarget | None:
        return None

    def technician_target(self) -> str | None:
        return None


def job_target(screen: Screen[object]) -> JobTarget | None:
    """The job under `screen`'s cursor, or None (dialogs and screens without jobs have none)."""
    return screen.job_target() if isinstance(screen, TargetScreen) else None


def technician_target(screen: Screen[object]) -> str | None:
    """The technician code under `screen`'s cursor, or None."""
    return screen.technician_target() if isinstance(screen, TargetScreen) else None
