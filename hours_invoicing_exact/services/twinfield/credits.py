"""Twinfield fair use: credits per call, a per-minute budget per (client id, organisation).

Facts (accounting-apis.md B4, B6): a *query* request costs 1 credit (ProcessXml roots
``list``, ``read``, ``columns``; SOAP actions starting with Get/Query/Search/Load), every
other request 3 (every ``<transactions>`` post, every ``<dimension>`` write). Per client id
and organisation an uncertified app gets 25 credits a minute, a certified one 500; beyond
them Twinfield answers HTTP 429 with ``Retry-After``.

The budget is kept in a :class:`CreditStore` shared by every worker of the organisation
(the addon backs it by one database row updated under a row lock; the tests use
:class:`MemoryCreditStore` or, across processes, :class:`SqliteCreditStore`). Before a call
:meth:`CreditBudget.spend` reserves its credits in the current minute window, or waits for
the minute to turn, or - when the caller will not wait that long - raises
:class:`~.errors.CreditBudgetExhausted` so that the run stops and resumes later.
"""

import dataclasses
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Protocol

from ..exact.clock import Clock, SystemClock
from .errors import CreditBudgetExhausted

READ_CREDITS = 1
WRITE_CREDITS = 3
#: Credits a minute per client id and organisation (B6).
UNCERTIFIED_LIMIT = 25
CERTIFIED_LIMIT = 500
#: Credits a minute per client id, over all its organisations (B6).
UNCERTIFIED_APP_LIMIT = 50
CERTIFIED_APP_LIMIT = 1000
WINDOW = 60.0
#: Seconds added after the minute turns, for clock skew between us and Twinfield.
RESET_MARGIN = 0.5
#: Roots of ProcessXml requests that Twinfield counts as queries (1 credit).
QUERY_ROOTS = frozenset({"list", "read", "columns", "accountcode", "accountcodes"})


def credits_of(root_tag: str) -> int:
    """Credits a ProcessXml request with root element ``root_tag`` costs."""
    return READ_CREDITS if root_tag in QUERY_ROOTS else WRITE_CREDITS


def limit_for(certified: bool) -> int:
    """Credits a minute per organisation for an app that is ``certified`` or not."""
    return CERTIFIED_LIMIT if certified else UNCERTIFIED_LIMIT


def app_limit_for(certified: bool) -> int:
    """Credits a minute per client id (all organisations) for an app ``certified`` or not."""
    return CERTIFIED_APP_LIMIT if certified else UNCERTIFIED_APP_LIMIT


@dataclasses.dataclass
class CreditWindow:
    """Credits used in the minute window starting at ``window_start`` (epoch seconds);
    ``blocked_until`` is set from a 429's ``Retry-After``."""

    window_start: float = 0.0
    used: int = 0
    blocked_until: float = 0.0


class CreditStore(Protocol):
    """Where the credits of one (client id, organisation) are counted, shared by all workers."""

    def update(self, change: Callable[[CreditWindow], CreditWindow]) -> CreditWindow:
        """Apply ``change`` to the stored window atomically (under a lock shared by every
        worker), persist and return the result."""


class MemoryCreditStore:
    """In-process :class:`CreditStore`, for one worker or for tests."""

    def __init__(self):
        self._window = CreditWindow()
        self._lock = threading.Lock()

    def update(self, change: Callable[[CreditWindow], CreditWindow]) -> CreditWindow:
        """See :meth:`CreditStore.update`."""
        with self._lock:
            self._window = change(dataclasses.replace(self._window))
            return dataclasses.replace(self._window)


