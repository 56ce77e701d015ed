# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every posted customer invoice and credit note reaches Exact exactly once in total (sales
entries and memorial entries together), in each sync mode and across a switch of mode in the
middle of a month; checked against what the local Exact server stored."""

import datetime as dt

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from hie_testing.exact_server import (
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
    SECOND_REVENUE_ACCOUNT_ID,
    VAT_HIGH_ACCOUNT_ID,
    VAT_LOW_ACCOUNT_ID,
)

from .period_common import PeriodCase

D = dt.date


class DutchSyncCase(PeriodCase):
    """A company on the Dutch chart with its BTW 21 % and 9 % sale taxes mapped, its sales
    journal synced per document (sales entries) and in memorial entries."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ChartTemplate = cls.env["account.chart.template"].with_company(cls.company)
        cls.btw21 = ChartTemplate.ref("btw_21")
        cls.btw9 = ChartTemplate.ref("btw_9")
        refs = cls.connection.reference_ids
        Mapping = cls.env["accounting.mapping"].sudo()
        # the VAT accounts of the Dutch taxes, to Exact's VAT balance accounts
        for tax, guid in ((cls.btw21, VAT_HIGH_ACCOUNT_ID), (cls.btw9, VAT_LOW_ACCOUNT_ID)):
            vat_ref = refs.filtered(lambda r, g=guid: r.kind == "gl_account" and r.remote_id == g)
            accounts = (tax.invoice_repartition_line_ids | tax.refund_repartition_line_ids
                        ).account_id
            for account in accounts:
                mapping = cls.connection._get_mapping("account", account)
                if mapping:
                    mapping.reference_id = vat_ref
                else:
                    Mapping.create({"connection_id": cls.connection.id, "kind": "account",
                                    "account_id": account.id, "reference_id": vat_ref.id})
        for tax, code in ((cls.btw21, "2"), (cls.btw9, "1")):
            reference = refs.filtered(lambda r, c=code: r.kind == "vat_code" and r.code == c)
            mapping = cls.connection._get_mapping("tax", tax)
            if mapping:
                mapping.reference_id = reference
            else:
                Mapping.create({"connection_id": cls.connection.id, "kind": "tax",
                                "tax_id": tax.id, "reference_id": reference.id})
        Mapping.create({
            "connection_id": cls.connection.id, "kind": "journal",
            "journal_id": cls.sale_journal.id,
            "reference_id": refs.filtered(lambda r: r.kind == "journal" and r.code == "70").id,
        })
        cls.connection.sync_journal_ids = [Command.set(cls.sale_journal.ids)]
        cls.revenue_other = cls.env["account.account"].create(
            {"name": "Revenue HIE other", "code": "800097", "account_type": "income"}
        )
        Mapping.create({
            "connection_id": cls.connection.id, "kind": "account",
            "account_id": cls.revenue_other.id,
            "reference_id": refs.filtered(
                lambda r: r.kind == "gl_account" and r.remote_id == SECOND_REVENUE_ACCOUNT_ID).id,
        })

    def setUp(self):
        super().setUp()
        self.server.sales_entries.clear()
        self.moves = self.env["account.move"]

    # -- helpers -----------------------------------------------------------------------

    def post(self, date, *lines, refund=False):
        """Post an invoice (or credit note) of ``lines`` = (amount, tax[, account]) in the
        period journal."""
        move = self.env["account.move"].create({
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": self.customer.id,
            "invoice_date": date,
            "date": date,
            "journal_id": self.sale_journal.id,
            "invoice_line_ids": [
                Command.create({
                    "name": f"Work {amount}", "quantity": 1, "price_unit": amount,
                    "account_id": (account[0] if account else self.revenue).id,
                    "tax_ids": [Command.set(tax.ids)],
                })
                for amount, tax, *account in lines
            ],
        })
        move.action_post()
        self.moves |= move
        return move

    def process_outbox(self):
        self.env["accounting.outbox"]._cron_process()
        self.env.invalidate_all()


