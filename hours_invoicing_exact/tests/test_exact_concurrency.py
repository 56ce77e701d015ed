# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two workers running the outbox at the same moment, on real PostgreSQL connections.

The test's own transaction cannot be seen from other connections, so the fixtures are
committed through a connection of their own and deleted at the end."""

import threading
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from hie_testing.exact_server import CUSTOMER_ID, REVENUE_ACCOUNT_ID

from .exact_common import CommittedWorkersMixin, ExactServerMixin, connected_connection

RECORDS = 12


@tagged("post_install", "-at_install")
class TestExactConcurrency(CommittedWorkersMixin, ExactServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_exact_server()

    def setUp(self):
        super().setUp()
        self.reset_exact_server()
        self.db = db_connect(self.env.cr.dbname)
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env.ref("base.main_company")
            connection = connected_connection(env, company, self.server)
            self.connection_id = connection.id
            account = env["account.account"].search([("account_type", "=", "income")], limit=1)
            tax = env["account.tax"].search([("type_tax_use", "=", "sale")], limit=1)
            journal = env["account.journal"].search([("type", "=", "sale")], limit=1)
            refs = env["accounting.reference"].create([
                {"connection_id": connection.id, "kind": "gl_account",
                 "remote_id": REVENUE_ACCOUNT_ID, "code": "8000", "balance_type": "W"},
                {"connection_id": connection.id, "kind": "vat_code", "remote_id": "vat-2",
                 "code": "2", "percentage": 0.21},
                {"connection_id": connection.id, "kind": "journal", "remote_id": "journal-70",
                 "code": "70", "journal_type": 20},
            ])
            env["accounting.mapping"].create([
                {"connection_id": connection.id, "kind": "account", "account_id": account.id,
                 "reference_id": refs[0].id},
                {"connection_id": connection.id, "kind": "tax", "tax_id": tax.id,
                 "reference_id": refs[1].id},
                {"connection_id": connection.id, "kind": "journal", "journal_id": journal.id,
                 "reference_id": refs[2].id},
                {"connection_id": connection.id, "kind": "partner",
                 "partner_id": company.partner_id.id, "remote_id": CUSTOMER_ID},
            ])
            self.references = [f"CONC/{number:03d}" for number in range(RECORDS)]
            env["accounting.outbox"].create([{
                "connection_id": connection.id, "res_model": "res.company",
                "res_id": company.id, "reference": reference, "kind": "sales_entry",
                "payload": {
                    "number": reference, "date": "2025-01-15", "credit_note": False,
                    "partner_id": company.partner_id.id, "journal_id": journal.id,
                    "lines": [{"account_id": account.id, "tax_id": tax.id, "amount": 100.0}],
                },
            } for reference in self.references])
        self.addCleanup(self._delete_fixtures)

    def _delete_fixtures(self):
        with self.db.cursor() as cr:
            cr.execute("DELETE FROM accounting_outbox WHERE connection_id = %s",
                       (self.connection_id,))
            cr.execute("DELETE FROM mail_followers WHERE res_model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM mail_message WHERE model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM accounting_connection WHERE id = %s", (self.connection_id,))

    def _states(self):
        with self.db.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM accounting_outbox WHERE connection_id = %s "
                       "GROUP BY state", (self.connection_id,))
            return dict(cr.fetchall())

    def test_overlapping_workers_post_once_and_refresh_once(self):
        """The first POST of each worker is held at a barrier in the server until the other
        worker's first POST arrives too: both workers are proven to be inside a run, each
        with records claimed, at the same moment. Both POSTs carry the revoked access
        token, so both workers need a new one at that moment; the refresh is slowed down
        so that the second worker waits on the token row lock while the first refreshes."""
        self.server.clock.advance(600)
        self.server.revoke_access_tokens()
        self.server.token_delay = 0.3
        self.addCleanup(setattr, self.server, "token_delay", 0.0)
        barrier, held, lock = threading.Barrier(2), [], threading.Lock()
        in_flight, overlap = [0], [0]

        def before_post(path):
            if "SalesEntries" not in path:
                return
            with lock:
                first = len(held) < 2
                if first:
                    held.append(path)
                in_flight[0] += 1
                overlap[0] = max(overlap[0], in_flight[0])
            try:
                if first:
                    barrier.wait(timeout=20)  # BrokenBarrierError: no overlap
                else:
                    time.sleep(0.02)  # keep the workers interleaved
            finally:
                with lock:
                    in_flight[0] -= 1

        self.server.before_post = before_post
        self.addCleanup(setattr, self.server, "before_post", None)
        reports = self._run_workers()
        self.assertFalse(barrier.broken)
        self.assertEqual(len(held), 2)
        self.assertEqual(overlap[0], 2)
        self.assertTrue(all(report.posted for report in reports), reports)  # both worked
        reports += self._run_workers(1)
        self.assertEqual(self._states(), {"sent": RECORDS}, reports)
        counts = self.server.entries_by_ref()
        self.assertEqual({reference: counts[reference] for reference in self.references},
                         dict.fromkeys(self.references, 1))
        self.assertEqual(self.server.calls[("POST", "salesentry/SalesEntries")], RECORDS)
        self.assertEqual(self.server.statuses[401], 2)  # both held POSTs were refused
        self.assertEqual(self.server.token_calls["refresh_token"], 1)

    def test_two_workers_post_each_record_once_and_refresh_once(self):
        # Exact considers the access token expired: both workers get a 401 and renew.
        self.server.clock.advance(600)
        self.server.revoke_access_tokens()
        reports = self._run_workers()
        # records both workers skipped (each saw the other's reservation) go in a next run
        reports += self._run_workers(1)
        self.assertEqual(self._states(), {"sent": RECORDS}, reports)
        self.assertEqual(sum(report.posted for report in reports), RECORDS)
        counts = self.server.entries_by_ref()
        self.assertEqual({reference: counts[reference] for reference in self.references},
                         dict.fromkeys(self.references, 1))
        self.assertEqual(self.server.calls[("POST", "salesentry/SalesEntries")], RECORDS)
        self.assertEqual(self.server.token_calls["refresh_token"], 1)
        with self.db.cursor() as cr:
            cr.execute("SELECT state FROM accounting_connection WHERE id = %s",
                       (self.connection_id,))
            self.assertEqual(cr.fetchone()[0], "connected")

    def test_retry_sends_at_once(self):
        """Defect 6: Retry, in a request whose transaction began before the reset was
        committed, sends the records at once (not 15 minutes later)."""
        with self.db.cursor() as cr:
            cr.execute("UPDATE accounting_outbox SET state = 'error', attempts = 5, "
                       "last_error = 'Gave up after 5 attempts' WHERE connection_id = %s",
                       (self.connection_id,))
        Connection = type(self.env["accounting.connection"])
        with patch.object(Connection, "_get_cursor_factory", lambda connection: self.cursor), \
                patch.object(Connection, "_get_timeout", lambda connection: 10.0), \
                self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            records = env["accounting.outbox"].search(
                [("connection_id", "=", self.connection_id)])
            self.assertEqual(set(records.mapped("state")), {"error"})  # the request's snapshot
            records.action_retry()
        self.assertEqual(self._states(), {"sent": RECORDS})
        counts = self.server.entries_by_ref()
        self.assertEqual({reference: counts[reference] for reference in self.references},
                         dict.fromkeys(self.references, 1))
