# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real Odoo worker process SIGKILLed between the POST of a memorial entry and the commit
of Exact's answer; the next run of the outbox must find the entry in Exact, not post it again.

Another process sees committed rows only: the fixtures are committed through a connection of
their own, and everything made by the test (or by the killed worker) is deleted at the end.
"""

import datetime as dt
import signal
from pathlib import Path

from odoo import SUPERUSER_ID, Command, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from hie_testing.exact_server import (
    CUSTOMER_ID,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
)

from .exact_common import CommittedWorkersMixin, ExactServerMixin, connected_connection
from .killed_worker import run_killed_worker

POSTS = ("POST", "generaljournalentry/GeneralJournalEntries")
WORKER = Path(__file__).with_name("period_crash_worker.py")
# tables whose rows made after set-up are deleted again (children before parents)
CLEANED = (
    "accounting_period_entry_line", "accounting_period_entry", "accounting_period_sync_run",
    "accounting_outbox", "accounting_mapping", "accounting_reference", "account_move",
    "accounting_connection", "account_tax", "account_journal", "account_account", "res_partner",
)
COMPANY_FIELDS = (
    "hie_period_sync_mode", "hie_period_exact_journal_code", "hie_period_grace_days",
    "hie_period_vat_mode",
    "hie_period_last_run_date",
)


@tagged("post_install", "-at_install")
class TestPeriodEntryKilledWorker(CommittedWorkersMixin, ExactServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_exact_server()

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        with self.db.cursor() as cr:
            cr.execute("SELECT id FROM res_company WHERE id = (SELECT MIN(id) FROM res_company)")
            self.company_id = cr.fetchone()[0]
            self.first_new = {}
            for table in CLEANED:
                cr.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                self.first_new[table] = cr.fetchone()[0] + 1
            cr.execute(
                f"SELECT {', '.join(COMPANY_FIELDS)} FROM res_company WHERE id = %s",  # noqa: S608
                [self.company_id],
            )
            self.company_values = cr.fetchone()
            cr.execute("SELECT journal_id FROM res_company_period_sync_journal_rel "
                       "WHERE company_id = %s", [self.company_id])
            self.company_journals = [row[0] for row in cr.fetchall()]
        self.addCleanup(self._delete_fixtures)
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            self._commit_fixtures(env)

    def _commit_fixtures(self, env):
        company = env["res.company"].browse(self.company_id)
        journal = env["account.journal"].create(
            {"name": "HIE killed worker", "code": "HIEKW", "type": "sale",
             "company_id": company.id})
        revenue = env["account.account"].create(
            {"name": "Revenue killed worker", "code": "800098", "account_type": "income"})
        tax = env["account.tax"].create({
            "name": "VAT 21 killed worker", "amount": 21.0, "type_tax_use": "sale",
            "company_id": company.id})
        customer = env["res.partner"].create({"name": "Klant killed worker", "is_company": True})
        company.write({
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(journal.ids)],
            "hie_period_exact_journal_code": "90", "hie_period_grace_days": 0,
            "hie_period_vat_mode": "vat_journal", "hie_period_last_run_date": False,
        })
        connection = connected_connection(env, company, self.server)
        connection.sync_start_date = "2024-01-01"
        self.connection_id = connection.id
        env.cr.commit()  # the token store of part 1 reads the connection in a cursor of its own
        connection.action_refresh_reference_data()
        refs = connection.reference_ids
        receivable = customer.with_company(company).property_account_receivable_id
        for kind, record, reference in (
            ("account", revenue, refs.filtered(lambda r: r.remote_id == REVENUE_ACCOUNT_ID)),
            ("account", receivable,
             refs.filtered(lambda r: r.remote_id == RECEIVABLE_ACCOUNT_ID)),
            ("tax", tax, refs.filtered(lambda r: r.kind == "vat_code" and r.code == "2")),
        ):
            # refreshing the reference data may have matched some already
            mapping = connection._get_mapping(kind, record)
            if mapping:
                mapping.reference_id = reference
            else:
                env["accounting.mapping"].create({
                    "connection_id": connection.id, "kind": kind, f"{kind}_id": record.id,
                    "reference_id": reference.id})
        env["accounting.mapping"].create({
            "connection_id": connection.id, "kind": "partner", "partner_id": customer.id,
            "remote_id": CUSTOMER_ID})
        invoice = env["account.move"].create({
            "move_type": "out_invoice", "partner_id": customer.id, "journal_id": journal.id,
            "invoice_date": "2024-03-05", "date": "2024-03-05",
            "invoice_line_ids": [Command.create({
                "name": "Work", "quantity": 1, "price_unit": 100.0, "account_id": revenue.id,
                "tax_ids": [Command.set(tax.ids)]})],
        })
        invoice.action_post()

    def _delete_fixtures(self):
        with self.db.cursor() as cr:
            cr.execute(
                f"UPDATE res_company SET ({', '.join(COMPANY_FIELDS)}) = %s "  # noqa: S608
                "WHERE id = %s", [self.company_values, self.company_id])
            cr.execute("DELETE FROM res_company_period_sync_journal_rel WHERE company_id = %s",
                       [self.company_id])
            for journal_id in self.company_journals:
                cr.execute("INSERT INTO res_company_period_sync_journal_rel "
                           "(company_id, journal_id) VALUES (%s, %s)",
                           [self.company_id, journal_id])
            for model, table in (("account.move", "account_move"),
                                 ("accounting.period.entry", "accounting_period_entry"),
                                 ("accounting.connection", "accounting_connection"),
                                 ("res.partner", "res_partner")):
                cr.execute("DELETE FROM mail_message WHERE model = %s AND res_id >= %s",
                           [model, self.first_new[table]])
                cr.execute("DELETE FROM mail_followers WHERE res_model = %s AND res_id >= %s",
                           [model, self.first_new[table]])
            for table in CLEANED:
                cr.execute(f"DELETE FROM {table} WHERE id >= %s",  # noqa: S608
                           [self.first_new[table]])

    def _committed_outbox(self):
        with self.db.cursor() as cr:
            cr.execute("SELECT state, attempts, remote_id FROM accounting_outbox "
                       "WHERE connection_id = %s", [self.connection_id])
            return cr.fetchall()

    def _run_killed_worker(self, today):
        return run_killed_worker(WORKER, self.env.cr.dbname, self.company_id, today.isoformat())

    def test_worker_killed_after_post_then_next_run_looks_it_up(self):
        worker = self._run_killed_worker(dt.date(2024, 4, 1))
        self.assertEqual(worker.returncode, -signal.SIGKILL, worker.stderr[-3000:])
        # Exact stored the entry; Odoo committed "sending" before the POST, never the answer
        self.assertEqual(self.server.calls[POSTS], 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)
        self.assertEqual(self._committed_outbox(), [("sending", 1, None)])
        entry_id = self.server.general_journal_entries[0]["EntryID"]
        # the next run of the outbox (the cron's, in another worker) looks the entry up
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            report = env["accounting.outbox"]._process(
                env["accounting.connection"].browse(self.connection_id),
                cursor_factory=self.cursor)
        self.assertEqual((report.recovered, report.posted), (1, 0))
        self.assertEqual(self._committed_outbox(), [("sent", 1, entry_id)])
        self.assertEqual(self.server.calls[POSTS], 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)
        # and the period sync of the next morning neither builds nor sends anything again
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env["res.company"].browse(self.company_id)
            created = env["accounting.period.entry"]._run_company(company, dt.date(2024, 4, 2))
            self.assertFalse(created)
            entries = env["accounting.period.entry"].search(
                [("company_id", "=", self.company_id), ("id", ">=",
                                                        self.first_new["accounting_period_entry"])])
            self.assertEqual(entries.mapped("state"), ["sent"])
            self.assertEqual(entries.exact_entry_id, entry_id)
        self.assertEqual(self.server.calls[POSTS], 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_a_button_never_commits_the_users_transaction(self):
        """Sending memorial entries from a button (or a run) commits nothing of the caller's
        transaction: they go right after it commits, in a transaction of their own, and not
        at all when it rolls back."""
        posts = self.server.calls[POSTS]
        for store in (self.server.calls, self.server.general_journal_entries,
                      self.server.general_journal_entry_lines):
            self.addCleanup(store.clear)  # the server is shared by the class

        def sync(commit):
            with self.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
                company = env["res.company"].browse(self.company_id)
                Entry = env["accounting.period.entry"]
                created = Entry._sync_periods(
                    company, Entry._periods_due(company, dt.date(2024, 4, 1)))
                self.assertEqual(created.mapped("state"), ["to_send"])
                if not commit:
                    cr.rollback()  # the request failed after the button

        sync(commit=False)
        self.assertEqual(self.server.calls[POSTS], posts)
        self.assertEqual(self._committed_outbox(), [])
        sync(commit=True)
        self.assertEqual(self.server.calls[POSTS], posts + 1)
        self.assertEqual([row[0] for row in self._committed_outbox()], ["sent"])