@tagged("post_install", "-at_install")
class TestExactOnceAcrossModes(DutchSyncCase):

    def assert_exactly_once(self):
        """Exact holds each posted invoice once: the sales entries carry exactly the invoices
        queued as sales entries (one each), the memorial entries exactly the others."""
        self.process_outbox()
        Outbox = self.env["accounting.outbox"]
        records = Outbox.search([("res_model", "=", "account.move"),
                                 ("res_id", "in", self.moves.ids)])
        self.assertEqual(set(records.mapped("state")) - {"sent"}, set(), "all sent")
        by_sales_entry = self.moves.filtered(lambda m: m.id in records.mapped("res_id"))
        by_memorial = self.moves - by_sales_entry
        refs = [entry["YourRef"] for entry in self.server.sales_entries]
        self.assertEqual(sorted(refs), sorted(by_sales_entry.mapped("name")),
                         "one sales entry per invoice sent per document, no other")
        sales_revenue = round(sum(line["AmountFC"] for entry in self.server.sales_entries
                                  for line in entry["_lines"]), 2)
        sales_vat = round(sum(entry["VATAmountFC"] for entry in self.server.sales_entries), 2)
        self.assertAlmostEqual(sales_revenue, sum(by_sales_entry.mapped("amount_untaxed_signed")),
                               places=2)
        self.assertAlmostEqual(sales_vat, sum(by_sales_entry.mapped("amount_tax_signed")),
                               places=2)
        lines = [line for line in self.server.general_journal_entry_lines
                 if not line.get("_vat_line")]  # the VAT lines Exact generates
        memorial_revenue = -round(sum(line["AmountFC"] for line in lines
                                      if line["GLAccount"] == REVENUE_ACCOUNT_ID), 2)
        memorial_vat = -round(sum(line["AmountVATFC"] for line in lines), 2)
        memorial_receivable = round(sum(line["AmountFC"] for line in lines
                                        if line["GLAccount"] == RECEIVABLE_ACCOUNT_ID), 2)
        self.assertAlmostEqual(memorial_revenue, sum(by_memorial.mapped("amount_untaxed_signed")),
                               places=2)
        self.assertAlmostEqual(memorial_vat, sum(by_memorial.mapped("amount_tax_signed")),
                               places=2)
        self.assertAlmostEqual(memorial_receivable,
                               sum(by_memorial.mapped("amount_total_signed")), places=2)
        return by_sales_entry, by_memorial

    def post_a_month(self, year=2025, month=3, days=(3, 12, 20)):
        self.post(D(year, month, days[0]), (100.0, self.btw21), (33.33, self.btw9))
        self.post(D(year, month, days[1]), (250.55, self.btw21))
        self.post(D(year, month, days[2]), (40.0, self.btw21), refund=True)

    # -- each mode -----------------------------------------------------------------------

    def test_per_document(self):
        self.company.hie_period_sync_mode = "document"
        self.post_a_month()
        self.run_on(D(2025, 4, 2))  # no memorial entry in per-document mode
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertEqual(by_sales_entry, self.moves)
        self.assertFalse(by_memorial)

    def test_per_month(self):
        self.company.hie_period_sync_mode = "month"
        self.post_a_month()
        self.process_outbox()  # the outbox cron sends no sales entry in this mode
        self.assertFalse(self.server.sales_entries)
        self.run_on(D(2025, 4, 2))
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertFalse(by_sales_entry)
        self.assertEqual(by_memorial, self.moves)
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_per_day(self):
        self.company.hie_period_sync_mode = "day"
        self.post_a_month()
        self.run_on(D(2025, 3, 25))
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertFalse(by_sales_entry)
        self.assertEqual(by_memorial, self.moves)
        self.assertEqual(len(self.server.general_journal_entries), 3)

    def test_manual(self):
        self.company.hie_period_sync_mode = "manual"
        self.post_a_month()
        self.process_outbox()
        self.assertFalse(self.server.sales_entries)
        wizard = self.env["accounting.period.entry.preview"].create(
            {"period_kind": "month", "date": "2025-03-01"})
        wizard.action_send()
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertFalse(by_sales_entry)
        self.assertEqual(by_memorial, self.moves)

    # -- switching modes in the middle of a month -------------------------------------------

    def test_document_to_month_mid_month(self):
        self.company.hie_period_sync_mode = "document"
        sent = self.post(D(2025, 3, 3), (100.0, self.btw21))
        self.process_outbox()
        queued = self.post(D(2025, 3, 5), (19.99, self.btw9))  # still waiting in the outbox
        self.company.hie_period_sync_mode = "month"
        self.post(D(2025, 3, 12), (250.55, self.btw21))
        self.post(D(2025, 3, 20), (40.0, self.btw21), refund=True)
        self.run_on(D(2025, 4, 2))
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertEqual(by_sales_entry, sent | queued)
        self.assertEqual(len(by_memorial), 2)
        # a later run of the month finds nothing new: no correction entry
        self.run_on(D(2025, 4, 3))
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_month_to_document_mid_month(self):
        self.company.hie_period_sync_mode = "month"
        february = self.post(D(2025, 2, 10), (100.0, self.btw21))
        self.run_on(D(2025, 3, 2))  # February's memorial entry is sent
        before = self.post(D(2025, 3, 3), (100.0, self.btw21), (33.33, self.btw9))
        credit = self.post(D(2025, 3, 5), (40.0, self.btw21), refund=True)
        self.company.hie_period_sync_mode = "document"
        # nothing of March falls between the modes: queued as sales entries at the switch
        self.assertEqual(before.hie_exact_sync_state, "to_send")
        self.assertEqual(credit.hie_exact_sync_state, "to_send")
        after = self.post(D(2025, 3, 12), (250.55, self.btw21))
        late_february = self.post(D(2025, 2, 27), (10.0, self.btw21))  # posted late
        self.run_on(D(2025, 4, 2))  # no memorial entry in per-document mode
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertEqual(by_memorial, february)
        self.assertEqual(by_sales_entry, before | credit | after | late_february)
        # February's invoice is in Exact through the memorial entry, which is no longer
        # corrected: it cannot go back to draft
        with self.assertRaises(UserError):
            february.button_draft()

    def test_day_to_month_mid_month(self):
        self.company.hie_period_sync_mode = "day"
        self.post(D(2025, 3, 3), (100.0, self.btw21), (33.33, self.btw9))
        self.post(D(2025, 3, 5), (40.0, self.btw21), refund=True)
        self.run_on(D(2025, 3, 10))  # two day entries sent
        self.assertEqual(len(self.server.general_journal_entries), 2)
        self.company.hie_period_sync_mode = "month"
        self.post(D(2025, 3, 12), (250.55, self.btw21))
        self.post(D(2025, 3, 4), (19.99, self.btw9))  # a day already sent, posted late
        self.run_on(D(2025, 4, 2))  # the month's entry leaves out what the days carried
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertFalse(by_sales_entry)
        self.assertEqual(by_memorial, self.moves)
        self.assertEqual(len(self.server.general_journal_entries), 3)
        # the month agrees with what was sent (its day entries included), also in Exact
        wizard = self.env["accounting.period.reconcile"].create({
            "company_id": self.company.id, "period_kind": "month", "date": "2025-03-01"})
        self.assertTrue(wizard.agrees, wizard.line_ids.read(
            ["account_id", "vat_code", "difference", "vat_difference"]))
        wizard.action_verify_with_exact()
        self.assertTrue(wizard.agrees, wizard.line_ids.read(
            ["account_id", "vat_code", "exact_difference"]))

    def test_month_to_day_mid_month(self):
        self.company.hie_period_sync_mode = "month"
        self.post(D(2025, 2, 10), (100.0, self.btw21))
        self.run_on(D(2025, 3, 2))  # February's month entry
        self.company.hie_period_sync_mode = "day"
        self.post(D(2025, 3, 3), (250.55, self.btw21), (33.33, self.btw9))
        self.post(D(2025, 2, 27), (10.0, self.btw21))  # February, posted late
        self.run_on(D(2025, 3, 10))  # a day entry for March 3, a correction of February
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertFalse(by_sales_entry)
        self.assertEqual(by_memorial, self.moves)
        self.assertEqual(len(self.server.general_journal_entries), 3)
        self.run_on(D(2025, 3, 11))  # nothing new
        self.assertEqual(len(self.server.general_journal_entries), 3)

    def test_reset_to_draft_then_switch_to_document(self):
        """An invoice of a sent month reset to draft (allowed per month) before a switch to
        per document: the switch sends the month's correction (reversing it), and posted
        again it goes as a sales entry - once in total."""
        self.company.hie_period_sync_mode = "month"
        kept = self.post(D(2025, 2, 10), (100.0, self.btw21))
        changed = self.post(D(2025, 2, 12), (250.55, self.btw21), (33.33, self.btw9))
        self.run_on(D(2025, 3, 2))
        changed.button_draft()
        self.company.hie_period_sync_mode = "document"
        self.assertEqual(len(self.server.general_journal_entries), 2)  # the correction
        changed.invoice_line_ids[0].price_unit = 200.0
        changed.action_post()
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertEqual(by_sales_entry, changed)
        self.assertEqual(by_memorial, kept)

    def test_month_document_month_round_trip(self):
        self.company.hie_period_sync_mode = "month"
        self.post_a_month(month=1)
        self.run_on(D(2025, 2, 2))
        self.company.hie_period_sync_mode = "document"
        self.post_a_month(month=2, days=(3, 5, 7))
        self.company.hie_period_sync_mode = "month"
        self.post_a_month(month=2, days=(10, 15, 20))
        self.run_on(D(2025, 3, 2))
        by_sales_entry, by_memorial = self.assert_exactly_once()
        self.assertEqual(len(by_sales_entry), 3)
        self.assertEqual(len(by_memorial), 6)


