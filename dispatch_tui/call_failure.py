"""What a call that failed in a worker says on screen: a service's refusal in its own words, anything
else only its kind (an unexpected error's text may carry customer data), with the details in the log."""

from __future__ import annotations

import logging

from data.errors import DispatchError

log = logging.getLogger("dispatch.console")


def failure_text(what: str, error: Exception, told: str | None = None) -> str:
    """The line shown for `error` raised by `what` ("the re-plan"); `told` is a refusal already worded."""
    if isinstance(error, DispatchError):
        return told if told is not None else error.message
    log.warning("%s failed", what, exc_info=error)
    return f"{what} failed ({type(error).__name__}); the console is still up, details in the log"
