"""Exceptions raised by the Exact Online client.

They specialise the target-neutral classes of the outbox engine
(:mod:`..outbox`), which decides on them alone: a rejected record goes to the
error state, an unknown outcome is looked up, everything else stops the run.
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
    "DailyBudgetExhausted",
    "ExactAccessDenied",
    "ExactBusinessError",
    "ExactError",
    "ExactRequestError",
    "ExactUnavailable",
    "OutcomeUnknown",
    "ReconnectNeeded",
    "TooEarlyToRefresh",
]


class ExactError(SyncError):
    """Base class of Exact-specific errors; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ExactBusinessError(ExactError, RecordRejected):
    """Exact refused the record (HTTP 500 with its error JSON); ``message`` is Exact's text."""


class ExactRequestError(ExactError, RecordRejected):
    """Exact refused the request itself (400, 404, ...); not retried."""


class ExactAccessDenied(ExactError, StopRun):
    """Access refused for the division or the app (403, or a token refused too early to renew)."""


class ExactUnavailable(ExactError, TargetUnavailable):
    """Exact kept failing (5xx, timeouts, connection errors) after the bounded retries."""


class TooEarlyToRefresh(ExactError):
    """The token endpoint refused a refresh because the access token is less than 570 s old."""


class DailyBudgetExhausted(BudgetExhausted):
    """No calls left today for this division; ``reset_at`` (epoch seconds) is when it resets."""
