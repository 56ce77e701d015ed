# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Twinfield outbox runs on real PostgreSQL connections, as Odoo workers run them: two
workers at the same moment, and a real worker process SIGKILLed between Twinfield's answer
and the commit of it. After each, the local Twinfield server holds exactly one transaction
per invoice, equal to the cent.

The test's own transaction cannot be seen from other connections, so the fixtures are
committed through a connection of their own and deleted at the end."""

import signal
import threading
import time
from decimal import Decimal
from pathlib import Path

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from hie_testing.twinfield_server import CUSTOMER, OFFICE, ORGANISATION

from ..services.exact.oauth import TokenState
from .exact_common import CommittedWorkersMixin
from .killed_worker import run_killed_worker
from .twinfield_common import TwinfieldServerMixin

RECORDS = 12
WORKER = Path(__file__).with_name("twinfield_crash_worker.py")


@tagged("post_install", "-at_install")
class TestTwinfieldWorkers(CommittedWorkersMixin, TwinfieldServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_twinfield_server()

    def setUp(self):
        super().setUp()
        self.reset_twinfield_server()
        self.db = db_connect(self.env.cr.dbname)
        server = self.twf
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env.ref("base.main_company")
            tokens = TokenState.from_token_response(server.issue_tokens(), time.time())
            connection = env["accounting.connection"].create({
                "company_id": company.id, "target": "twinfield",
                "twf_login_host": server.base_url, "client_id": server.client_id,
                "client_secret": server.client_secret, "twf_certified": True,
                "twf_access_token": tokens.access_token,
                "twf_refresh_token": tokens.refresh_token,
                "twf_token_expires_at": tokens.expires_at,
                "twf_token_issued_at": tokens.issued_at,
                "twf_cluster_url": server.cluster_url, "twf_organisation": ORGANISATION,
                "twf_office": OFFICE, "state": "connected",
            })
            self.connection_id = connection.id
            self.budget_key = f"twinfield/{server.client_id}/{ORGANISATION}"
            account = env["account.account"].search([("account_type", "=", "income")], limit=1)
            tax = env["account.tax"].search(
                [("type_tax_use", "=", "sale"), ("amount", "=", 21.0)], limit=1)
            journal = env["account.journal"].search([("type", "=", "sale")], limit=1)
            refs = env["accounting.reference"].create([
                {"connection_id": connection.id, "kind": "gl_account", "remote_id": "8000",
                 "code": "8000", "balance_type": "W"},
                {"connection_id": connection.id, "kind": "vat_code", "remote_id": "VH",
                 "code": "VH", "percentage": 0.21},
                {"connection_id": connection.id, "kind": "journal", "remote_id": "VRK",
                 "code": "VRK", "journal_type": 20},
            ])
            env["accounting.mapping"].create([
                {"connection_id": connection.id, "kind": "account", "account_id": account.id,
                 "reference_id": refs[0].id},
                {"connection_id": connection.id, "kind": "tax", "tax_id": tax.id,
                 "reference_id": refs[1].id},
                {"connection_id": connection.id, "kind": "journal", "journal_id": journal.id,
                 "reference_id": refs[2].id},
                {"connection_id": connection.id, "kind": "partner",
                 "partner_id": company.partner_id.id, "remote_id": CUSTOMER},
            ])
            self.references = [f"TWF/CONC/{number:03d}" for number in range(RECORDS)]
            self.amounts = {ref: 100.0 + number + number / 100.0
                            for number, ref in enumerate(self.references)}
            env["accounting.outbox"].create([{
                "connection_id": connection.id, "res_model": "res.company",
                "res_id": company.id, "reference": reference, "kind": "sales_entry",
                "payload": {
                    "number": reference, "date": "2025-01-15", "credit_note": False,
                    "partner_id": company.partner_id.id, "journal_id": journal.id,
                    "currency": "EUR",
                    "lines": [{"account_id": account.id, "tax_id": tax.id,
                               "amount": self.amounts[reference],
                               "vat_amount": round(self.amounts[reference] * 0.21, 2)}],
                },
            } for reference in self.references])
        self.addCleanup(self._delete_fixtures)

    def _delete_fixtures(self):
        with self.db.cursor() as cr:
            cr.execute("DELETE FROM accounting_outbox WHERE connection_id = %s",
                       (self.connection_id,))
            cr.execute("DELETE FROM accounting_mapping WHERE connection_id = %s",
                       (self.connection_id,))
            cr.execute("DELETE FROM mail_followers WHERE res_model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM mail_message WHERE model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM accounting_connection WHERE id = %s", (self.connection_id,))
            cr.execute("DELETE FROM accounting_credit_budget WHERE key = %s",
                       (self.budget_key,))

    def _committed_outbox(self):
        with self.db.cursor() as cr:
            cr.execute("SELECT reference, state, attempts, remote_number FROM accounting_outbox "
                       "WHERE connection_id = %s ORDER BY reference", (self.connection_id,))
            return cr.fetchall()

    def assert_once_to_the_cent(self):
        counts = self.twf.transactions_by_invoice()
        self.assertEqual({ref: counts[ref] for ref in self.references},
                         dict.fromkeys(self.references, 1))
        self.assertEqual(sum(counts.values()), RECORDS)
        by_ref = {trs["invoicenumber"]: trs for trs in self.twf.transactions}
        for reference, state, _attempts, number in self._committed_outbox():
            self.assertEqual(state, "sent", reference)
            trs = by_ref[reference]
            self.assertEqual(number, trs["number"])
            amount = Decimal(str(self.amounts[reference])).quantize(Decimal("0.01"))
            vat = Decimal(str(round(self.amounts[reference] * 0.21, 2))).quantize(
                Decimal("0.01"))
            (total,) = [line for line in trs["lines"] if line["type"] == "total"]
            self.assertEqual(total["signed"], amount + vat, reference)
            self.assertEqual(-self.twf.vat_of(trs), vat, reference)

    def test_two_workers_at_once_send_each_invoice_once(self):
        """The first write of each worker is held in the server until the other worker's
        first write arrives too: both workers are inside a run, each with its own claimed
        records (row locks, SKIP LOCKED), at the same moment."""
        barrier, held, lock = threading.Barrier(2), [], threading.Lock()

        def before_write():
            with lock:
                first = len(held) < 2
                if first:
                    held.append(threading.get_ident())
            if first:
                barrier.wait(timeout=20)  # BrokenBarrierError: no overlap

        self.twf.before_write = before_write
        self.addCleanup(setattr, self.twf, "before_write", None)
        reports = self._run_workers()
        self.assertFalse(barrier.broken)
        self.assertEqual(len(held), 2)
        self.assertTrue(all(report.posted for report in reports), reports)  # both worked
        reports += self._run_workers(1)  # what both skipped (the other's claim) goes next
        self.assertEqual(sum(report.posted for report in reports), RECORDS, reports)
        self.assertEqual(sum(report.lookups for report in reports), 0, reports)
        self.assert_once_to_the_cent()
        # batches of two: one write per two invoices, none twice
        self.assertEqual(self.twf.calls["write"], RECORDS // 2)

    def test_worker_killed_between_the_call_and_the_commit(self):
        worker = run_killed_worker(WORKER, self.env.cr.dbname, str(self.connection_id))
        self.assertEqual(worker.returncode, -signal.SIGKILL, worker.stderr[-3000:])
        # Twinfield stored the batch; Odoo committed "sending" before the call, never the
        # answer
        self.assertEqual(self.twf.calls["write"], 1)
        self.assertEqual(len(self.twf.transactions), RECORDS)
        self.assertEqual({(state, attempts, number) for _ref, state, attempts, number
                          in self._committed_outbox()}, {("sending", 1, None)})
        # the next run (the cron's, in another worker) looks them up: one browse, no write
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            report = env["accounting.outbox"]._process(
                env["accounting.connection"].browse(self.connection_id),
                cursor_factory=self.cursor)
        self.assertEqual((report.recovered, report.posted, report.lookups), (RECORDS, 0, 1),
                         report)
        self.assertEqual(self.twf.calls["write"], 1)
        self.assert_once_to_the_cent()
        self.assertEqual({attempts for _r, _s, attempts, _n in self._committed_outbox()}, {1})
