"""Typed domain errors: each carries a message a dispatcher can act on and the CLI's exit code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


class DispatchError(Exception):
    """Base of every error Dispatch reports to a person or a system."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DispatchError):
    """Bad input from a person or a system: names the record and the field."""

    exit_code = 2

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None) -> None:
        prefix = ": ".join(p for p in (record, field) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.record = record
        self.field = field


class NotFound(DispatchError):
    exit_code = 2


class StorageUnavailable(DispatchError):
    """A store the data lives in (the database, the file store) could not be reached: retry later."""


class DatabaseMissing(NotFound):
    """A SQLite file that does not exist: a mistyped path is refused, never made into a new empty database."""


class PermissionDenied(DispatchError):
    exit_code = 2


class IllegalTransition(DispatchError):
    exit_code = 2


class AssignmentRefused(DispatchError):
    """The technician cannot take the job: missing skill, outside shift, absent."""

    exit_code = 2


class SkillMismatch(AssignmentRefused):
    pass


class ShiftConflict(AssignmentRefused):
    pass


class TechnicianAbsent(AssignmentRefused):
    pass


class OutsideWindow(AssignmentRefused):
    """No free slot of the technician keeps the job inside its customer's time window."""


class PinsOverlap(AssignmentRefused):
    """Two pinned jobs of one technician would overlap: no plan could keep both."""


class InsufficientStock(DispatchError):
    exit_code = 2


class Conflict(DispatchError):
    """Someone else changed the record since it was read: never a silent overwrite."""

    exit_code = 3

    def __init__(self, what: str, changed_by: str, changed_at: datetime | None, message: str | None = None) -> None:
        super().__init__(message or f"{what} was changed by {changed_by} at {_utc(changed_at)}; reload and try again")
        self.changed_by = changed_by
        self.changed_at = changed_at

    def told(self, when: Callable[[datetime], str]) -> str:
        """The message with its instant written by `when` (a console shows it on its own clock and zone)."""
        if self.changed_at is None:
            return self.message
        return self.message.replace(_utc(self.changed_at), when(self.changed_at))


class StaleJob(Conflict):
    pass


class AlreadyAssigned(Conflict):
    """Assigning a job another assignment already holds: a move must be meant (the version it saw, or reassign)."""

    def __init__(
        self, job_ref: str, technician: str, assigned_by: str, assigned_at: datetime | None, version: int
    ) -> None:
        when = _utc(assigned_at)
        self.holder = (
            f"job {job_ref} is already assigned to {technician} by {assigned_by} at {when} (version {version})"
        )
        super().__init__(
            f"job {job_ref}", assigned_by, assigned_at, f"{self.holder}; moving it needs that version or a reassign"
        )
        self.technician = technician
        self.version = version


def _utc(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "an unknown time"
