# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Memorial entries through part 1's committing outbox, on real PostgreSQL connections:
a POST stored by Exact whose answer is lost (timeout after store), and two workers sending
the same general journal entries at the same moment. Each entry must exist once in Exact.

The test's own transaction cannot be seen from other connections, so the fixtures are
committed through a connection of their own and deleted at the end."""

import collections

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from hie_testing.exact_server import (
    CUSTOMER_ID,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
)

from .exact_common import CommittedWorkersMixin, ExactServerMixin, connected_connection

RECORDS = 8
KIND = "general_journal_entry"


@tagged("post_install", "-at_install")
class TestPeriodOutboxConcurrency(CommittedWorkersMixin, ExactServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_exact_server()

    def setUp(self):
        super().setUp()
        self.db = db_connect(self.env.cr.dbname)
        self.references = [f"C1/90/CONC/{number:02d}" for number in range(RECORDS)]
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env.ref("base.main_company")
            connection = connected_connection(env, company, self.server)
            self.connection_id = connection.id
            env["accounting.outbox"].create([{
                "connection_id": connection.id, "res_model": "res.company",
                "res_id": company.id, "reference": reference, "kind": KIND,
                "payload": {"reference": reference, "entry": self._entry(reference, 100 + n)},
            } for n, reference in enumerate(self.references)])
        self.addCleanup(self._delete_fixtures)

    @staticmethod
    def _entry(reference, amount):
        """A memorial entry body as ``journal.to_exact_payload`` makes it (no VAT journal)."""
        date = "2024-03-31T00:00:00Z"
        return {
            "JournalCode": "90", "FinancialYear": 2024, "FinancialPeriod": 3,
            "Currency": "EUR", "Reversal": False,
            "GeneralJournalEntryLines": [
                {"GLAccount": RECEIVABLE_ACCOUNT_ID, "AmountFC": float(amount), "VATCode": "",
                 "Description": reference, "Date": date, "Account": CUSTOMER_ID},
                {"GLAccount": REVENUE_ACCOUNT_ID, "AmountFC": -float(amount), "VATCode": "",
                 "Description": reference, "Date": date},
            ],
        }

    def _delete_fixtures(self):
        with self.db.cursor() as cr:
            cr.execute("DELETE FROM accounting_outbox WHERE connection_id = %s",
                       (self.connection_id,))
            cr.execute("DELETE FROM mail_followers WHERE res_model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM mail_message WHERE model = 'accounting.connection' "
                       "AND res_id = %s", (self.connection_id,))
            cr.execute("DELETE FROM accounting_connection WHERE id = %s", (self.connection_id,))

    def _committed(self):
        with self.db.cursor() as cr:
            cr.execute("SELECT reference, state, attempts, remote_id FROM accounting_outbox "
                       "WHERE connection_id = %s", (self.connection_id,))
            return {ref: (state, attempts, remote_id) for ref, state, attempts, remote_id
                    in cr.fetchall()}

    def _entries_by_reference(self):
        """Number of entries Exact holds per reference (an entry's lines share it)."""
        entry_refs = {(line["EntryID"], line["Description"])
                      for line in self.server.general_journal_entry_lines}
        return collections.Counter(ref for _entry_id, ref in entry_refs)

    def test_timeout_after_store_then_concurrent_runs_post_each_entry_once(self):
        # the first POST is stored by Exact but its answer never arrives in time
        self.server.inject("timeout_after_store", method="POST", path="GeneralJournal",
                           delay=10.5)
        reports = self._run_workers(2)
        # records both workers skipped (each saw the other's reservation) go in a next run
        reports += self._run_workers(1)
        committed = self._committed()
        self.assertEqual({ref: state for ref, (state, _a, _r) in committed.items()},
                         dict.fromkeys(self.references, "sent"), reports)
        counts = self._entries_by_reference()
        self.assertEqual({ref: counts[ref] for ref in self.references},
                         dict.fromkeys(self.references, 1))
        self.assertEqual(self.server.calls[("POST", "generaljournalentry/GeneralJournalEntries")],
                         RECORDS)
        self.assertEqual(sum(report.recovered for report in reports), 1)
        self.assertEqual(sum(report.posted for report in reports), RECORDS - 1)
        # the entry ids recorded in Odoo are Exact's
        entry_ids = {line["EntryID"] for line in self.server.general_journal_entry_lines}
        self.assertEqual({remote for _s, _a, remote in committed.values()}, entry_ids)