class SqliteCreditStore:
    """:class:`CreditStore` in a SQLite file, safe between processes (``flock`` on
    ``<path>.lock`` around each read-modify-write). One row per budget ``key``."""

    def __init__(self, path: str | os.PathLike, key: str = "default"):
        self.path = os.fspath(path)
        self.key = key
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS credits (key TEXT PRIMARY KEY, window_start REAL, "
            "used INTEGER, blocked_until REAL)"
        )
        self._thread_lock = threading.Lock()

    def update(self, change: Callable[[CreditWindow], CreditWindow]) -> CreditWindow:
        """See :meth:`CreditStore.update`."""
        with self._thread_lock, open(self.path + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                row = self._db.execute(
                    "SELECT window_start, used, blocked_until FROM credits WHERE key = ?",
                    (self.key,),
                ).fetchone()
                window = change(CreditWindow(*row) if row else CreditWindow())
                self._db.execute(
                    "INSERT OR REPLACE INTO credits VALUES (?, ?, ?, ?)",
                    (self.key, window.window_start, window.used, window.blocked_until),
                )
                return window
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class CreditBudget:
    """Reserves credits before each call in the shared :class:`CreditStore`.

    :param limit: credits a minute of the (client id, organisation) bucket
        (:func:`limit_for`).
    :param max_wait: longest wait (seconds) for the minute to turn; a longer one raises
        :class:`~.errors.CreditBudgetExhausted`. ``None`` = always wait.
    :param app_store: optional store of the client id's own bucket, shared by every
        organisation the app serves (B6: uncertified 50, certified 1000 a minute), with
        ``app_limit`` (:func:`app_limit_for`); a call must fit both buckets.
    """

    def __init__(
        self,
        store: CreditStore,
        *,
        limit: int = UNCERTIFIED_LIMIT,
        clock: Clock | None = None,
        max_wait: float | None = None,
        window: float = WINDOW,
        app_store: CreditStore | None = None,
        app_limit: int | None = None,
    ):
        self.store = store
        self.limit = limit
        self.clock = clock or SystemClock()
        self.max_wait = max_wait
        self.window = window
        self.app_store = app_store
        self.app_limit = app_limit or UNCERTIFIED_APP_LIMIT
        #: credits spent through this budget object (benchmarks, tests)
        self.spent = 0

    def _window_start(self, now: float) -> float:
        return now - now % self.window

    def _reserve(self, store: CreditStore, limit: int, credits: int, now: float) -> float:
        """Reserve in one bucket; return 0.0, or the epoch second to wait for."""
        start = self._window_start(now)
        wait_until = 0.0

        def reserve(window: CreditWindow) -> CreditWindow:
            nonlocal wait_until
            if window.window_start != start:
                window = CreditWindow(start, 0, window.blocked_until)
            if window.blocked_until > now:
                wait_until = window.blocked_until
            elif window.used + credits > limit:
                wait_until = start + self.window + RESET_MARGIN
            else:
                window.used += credits
            return window

        store.update(reserve)
        return wait_until

    def _give_back(self, store: CreditStore, credits: int, now: float) -> None:
        start = self._window_start(now)

        def give_back(window: CreditWindow) -> CreditWindow:
            if window.window_start == start:
                window.used = max(0, window.used - credits)
            return window

        store.update(give_back)

    def spend(self, credits: int) -> None:
        """Reserve ``credits`` in the current window, waiting for the next when needed.

        :raises CreditBudgetExhausted: the wait would exceed ``max_wait``.
        """
        if credits > self.limit:
            raise ValueError(f"A call of {credits} credits never fits a limit of {self.limit}.")
        while True:
            now = self.clock.now()
            wait_until = self._reserve(self.store, self.limit, credits, now)
            if not wait_until and self.app_store is not None:
                wait_until = self._reserve(self.app_store, self.app_limit, credits, now)
                if wait_until:
                    self._give_back(self.store, credits, now)
            if not wait_until:
                self.spent += credits
                return
            wait = wait_until - now
            if self.max_wait is not None and wait > self.max_wait:
                raise CreditBudgetExhausted(
                    f"Twinfield fair-use credits are spent for this minute "
                    f"({self.limit} a minute); the run resumes later.",
                    reset_at=wait_until,
                )
            self.clock.sleep(wait)

    def refund(self, credits: int) -> None:
        """Give back credits of a call that never left this machine."""
        now = self.clock.now()
        self._give_back(self.store, credits, now)
        if self.app_store is not None:
            self._give_back(self.app_store, credits, now)
        self.spent -= credits

    def blocked(self, retry_after: float) -> float:
        """Record a 429: nobody calls before ``retry_after`` seconds from now; return the
        epoch second when calls may start again."""
        until = self.clock.now() + max(0.0, retry_after)

        def block(window: CreditWindow) -> CreditWindow:
            window.blocked_until = max(window.blocked_until, until)
            return window

        self.store.update(block)
        return until
