# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real Odoo worker process SIGKILLed in the middle of the daily recurring-invoice run
(after the first contract's invoice committed, while the second one's is made); the next
runs invoice every contract and period exactly once.

Another process sees committed rows only: the fixtures are committed through a connection of
their own, and everything made by the test (or by the killed worker) is deleted at the end.
"""

import datetime as dt
import signal
import threading
from pathlib import Path

from odoo import SUPERUSER_ID, Command, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from .exact_common import CommittedWorkersMixin
from .killed_worker import run_killed_worker

WORKER = Path(__file__).with_name("recurring_crash_worker.py")
# tables whose rows made after set-up are deleted again (children before parents)
CLEANED = (
    "hie_contract_period", "account_move", "contract_modification", "contract_line",
    "contract_contract", "product_product", "product_template", "res_partner",
)
MAIL_MODELS = (("account.move", "account_move"), ("contract.contract", "contract_contract"),
               ("res.partner", "res_partner"))


@tagged("post_install", "-at_install")
class TestRecurringKilledWorker(CommittedWorkersMixin, TransactionCase):

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        with self.db.cursor() as cr:
            self.first_new = {}
            for table in CLEANED:
                cr.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                self.first_new[table] = cr.fetchone()[0] + 1
        self.addCleanup(self._delete_fixtures)
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            customer = env["res.partner"].create({"name": "Klant recurring crash",
                                                  "is_company": True})
            product = env["product.product"].create({
                "name": "Onderhoud crash", "type": "service", "list_price": 100.0})
            self.contract_ids = env["contract.contract"].create([{
                "name": f"Crash {index}", "partner_id": customer.id,
                "date_start": "2026-01-01", "recurring_rule_type": "monthly",
                "recurring_invoicing_type": "pre-paid",
                "contract_line_ids": [Command.create({
                    "product_id": product.id, "name": "Onderhoud", "quantity": 1.0,
                    "price_unit": 100.0 + index})],
            } for index in range(3)]).ids

    def _delete_fixtures(self):
        with self.db.cursor() as cr:
            for model, table in MAIL_MODELS:
                cr.execute("DELETE FROM mail_message WHERE model = %s AND res_id >= %s",
                           [model, self.first_new[table]])
                cr.execute("DELETE FROM mail_followers WHERE res_model = %s AND res_id >= %s",
                           [model, self.first_new[table]])
            for table in CLEANED:
                cr.execute(f"DELETE FROM {table} WHERE id >= %s",  # noqa: S608
                           [self.first_new[table]])

    def _committed(self):
        """{contract id: [(period start, move id, move count)]} as committed."""
        with self.db.cursor() as cr:
            cr.execute("""
                SELECT c.id, p.date_start, p.move_id,
                       (SELECT COUNT(DISTINCT aml.move_id) FROM account_move_line aml
                          JOIN contract_line cl ON cl.id = aml.contract_line_id
                         WHERE cl.contract_id = c.id)
                  FROM contract_contract c
                  LEFT JOIN hie_contract_period p ON p.contract_id = c.id
                 WHERE c.id = ANY(%s)
                 ORDER BY c.id, p.date_start
            """, [self.contract_ids])
            result = {}
            for contract_id, start, move_id, count in cr.fetchall():
                result.setdefault(contract_id, [])
                if start:
                    result[contract_id].append((start, bool(move_id), count))
            return result

    def _run_killed_worker(self, today):
        return run_killed_worker(WORKER, self.env.cr.dbname, today.isoformat())

    def _run_cron(self, today):
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            env["contract.contract"].cron_recurring_create_invoice(today)

    def test_worker_killed_mid_run_then_every_period_once(self):
        jan = dt.date(2026, 1, 1)
        worker = self._run_killed_worker(jan)
        self.assertEqual(worker.returncode, -signal.SIGKILL, worker.stderr[-3000:])
        first, second, third = self.contract_ids
        # the first contract's invoice was committed; the second's died with the worker
        self.assertEqual(self._committed(), {first: [(jan, True, 1)], second: [], third: []})
        # the next run (and a run twice the same day) bills the others, the first not again
        self._run_cron(jan)
        self._run_cron(jan)
        expected = {cid: [(jan, True, 1)] for cid in self.contract_ids}
        self.assertEqual(self._committed(), expected)
        # a day missed: February comes with the run of 3 February, once
        self._run_cron(dt.date(2026, 2, 3))
        self._run_cron(dt.date(2026, 2, 3))
        feb = dt.date(2026, 2, 1)
        self.assertEqual(self._committed(), {
            cid: [(jan, True, 2), (feb, True, 2)] for cid in self.contract_ids})

    def test_two_runs_at_once_invoice_each_period_once(self):
        """Two workers run the daily run at the same moment (e.g. the scheduled action and
        a manual run): the second waits on the first's period rows and leaves those
        contracts alone."""
        jan = dt.date(2026, 1, 1)
        barrier, errors = threading.Barrier(2), []

        def worker():
            try:
                barrier.wait(timeout=30)
                self._run_cron(jan)
            except Exception as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertFalse([thread for thread in threads if thread.is_alive()])
        self.assertFalse(errors, errors)
        self.assertEqual(self._committed(), {cid: [(jan, True, 1)] for cid in self.contract_ids})
