"""Typed errors the scheduling engine raises, each with a message a dispatcher can act on."""

from __future__ import annotations


class OptimizerError(Exception):
    """Base class of every error the optimizer raises on purpose."""


class ProblemError(OptimizerError, ValueError):
    """A problem (JSON or dataclasses) is malformed; the message names the record and the field."""

    def __init__(self, message: str, *, record: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.record = record
        self.field = field


class PlanError(OptimizerError, ValueError):
    """A plan file or object is malformed or does not belong to the problem it is used with."""


class TravelError(OptimizerError):
    """The travel-time provider could not produce a matrix (network, HTTP or response error)."""


class SolverFailure(OptimizerError):
    """OR-Tools returned no solution at all (not even the empty plan); should not happen in practice."""
