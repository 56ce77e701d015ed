"""Exact Online rate limits: read the ``X-RateLimit-*`` headers, wait or stop before a call.

Exact meters 60 calls a minute and 5,000 a day per app and division, and tells the
remaining budget in six response headers whose reset values are epoch *milliseconds*.
When the minutely quota is exhausted only the three minutely headers are sent.
The state lives behind a :class:`RateLimitStore` so that every worker talking to the
same division shares one budget (the addon keeps it on a database record).
"""

import dataclasses
import threading
from collections.abc import Mapping
from typing import Protocol

from .clock import Clock
from .errors import DailyBudgetExhausted

#: Seconds added to a reset instant before calling again, for clock skew.
RESET_MARGIN = 0.5
#: Wait after a 429 that carries no usable reset header.
DEFAULT_429_WAIT = 60.0

_HEADERS = {
    "daily_limit": "X-RateLimit-Limit",
    "daily_remaining": "X-RateLimit-Remaining",
    "daily_reset": "X-RateLimit-Reset",
    "minutely_limit": "X-RateLimit-Minutely-Limit",
    "minutely_remaining": "X-RateLimit-Minutely-Remaining",
    "minutely_reset": "X-RateLimit-Minutely-Reset",
}


@dataclasses.dataclass
class RateLimitState:
    """Last known budget of one division; resets are epoch seconds, ``None`` = unknown."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset: float | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset: float | None = None

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping | None) -> "RateLimitState":
        """Build a state from :meth:`to_dict` output, ignoring unknown keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in (values or {}).items() if key in names})

    def merge_headers(self, headers: Mapping[str, str]) -> "RateLimitState":
        """Return a copy updated with the rate-limit headers present in ``headers``."""
        updates = {}
        for name, header in _HEADERS.items():
            raw = headers.get(header)
            if raw is None:
                continue
            try:
                number = int(raw)
            except ValueError:
                continue
            updates[name] = number / 1000.0 if name.endswith("_reset") else number
        return dataclasses.replace(self, **updates)


class RateLimitStore(Protocol):
    """Where the budget of one division is kept, shared by all workers."""

    def load(self) -> RateLimitState:
        """Return the last saved state (an empty state when none)."""

    def save(self, state: RateLimitState) -> None:
        """Persist ``state`` at once."""


class MemoryRateLimitStore:
    """In-process :class:`RateLimitStore`, for one worker or for tests."""

    def __init__(self, state: RateLimitState | None = None):
        self._state = state or RateLimitState()
        self._lock = threading.Lock()

    def load(self) -> RateLimitState:
        """Return a copy of the state."""
        with self._lock:
            return dataclasses.replace(self._state)

    def save(self, state: RateLimitState) -> None:
        """Replace the state."""
        with self._lock:
            self._state = dataclasses.replace(state)


class RateLimiter:
    """Applies the budget of a :class:`RateLimitStore` around each call."""

    def __init__(self, store: RateLimitStore, clock: Clock):
        self.store = store
        self.clock = clock

    def before_call(self) -> None:
        """Stop if the daily budget is spent, wait if the minutely one is.

        :raises DailyBudgetExhausted: no calls left until the daily reset.
        """
        state = self.store.load()
        now = self.clock.now()
        if state.daily_remaining == 0 and state.daily_reset and state.daily_reset > now:
            raise DailyBudgetExhausted(
                "Exact Online daily API limit reached for this division.",
                reset_at=state.daily_reset,
            )
        if state.minutely_remaining == 0 and state.minutely_reset and state.minutely_reset > now:
            self.clock.sleep(state.minutely_reset - now + RESET_MARGIN)

    def record(self, headers: Mapping[str, str]) -> RateLimitState:
        """Store the budget announced by a response's headers and return it."""
        state = self.store.load().merge_headers(headers)
        self.store.save(state)
        return state

    def wait_after_429(self, headers: Mapping[str, str]) -> None:
        """Wait until a refused (429) call may be repeated.

        :raises DailyBudgetExhausted: the refusal was due to the daily limit.
        """
        state = self.store.load()
        now = self.clock.now()
        if state.daily_remaining == 0 and state.daily_reset and state.daily_reset > now:
            raise DailyBudgetExhausted(
                "Exact Online daily API limit reached for this division.",
                reset_at=state.daily_reset,
            )
        if state.minutely_reset and state.minutely_reset > now:
            self.clock.sleep(state.minutely_reset - now + RESET_MARGIN)
            return
        try:
            wait = float(headers.get("Retry-After", DEFAULT_429_WAIT))
        except ValueError:
            wait = DEFAULT_429_WAIT
        self.clock.sleep(wait)
