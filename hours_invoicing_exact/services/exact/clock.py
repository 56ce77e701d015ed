"""Injectable clocks: the real one, and a virtual one for tests and benchmarks."""

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (epoch seconds) and of waiting."""

    def now(self) -> float:
        """Return the current time in epoch seconds."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep for real; negative durations return at once."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A thread-safe clock that only moves when told to.

    ``sleep()`` advances the clock instead of waiting, so code that waits for a
    rate-limit window runs in no wall time. ``slept`` totals the time so skipped.
    """

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        """Return the virtual time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        with self._lock:
            self._now += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` at once."""
        if seconds > 0:
            self.advance(seconds)
            with self._lock:
                self.slept += seconds
