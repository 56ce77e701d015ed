# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PostgreSQL implementations of the Odoo-free protocols of ``services``.

* :class:`DbTokenStore` (:class:`~..services.exact.oauth.TokenStore`): the token chain
  lives on the ``accounting_connection`` row; the cross-process lock is
  ``SELECT ... FOR UPDATE`` on that row, the stored chain is re-read after the lock
  is taken, and every new refresh token is committed at once in the lock's own
  transaction;
* :class:`DbRateLimitStore` (:class:`~..services.exact.ratelimit.RateLimitStore`): the
  budget of the division, also on the connection row, shared by every worker;
* :class:`DbOutboxRepository` (:class:`~..services.outbox.Repository`) over
  ``accounting_outbox``.

Every store works in cursors of its own, obtained from a *cursor factory* (by default
``registry.cursor``), and never in the caller's transaction (committing them is the
point; the OCA rule against ``cr.commit()`` is about the caller's transaction): what
they write must be committed at once and must survive a rollback of the caller. Tests
pass a factory of real connections to exercise concurrency.

Reservations of outbox records: the claiming transaction keeps a ``FOR KEY SHARE``
lock on each claimed row for the whole batch. Another claimer tests each row with
``FOR UPDATE SKIP LOCKED`` (which conflicts with that lock) inside a savepoint, and
keeps only its own ``FOR KEY SHARE`` lock afterwards; it scans on past the rows that
fail the test, so that concurrent workers each get a batch of their own. The state updates of the
records (``mark_*``), made and committed in short transactions of their own, take
``FOR NO KEY UPDATE`` locks, which do not conflict with ``FOR KEY SHARE``. PostgreSQL
drops the reservations with the session when a worker dies.
"""

import contextlib
import json
import logging

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import SUPERUSER_ID, api, fields
from odoo.sql_db import TestCursor

from ..services import outbox as engine
from ..services.exact.oauth import TokenState
from ..services.exact.ratelimit import RateLimitState
from ..services.twinfield.credits import CreditWindow

_logger = logging.getLogger(__name__)

#: accounting.outbox state <-> engine state
TO_ENGINE_STATE = {"to_send": engine.PENDING, "sending": engine.SENDING}
DUE_STATES = ("to_send", "sending")


def open_cursor(factory):
    """Return a new cursor of ``factory`` in READ COMMITTED isolation.

    Odoo's cursors are REPEATABLE READ; a lock waiter there fails with a serialization
    error once the lock holder commits a change to the row, where READ COMMITTED
    re-reads the row's latest version, which is what a lock-then-re-read needs.
    Test cursors share the test's transaction and are returned as they are.
    """
    cr = factory()
    if not isinstance(cr, TestCursor):
        cr._cnx.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
    return cr


@contextlib.contextmanager
def own_env(factory, uid=SUPERUSER_ID):
    """An environment on a cursor of its own (READ COMMITTED), committed on success."""
    cr = open_cursor(factory)
    try:
        yield api.Environment(cr, uid, {"tracking_disable": True})
        cr.commit()  # pylint: disable=invalid-commit
    except BaseException:
        cr.rollback()
        raise
    finally:
        cr.close()


class DbTokenStore:
    """Token chain of one ``accounting.connection`` row (see module docstring); ``prefix``
    names the target's token columns (``exact``: ``exact_access_token``, ...; ``twf``)."""

    def __init__(self, cursor_factory, connection_id, prefix="exact"):
        self.cursor_factory = cursor_factory
        self.connection_id = connection_id
        self.prefix = prefix
        self._COLUMNS = ", ".join(
            f"{prefix}_{name}"
            for name in ("access_token", "refresh_token", "token_expires_at", "token_issued_at")
        )
        self._locked_cr = None

    def _read(self, cr, lock=False):
        cr.execute(
            f"SELECT {self._COLUMNS} FROM accounting_connection WHERE id = %s"
            + (" FOR UPDATE" if lock else ""),
            (self.connection_id,),
        )
        row = cr.fetchone()
        if not row:
            return TokenState()
        return TokenState(
            access_token=row[0] or "",
            refresh_token=row[1] or "",
            expires_at=float(row[2] or 0.0),
            issued_at=float(row[3] or 0.0),
        )

    def load(self):
        """Read the stored chain without locking."""
        cr = open_cursor(self.cursor_factory)
        try:
            return self._read(cr)
        finally:
            cr.close()

    @contextlib.contextmanager
    def lock_and_load(self):
        """Lock the connection row (``FOR UPDATE``), then read the chain stored in it."""
        cr = open_cursor(self.cursor_factory)
        try:
            state = self._read(cr, lock=True)
            self._locked_cr = cr
            yield state
            cr.commit()  # pylint: disable=invalid-commit
        except BaseException:
            cr.rollback()
            raise
        finally:
            self._locked_cr = None
            cr.close()

    def save(self, state):
        """Write the chain and commit at once (in the lock's transaction when locked)."""
        cr = self._locked_cr or open_cursor(self.cursor_factory)
        try:
            cr.execute(
                f"UPDATE accounting_connection SET {self.prefix}_access_token = %s, "
                f"{self.prefix}_refresh_token = %s, {self.prefix}_token_expires_at = %s, "
                f"{self.prefix}_token_issued_at = %s, write_date = now() at time zone 'UTC' "
                "WHERE id = %s",
                (
                    state.access_token,
                    state.refresh_token,
                    state.expires_at,
                    state.issued_at,
                    self.connection_id,
                ),
            )
            cr.commit()  # pylint: disable=invalid-commit
        finally:
            if cr is not self._locked_cr:
                cr.close()