@tagged("post_install", "-at_install")
class TestExactVatToTheCent(DutchSyncCase):
    """Exact's VAT and total of every sales entry equal Odoo's to the cent, with amounts
    whose VAT rounds differently per line, per account or on the sum."""

    def send_rounding_prone_documents(self):
        self.company.hie_period_sync_mode = "document"
        day = D(2025, 3, 3)
        other = self.revenue_other
        moves = [
            self.post(day, *[(0.07, self.btw21)] * 7),
            self.post(day, *[(0.05, self.btw9)] * 9, *[(1.13, self.btw21)] * 3),
            self.post(day, (0.05, self.btw9), (0.05, self.btw9, other),
                      (0.07, self.btw21), (0.07, self.btw21, other)),
            self.post(day, *[(0.07, self.btw21)] * 5, *[(0.05, self.btw9)] * 4, refund=True),
            self.post(day, (0.05, self.btw9), (0.05, self.btw9, other), refund=True),
            self.post(day, *[(19.99, self.btw21)] * 11, *[(3.33, self.btw9)] * 7),
        ]
        self.process_outbox()
        entries = {entry["YourRef"]: entry for entry in self.server.sales_entries}
        for move in moves:
            entry = entries[move.name]
            self.assertEqual(
                (entry["VATAmountFC"], entry["AmountFC"]),
                (round(move.amount_tax_signed, 2), round(move.amount_total_signed, 2)),
                f"{move.name} ({move.move_type})",
            )
            for tax, code in ((self.btw21, "2"), (self.btw9, "1")):
                odoo_vat = -sum(move.line_ids.filtered(
                    lambda line, t=tax: line.tax_line_id == t).mapped("balance"))
                exact_vat = sum(line["VATAmountFC"] for line in entry["_lines"]
                                if line["VATCode"].strip() == code)
                self.assertAlmostEqual(exact_vat, odoo_vat, places=2)
        return moves

    def test_round_per_line(self):
        self.company.tax_calculation_rounding_method = "round_per_line"
        self.send_rounding_prone_documents()

    def test_round_globally(self):
        self.company.tax_calculation_rounding_method = "round_globally"
        self.send_rounding_prone_documents()
