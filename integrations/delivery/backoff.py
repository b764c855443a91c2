"""How long a failed delivery waits: exponential backoff with full jitter, never shorter than Retry-After.

A small pure function rather than tenacity's `wait_random_exponential`: tenacity computes waits from a
live `RetryCallState` inside its own retry loop, while our attempts are rows in the database, spread
over processes and restarts, so the attempt number is all we have and all the formula needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Uniform = Callable[[float, float], float]


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The exponential ceiling for the n-th failed attempt (1-based): base, 2*base, 4*base, ... up to cap."""
    return min(cap, base * 2 ** max(0, min(attempt - 1, 62)))


def retry_delay(
    attempt: int, base: float, cap: float, retry_after: float | None = None, uniform: Uniform = random.uniform
) -> float:
    """Full jitter (a uniform draw up to the ceiling), raised to the receiver's Retry-After when it sent one."""
    delay = uniform(0.0, backoff_ceiling(attempt, base, cap))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