class DbRateLimitStore:
    """Rate-limit budget of one connection's division, on its row."""

    _FIELDS = (
        "daily_limit",
        "daily_remaining",
        "daily_reset",
        "minutely_limit",
        "minutely_remaining",
        "minutely_reset",
    )

    def __init__(self, cursor_factory, connection_id):
        self.cursor_factory = cursor_factory
        self.connection_id = connection_id

    def load(self):
        """Return the last budget announced by Exact for the division."""
        cr = open_cursor(self.cursor_factory)
        try:
            columns = ", ".join(f"rl_{name}" for name in self._FIELDS)
            cr.execute(
                f"SELECT {columns} FROM accounting_connection WHERE id = %s",
                (self.connection_id,),
            )
            row = cr.fetchone() or (None,) * len(self._FIELDS)
            return RateLimitState(**dict(zip(self._FIELDS, row, strict=True)))
        finally:
            cr.close()

    def save(self, state):
        """Store the budget and commit at once."""
        values = state.to_dict()
        assignments = ", ".join(f"rl_{name} = %s" for name in self._FIELDS)
        cr = open_cursor(self.cursor_factory)
        try:
            cr.execute(
                f"UPDATE accounting_connection SET {assignments} WHERE id = %s",
                (*(values[name] for name in self._FIELDS), self.connection_id),
            )
            cr.commit()  # pylint: disable=invalid-commit
        finally:
            cr.close()


class DbCreditStore:
    """:class:`~..services.twinfield.credits.CreditStore` of one fair-use budget ``key``
    (Twinfield: client id and organisation), one ``accounting_credit_budget`` row shared by
    every worker: created when missing, locked ``FOR UPDATE``, changed and committed at once."""

    def __init__(self, cursor_factory, key):
        self.cursor_factory = cursor_factory
        self.key = key

    def update(self, change):
        """See :meth:`~..services.twinfield.credits.CreditStore.update`."""
        cr = open_cursor(self.cursor_factory)
        try:
            cr.execute(
                "INSERT INTO accounting_credit_budget (key, window_start, used, blocked_until) "
                "VALUES (%s, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
                (self.key,),
            )
            cr.execute(
                "SELECT window_start, used, blocked_until FROM accounting_credit_budget "
                "WHERE key = %s FOR UPDATE",
                (self.key,),
            )
            start, used, blocked = cr.fetchone()
            window = change(CreditWindow(float(start or 0.0), int(used or 0),
                                         float(blocked or 0.0)))
            cr.execute(
                "UPDATE accounting_credit_budget SET window_start = %s, used = %s, "
                "blocked_until = %s WHERE key = %s",
                (window.window_start, window.used, window.blocked_until, self.key),
            )
            cr.commit()  # pylint: disable=invalid-commit
            return window
        except BaseException:
            cr.rollback()
            raise
        finally:
            cr.close()


