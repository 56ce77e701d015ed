"""Exceptions raised by the Twinfield client.

They specialise the target-neutral classes of the outbox engine (:mod:`..outbox`), which
decides on them alone: a rejected record goes to the error state, an unknown outcome is
looked up, everything else stops the run.
"""

from ..outbox import (
    BudgetExhausted,
    OutcomeUnknown,
    ReconnectNeeded,
    RecordRejected,
    StopRun,
    SyncError,
    TargetUnavailable,
)

__all__ = [
    "BudgetExhausted",
    "CreditBudgetExhausted",
    "OutcomeUnknown",
    "ReconnectNeeded",
    "TwinfieldAccessDenied",
    "TwinfieldError",
    "TwinfieldRejected",
    "TwinfieldRequestError",
    "TwinfieldUnavailable",
]


class TwinfieldError(SyncError):
    """Base class of Twinfield-specific errors; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class TwinfieldRejected(TwinfieldError, RecordRejected):
    """Twinfield refused one transaction or dimension (``result="0"``); ``message`` is
    Twinfield's own text (``msg`` of the offending elements, joined with `` // ``)."""


class TwinfieldRequestError(TwinfieldError, RecordRejected):
    """Twinfield refused the request itself (HTTP 400, a SOAP fault other than access)."""


class TwinfieldAccessDenied(TwinfieldError, StopRun):
    """A SOAP fault refusing access that a token renewal did not cure (office not allowed,
    company missing from the header)."""


class TwinfieldUnavailable(TwinfieldError, TargetUnavailable):
    """Twinfield kept failing (5xx, timeouts, 429s) after the bounded retries."""


class CreditBudgetExhausted(BudgetExhausted):
    """The fair-use credits of this (client id, organisation) are spent until ``reset_at``
    (epoch seconds) and the caller does not wait that long."""
