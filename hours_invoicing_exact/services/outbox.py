"""Exactly-once delivery of outbox records to an accounting package.

No accounting API offers an idempotency key, so exactly-once is built from three rules:

1. a record is marked ``sending`` (committed) *before* its write is sent, and ``sent``
   with the remote id and number (committed) *after* the answer arrived;
2. a record found ``sending`` (the previous attempt crashed, or its answer was lost:
   :class:`OutcomeUnknown`) is first looked up in the target by its reference, in
   batches, and the existing remote entry is recorded instead of posting a second one;
3. an adapter raises any exception other than :class:`OutcomeUnknown` only when the
   write certainly did not happen, so such records can simply be sent again later.

The engine is target-neutral: a :class:`Repository` stores the records (the addon uses
PostgreSQL with ``FOR UPDATE SKIP LOCKED`` and commits; :class:`SqliteRepository`
serves the plain-Python tests) and an :class:`Adapter` per target posts and looks up.
A :class:`BatchAdapter` (Twinfield: several transactions in one call, each with its own
result) writes ``post_batch_size`` records per call; every record of the call is marked
``sending`` before it and gets its own outcome after it.
"""

import dataclasses
import fcntl
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

_logger = logging.getLogger(__name__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
ERROR = "error"
RECONNECT_NEEDED = "reconnect_needed"


class SyncError(Exception):
    """Base class of the errors the engine understands; ``message`` is user-readable."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RecordRejected(SyncError):
    """The target refused this record (its own text in ``message``); nothing was stored."""


class OutcomeUnknown(SyncError):
    """A write was sent but its answer was lost: the remote entry may exist."""


class StopRun(SyncError):
    """Stop the run; nothing was written for the record at hand, which stays to send."""


class ReconnectNeeded(StopRun):
    """The connection's authorization is lost; a user must connect again."""


class BudgetExhausted(StopRun):
    """The target's call budget is spent until ``reset_at`` (epoch seconds)."""

    def __init__(self, message: str, reset_at: float):
        super().__init__(message)
        self.reset_at = reset_at


class TargetUnavailable(StopRun):
    """The target kept failing after the transport retries."""


@dataclasses.dataclass
class OutboxRecord:
    """One thing to send; ``payload`` is plain data that the adapter turns into a request."""

    id: int
    reference: str
    payload: dict
    state: str = PENDING
    attempts: int = 0
    remote_id: str | None = None
    remote_number: str | None = None
    last_error: str | None = None


class Repository(Protocol):
    """Storage of outbox records; every ``mark_*`` is committed before it returns."""

    def claim(self, limit: int) -> list[OutboxRecord]:
        """Reserve up to ``limit`` records in state pending or sending, oldest first.

        Records reserved by another live run are skipped (``FOR UPDATE SKIP LOCKED``);
        a reservation ends with :meth:`release` or with the death of its process.
        """

    def release(self, records: Sequence[OutboxRecord]) -> None:
        """End the reservation of ``records``."""

    def mark_sending(self, record: OutboxRecord) -> None:
        """State sending, one more attempt: the write is about to be sent."""

    def mark_sent(self, record: OutboxRecord, remote_id: str, remote_number: str | None) -> None:
        """State sent, with the remote entry's id and number."""

    def mark_pending(self, record: OutboxRecord, message: str) -> None:
        """State pending with ``record.attempts``: the write did not happen, send again in a
        later run."""

    def note_unknown(self, record: OutboxRecord, message: str) -> None:
        """Keep state sending, store ``record.attempts`` and remember why: the record must
        be looked up."""

    def mark_error(self, record: OutboxRecord, message: str) -> None:
        """State error with the target's message; a user must act."""

    def mark_reconnect_needed(self, message: str) -> None:
        """Flag the connection (not a record): a user must connect again."""


class Adapter(Protocol):
    """What the engine needs from a target."""

    def post(self, payload: dict) -> tuple[str, str | None]:
        """Write one record; return (remote id, remote number).

        Raise :class:`OutcomeUnknown` when the write may have happened, any other
        exception only when it certainly did not.
        """

    def lookup(self, references: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Return {reference: (remote id, remote number)} of the references that exist."""


#: What a batch write returns per record: (remote id, remote number), or the error of that
#: record alone (:class:`RecordRejected`: certainly not stored; :class:`OutcomeUnknown`: may be).
Outcome = tuple[str, str | None] | SyncError


class BatchAdapter(Adapter, Protocol):
    """An :class:`Adapter` that can also write several records in one call (Twinfield's
    ``<transactions>``), each with its own outcome.

    ``post_batch_size`` is the number of records per call; the engine uses
    :meth:`post_batch` instead of :meth:`Adapter.post` when it is more than 1.
    """

    post_batch_size: int

    def post_batch(self, payloads: Sequence[dict]) -> list[Outcome]:
        """Write ``payloads`` in one call; return one :data:`Outcome` per payload, in order.

        Raise :class:`OutcomeUnknown` when the call as a whole may have written some of
        them, :class:`StopRun` when it certainly wrote none (busy, budget spent).
        """


@dataclasses.dataclass
class RunReport:
    """What a run did."""

    posted: int = 0
    recovered: int = 0
    rejected: int = 0
    unknown: int = 0
    lookups: int = 0
    stopped: str | None = None
    resume_at: float | None = None
    reconnect_needed: bool = False


class OutboxEngine:
    """Sends the records of a :class:`Repository` through an :class:`Adapter`, exactly once.

    Attempts count only against the record itself: a write that certainly did not happen
    because the target was busy (a stop: budget spent, 429s, 5xx after the retries) costs
    nothing, and writes without an answer cost nothing either when the target accepted no
    write at all in the run (a spell of the target, not a fault of the record). A record
    whose write got no answer is looked up and tried again once in the same run, and more
    often only after the target accepted another write; a run stops after
    ``max_unknown_in_a_row`` writes in a row without an answer, and the next run looks them
    up first.

    :param batch_size: records claimed (and looked up) at a time.
    :param max_attempts: writes without an answer per record (in runs where the target
        accepted other writes) before it goes to error.
    :param max_unknown_in_a_row: writes in a row without an answer that stop the run.
    """

    def __init__(
        self,
        repository: Repository,
        adapter: Adapter,
        *,
        batch_size: int = 50,
        max_attempts: int = 5,
        max_unknown_in_a_row: int = 5,
    ):
        self.repository = repository
        self.adapter = adapter
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.max_unknown_in_a_row = max_unknown_in_a_row
        #: record id -> (record, writes accepted at its last unknown outcome, unknown outcomes)
        self._unknown: dict[int, tuple[OutboxRecord, int, int]] = {}
        self._unknown_in_a_row = 0
        self._accepted = 0

    def run(self, limit: int | None = None) -> RunReport:
        """Process records until none is due, ``limit`` records were handled, or a stop."""
        report = RunReport()
        self._unknown, self._unknown_in_a_row, self._accepted = {}, 0, 0
        handled = 0
        try:
            while limit is None or handled < limit:
                size = self.batch_size if limit is None else min(self.batch_size, limit - handled)
                claimed = self.repository.claim(size + len(self._unknown))
                batch = [record for record in claimed if self._may_try(record)][:size]
                try:
                    stopped = self._process(batch, report) if batch else False
                finally:
                    self.repository.release(claimed)
                handled += len(batch)
                if stopped or not batch:
                    break
        finally:
            self._forgive_a_spell(report)
        return report

    def _may_try(self, record: OutboxRecord) -> bool:
        """A write without an answer is tried again once in the run, then only after the
        target accepted another write."""
        _record, accepted, times = self._unknown.get(record.id, (None, -1, 0))
        return times < 2 or accepted != self._accepted

    def _forgive_a_spell(self, report: RunReport) -> None:
        """The target accepted no write in this run: its unanswered writes were its own
        trouble, not the records', and cost them no attempt (they stay to be looked up)."""
        if self._accepted:
            return
        for record, _accepted, times in self._unknown.values():
            if record.state == SENDING and record.attempts > 0:
                record.attempts = max(record.attempts - times, 0)
                self.repository.note_unknown(record, record.last_error or "")

    def _process(self, batch: list[OutboxRecord], report: RunReport) -> bool:
        """Resolve the unknown records of ``batch``, then post the rest; True = stop the run."""
        to_post = [record for record in batch if record.state == PENDING]
        unknown = [record for record in batch if record.state == SENDING]
        if unknown:
            try:
                found = self.adapter.lookup([record.reference for record in unknown])
            except SyncError as exc:
                return self._stop(exc, report)
            report.lookups += 1
            for record in unknown:
                if record.reference in found:
                    remote_id, remote_number = found[record.reference]
                    self.repository.mark_sent(record, remote_id, remote_number)
                    report.recovered += 1
                    self._accepted += 1
                else:
                    to_post.append(record)
            to_post.sort(key=lambda record: record.id)
        group_size = getattr(self.adapter, "post_batch_size", 1)
        if group_size > 1:
            for start in range(0, len(to_post), group_size):
                if self._post_group(to_post[start:start + group_size], report):
                    return True
            return False
        for record in to_post:
            if self._post(record, report):
                return True
        return False

    def _give_up(self, record: OutboxRecord, report: RunReport) -> bool:
        """Send ``record`` to error when its writes without an answer are spent."""
        if record.attempts >= self.max_attempts:
            self.repository.mark_error(
                record, f"Gave up after {record.attempts} attempts: {record.last_error or ''}"
            )
            report.rejected += 1
            return True
        return False

    def _post(self, record: OutboxRecord, report: RunReport) -> bool:
        """Send one record known not to exist remotely; True = stop the run.

        Unexpected exceptions propagate and leave the record ``sending``, so that the
        next run looks it up instead of risking a duplicate.
        """
        if self._give_up(record, report):
            return False
        self.repository.mark_sending(record)
        try:
            outcome = self.adapter.post(record.payload)
        except (OutcomeUnknown, RecordRejected) as exc:
            outcome = exc
        except StopRun as exc:
            # nothing was written: the target was busy, which costs the record nothing
            record.attempts -= 1
            self.repository.mark_pending(record, exc.message)
            return self._stop(exc, report)
        return self._settle_call([(record, outcome)], report)

    def _post_group(self, records: list[OutboxRecord], report: RunReport) -> bool:
        """Send ``records`` (known not to exist remotely) in one batch call; True = stop.

        Each record is marked ``sending`` (committed) before the call, like in :meth:`_post`.
        """
        group = [record for record in records if not self._give_up(record, report)]
        if not group:
            return False
        for record in group:
            self.repository.mark_sending(record)
        try:
            outcomes = self.adapter.post_batch([record.payload for record in group])
        except (OutcomeUnknown, RecordRejected) as exc:
            outcomes = [exc] * len(group)
        except StopRun as exc:
            for record in group:
                record.attempts -= 1
                self.repository.mark_pending(record, exc.message)
            return self._stop(exc, report)
        if len(outcomes) != len(group):
            raise RuntimeError("post_batch returned a different number of outcomes")
        return self._settle_call(list(zip(group, outcomes, strict=True)), report)

    def _settle_call(self, results: list[tuple[OutboxRecord, Outcome]], report: RunReport) -> bool:
        """Record the outcome of each record of one call; True = stop the run.

        A call whose records all got no answer counts once towards ``max_unknown_in_a_row``;
        a call with any stored or refused record resets that count.
        """
        unknown_message = None
        for record, outcome in results:
            if isinstance(outcome, OutcomeUnknown):
                self.repository.note_unknown(record, outcome.message)
                report.unknown += 1
                times = self._unknown.get(record.id, (None, 0, 0))[2] + 1
                self._unknown[record.id] = (record, self._accepted, times)
                unknown_message = outcome.message
            elif isinstance(outcome, SyncError):
                self.repository.mark_error(record, outcome.message)
                report.rejected += 1
            else:
                remote_id, remote_number = outcome
                self._accepted += 1
                self.repository.mark_sent(record, remote_id, remote_number)
                report.posted += 1
        if unknown_message is None or len(results) > 1 and any(
            not isinstance(outcome, OutcomeUnknown) for _record, outcome in results
        ):
            self._unknown_in_a_row = 0
            return False
        self._unknown_in_a_row += 1
        if self._unknown_in_a_row >= self.max_unknown_in_a_row:
            return self._stop(
                TargetUnavailable(
                    f"{self._unknown_in_a_row} writes in a row got no answer "
                    f"({unknown_message}); they are looked up in the next run."
                ),
                report,
            )
        return False

    def _stop(self, exc: SyncError, report: RunReport) -> bool:
        """Record why the run stops; return True."""
        _logger.warning("Outbox run stopped: %s", exc.message)
        report.stopped = exc.message
        if isinstance(exc, BudgetExhausted):
            report.resume_at = exc.reset_at
        if isinstance(exc, ReconnectNeeded):
            report.reconnect_needed = True
            self.repository.mark_reconnect_needed(exc.message)
        return True


class SqliteRepository:
    """:class:`Repository` in SQLite, safe between processes, for tests and demos.

    Each update is its own committed statement. Reservations are POSIX byte-range
    locks on ``<path>.claims`` (one byte per record id), which the kernel drops when
    the process dies, like row locks of a dead PostgreSQL session. POSIX locks do not
    exclude each other within one process: use one repository per process.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: still safe if a process dies
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS outbox (
                id INTEGER PRIMARY KEY,
                reference TEXT NOT NULL UNIQUE,
                payload TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                remote_id TEXT,
                remote_number TEXT,
                last_error TEXT
            );
            CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
            CREATE TABLE IF NOT EXISTS connection (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                state TEXT NOT NULL,
                message TEXT
            );
            INSERT OR IGNORE INTO connection (id, state) VALUES (1, 'connected');
            """
        )
        self._claims = os.open(self.path + ".claims", os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        """Close the database and drop every reservation of this process."""
        self._db.close()
        os.close(self._claims)

    def enqueue(self, reference: str, payload: Mapping) -> int:
        """Add a record to send; return its id."""
        cursor = self._db.execute(
            "INSERT INTO outbox (reference, payload) VALUES (?, ?)",
            (reference, json.dumps(payload)),
        )
        return cursor.lastrowid

    def records(self) -> list[OutboxRecord]:
        """Return all records, oldest first."""
        return [self._record(row) for row in self._db.execute("SELECT * FROM outbox ORDER BY id")]

    def get(self, reference: str) -> OutboxRecord:
        """Return the record with ``reference``."""
        row = self._db.execute("SELECT * FROM outbox WHERE reference = ?", (reference,)).fetchone()
        return self._record(row)

    def connection_state(self) -> tuple[str, str | None]:
        """Return (state, message) of the connection."""
        row = self._db.execute("SELECT state, message FROM connection").fetchone()
        return row["state"], row["message"]

    def claim(self, limit: int) -> list[OutboxRecord]:
        """Reserve up to ``limit`` due records, skipping those another process holds."""
        claimed = []
        rows = self._db.execute(
            "SELECT id FROM outbox WHERE state IN (?, ?) ORDER BY id", (PENDING, SENDING)
        ).fetchall()
        for row in rows:
            if len(claimed) == limit:
                break
            try:
                fcntl.lockf(self._claims, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, row["id"])
            except OSError:
                continue
            current = self._db.execute("SELECT * FROM outbox WHERE id = ?", (row["id"],)).fetchone()
            if current["state"] in (PENDING, SENDING):
                claimed.append(self._record(current))
            else:
                fcntl.lockf(self._claims, fcntl.LOCK_UN, 1, row["id"])
        return claimed

    def release(self, records: Iterable[OutboxRecord]) -> None:
        """Drop the reservations of ``records``."""
        for record in records:
            fcntl.lockf(self._claims, fcntl.LOCK_UN, 1, record.id)

    def mark_sending(self, record: OutboxRecord) -> None:
        """See :meth:`Repository.mark_sending`."""
        record.state, record.attempts = SENDING, record.attempts + 1
        self._update(record, "state = ?, attempts = ?", SENDING, record.attempts)

    def mark_sent(self, record: OutboxRecord, remote_id: str, remote_number: str | None) -> None:
        """See :meth:`Repository.mark_sent`."""
        record.state, record.remote_id, record.remote_number = SENT, remote_id, remote_number
        self._update(
            record,
            "state = ?, remote_id = ?, remote_number = ?, last_error = NULL",
            SENT,
            remote_id,
            remote_number,
        )

    def mark_pending(self, record: OutboxRecord, message: str) -> None:
        """See :meth:`Repository.mark_pending`."""
        record.state, record.last_error = PENDING, message
        self._update(
            record, "state = ?, last_error = ?, attempts = ?", PENDING, message, record.attempts
        )

    def note_unknown(self, record: OutboxRecord, message: str) -> None:
        """See :meth:`Repository.note_unknown`."""
        record.last_error = message
        self._update(record, "last_error = ?, attempts = ?", message, record.attempts)

    def mark_error(self, record: OutboxRecord, message: str) -> None:
        """See :meth:`Repository.mark_error`."""
        record.state, record.last_error = ERROR, message
        self._update(record, "state = ?, last_error = ?", ERROR, message)

    def mark_reconnect_needed(self, message: str) -> None:
        """See :meth:`Repository.mark_reconnect_needed`."""
        self._db.execute(
            "UPDATE connection SET state = ?, message = ?", (RECONNECT_NEEDED, message)
        )

    def _update(self, record: OutboxRecord, assignments: str, *values) -> None:
        """Run one committed UPDATE of ``record``'s row."""
        self._db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*values, record.id))

    @staticmethod
    def _record(row: sqlite3.Row) -> OutboxRecord:
        """Turn a row into an :class:`OutboxRecord`."""
        values = dict(row)
        values["payload"] = json.loads(values["payload"])
        return OutboxRecord(**values)