class DbOutboxRepository:
    """:class:`~..services.outbox.Repository` over the ``accounting.outbox`` records of one
    connection and kind (optionally only ``record_ids``)."""

    def __init__(self, cursor_factory, connection_id, kind, record_ids=None, uid=SUPERUSER_ID):
        self.cursor_factory = cursor_factory
        self.connection_id = connection_id
        self.kind = kind
        self.record_ids = list(record_ids) if record_ids else None
        self.uid = uid
        self._claim_cr = None

    # -- reservations ---------------------------------------------------------------

    def claim(self, limit):
        """Reserve up to ``limit`` due records (see the module docstring)."""
        self._end_claim()
        cr = open_cursor(self.cursor_factory)
        self._claim_cr = cr
        cr.execute(
            "SELECT c.state FROM accounting_connection c WHERE c.id = %s",
            (self.connection_id,),
        )
        row = cr.fetchone()
        if not row or row[0] != "connected":
            self._end_claim()  # nothing reserved: close the cursor now, not when collected
            return []
        where = "connection_id = %s AND kind = %s AND state IN %s"
        params = [self.connection_id, self.kind, DUE_STATES]
        if self.record_ids is not None:
            where += " AND id IN %s"
            params.append(tuple(self.record_ids))
        # Rows reserved by another worker fail the FOR UPDATE test: scan on past them
        # until ``limit`` rows are reserved or no due row is left.
        rows, last_id = [], 0
        while len(rows) < limit:
            cr.execute(
                f"SELECT id FROM accounting_outbox WHERE {where} AND id > %s "
                "ORDER BY id LIMIT %s FOR KEY SHARE SKIP LOCKED",
                (*params, last_id, limit - len(rows)),
            )
            ids = [r[0] for r in cr.fetchall()]
            if not ids:
                break
            last_id = ids[-1]
            cr.execute("SAVEPOINT hie_outbox_claim")
            cr.execute(
                "SELECT id, reference, payload, state, attempts, remote_id, remote_number, "
                "last_error FROM accounting_outbox WHERE id IN %s AND state IN %s "
                "ORDER BY id FOR UPDATE SKIP LOCKED",
                (tuple(ids), DUE_STATES),
            )
            rows += cr.fetchall()
            cr.execute("ROLLBACK TO SAVEPOINT hie_outbox_claim")
            cr.execute("RELEASE SAVEPOINT hie_outbox_claim")
        records = []
        for rid, reference, payload, state, attempts, remote_id, number, error in rows:
            if isinstance(payload, str):
                payload = json.loads(payload)
            records.append(
                engine.OutboxRecord(
                    id=rid,
                    reference=reference,
                    payload=payload or {},
                    state=TO_ENGINE_STATE[state],
                    attempts=attempts or 0,
                    remote_id=remote_id,
                    remote_number=number,
                    last_error=error,
                )
            )
        if not records:
            self._end_claim()
        return records

    def release(self, records):
        """End the reservations (the claiming transaction)."""
        self._end_claim()

    def _end_claim(self):
        if self._claim_cr is not None:
            try:
                self._claim_cr.commit()  # pylint: disable=invalid-commit
            finally:
                self._claim_cr.close()
                self._claim_cr = None

    # -- state changes, each committed ---------------------------------------------

    def _env(self):
        """An environment on a cursor of its own, committed on success."""
        return own_env(self.cursor_factory, self.uid)

    def _write(self, record, values):
        with self._env() as env:
            env["accounting.outbox"].sudo().browse(record.id).write(values)

    def mark_sending(self, record):
        """See :meth:`~..services.outbox.Repository.mark_sending`."""
        record.state, record.attempts = engine.SENDING, record.attempts + 1
        self._write(
            record,
            {
                "state": "sending",
                "attempts": record.attempts,
                "last_attempt_at": fields.Datetime.now(),
            },
        )

    def mark_sent(self, record, remote_id, remote_number):
        """See :meth:`~..services.outbox.Repository.mark_sent`."""
        record.state, record.remote_id, record.remote_number = engine.SENT, remote_id, remote_number
        self._write(
            record,
            {
                "state": "sent",
                "remote_id": remote_id,
                "remote_number": remote_number,
                "last_error": False,
                "sent_at": fields.Datetime.now(),
            },
        )

    def mark_pending(self, record, message):
        """See :meth:`~..services.outbox.Repository.mark_pending`."""
        record.state, record.last_error = engine.PENDING, message
        self._write(
            record, {"state": "to_send", "last_error": message, "attempts": record.attempts}
        )

    def note_unknown(self, record, message):
        """See :meth:`~..services.outbox.Repository.note_unknown`."""
        record.last_error = message
        self._write(record, {"last_error": message, "attempts": record.attempts})

    def mark_error(self, record, message):
        """See :meth:`~..services.outbox.Repository.mark_error`."""
        record.state, record.last_error = engine.ERROR, message
        self._write(record, {"state": "error", "last_error": message})

    def mark_reconnect_needed(self, message):
        """Flag the connection, park its records, and ask the accounting manager to act."""
        with self._env() as env:
            env["accounting.connection"].sudo().browse(self.connection_id)._set_reconnect_needed(
                message
            )
