# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from hie_testing.twinfield_server import CUSTOMER, DEBTORS

from .twinfield_common import TwinfieldCase


def _cents(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


@tagged("post_install", "-at_install")
class TestTwinfieldMemorial(TwinfieldCase):
    """A company sending memorial entries per month to Twinfield (``MEMO``)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # an own journal: demo invoices of the template database stay out of the entries
        cls.period_journal = cls.env["account.journal"].create({
            "name": "HIE Twinfield period sales", "code": "HIETP", "type": "sale",
            "company_id": cls.company.id,
        })
        cls.company.write({
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(cls.period_journal.ids)],
            "hie_period_grace_days": 0,
            "hie_period_vat_mode": "vat_journal",
        })
        receivable = cls.customer.with_company(cls.company).property_account_receivable_id
        vat21 = cls.tax21.invoice_repartition_line_ids.account_id
        vat9 = cls.tax9.invoice_repartition_line_ids.account_id
        refs = cls.connection.reference_ids
        for account, code in ((receivable, DEBTORS), (vat21, "1500"), (vat9, "1510")):
            reference = refs.filtered(lambda r, c=code: r.kind == "gl_account" and r.code == c)
            mapping = cls.connection._get_mapping("account", account)
            if mapping:
                mapping.reference_id = reference
            else:
                cls.env["accounting.mapping"].create({
                    "connection_id": cls.connection.id, "kind": "account",
                    "account_id": account.id, "reference_id": reference.id,
                })

    def invoice(self, lines, date="2025-01-20", refund=False):
        move = self.env["account.move"].create({
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": self.customer.id,
            "invoice_date": date,
            "date": date,
            "journal_id": self.period_journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Werk", "quantity": 1, "price_unit": price,
                "account_id": account.id, "tax_ids": [Command.set(tax.ids)],
            }) for price, account, tax in lines],
        })
        move.action_post()
        return move

    def assertTotalsEqual(self, moves, transactions):
        """Sums per GL account and VAT code over ``transactions`` equal Odoo's ``moves``."""
        codes = {self.revenue: "8000", self.revenue2: "8010",
                 self.customer.property_account_receivable_id: DEBTORS}
        odoo, odoo_vat = defaultdict(Decimal), defaultdict(Decimal)
        for line in moves.line_ids:
            if line.tax_line_id:
                code = {self.tax21: "VH", self.tax9: "VL"}[line.tax_line_id]
                odoo_vat[code] += _cents(line.balance)
            else:
                odoo[codes[line.account_id]] += _cents(line.balance)
        twinfield, twinfield_vat = defaultdict(Decimal), defaultdict(Decimal)
        for transaction in transactions:
            for line in transaction["lines"]:
                if line["type"] == "vat":
                    twinfield_vat[line["vatcode"]] += line["signed"]
                else:
                    twinfield[line["dim1"]] += line["signed"]
        drop = lambda totals: {k: v for k, v in totals.items() if v}  # noqa: E731
        self.assertEqual(drop(twinfield), drop(odoo))
        self.assertEqual(drop(twinfield_vat), drop(odoo_vat))

    def test_month_reaches_twinfield_once_and_equals_odoo(self):
        moves = (
            self.invoice([(10.05, self.revenue, self.tax21), (7.77, self.revenue2, self.tax9)])
            | self.invoice([(33.33, self.revenue, self.tax21), (0.35, self.revenue2, self.tax9)],
                           date="2025-01-03")
            | self.invoice([(20.15, self.revenue, self.tax21)], date="2025-01-31", refund=True)
        )
        self.assertFalse(self.outbox(moves[0]), "month mode: no sales transaction per invoice")
        Entry = self.env["accounting.period.entry"]
        entry = Entry._run_company(self.company, dt.date(2025, 2, 15))
        self.assertEqual(len(entry), 1)
        self.assertFalse(entry.local_error)
        self.assertEqual(entry.state, "sent", entry.error)
        memo = [t for t in self.twf.transactions if t["code"] == "MEMO"]
        self.assertEqual(len(memo), 1)
        (transaction,) = memo
        self.assertEqual(transaction["period"], "2025/01")
        self.assertEqual(entry.outbox_id.remote_number, transaction["number"])
        # per GL account and VAT code: Twinfield equals Odoo
        self.assertTotalsEqual(moves, memo)
        self.assertEqual(
            {line["dim2"] for line in transaction["lines"] if line["dim1"] == DEBTORS},
            {CUSTOMER})
        # once: a later run sends nothing new
        self.assertFalse(Entry._run_company(self.company, dt.date(2025, 2, 16)))
        self.assertEqual(len([t for t in self.twf.transactions if t["code"] == "MEMO"]), 1)

    def test_change_in_a_sent_month_sent_as_correction(self):
        first = self.invoice([(10.05, self.revenue, self.tax21)])
        Entry = self.env["accounting.period.entry"]
        self.assertEqual(Entry._run_company(self.company, dt.date(2025, 2, 15)).state, "sent")
        late = self.invoice([(7.77, self.revenue2, self.tax9)], date="2025-01-10")
        correction = Entry._run_company(self.company, dt.date(2025, 2, 16))
        self.assertEqual(correction.kind, "correction")
        self.assertEqual(correction.state, "sent", correction.error)
        memo = [t for t in self.twf.transactions if t["code"] == "MEMO"]
        self.assertEqual(len(memo), 2)
        # the correction carries only the change; both together equal Odoo
        self.assertNotIn("8000", {line["dim1"] for line in memo[1]["lines"]})
        self.assertTotalsEqual(first | late, memo)
