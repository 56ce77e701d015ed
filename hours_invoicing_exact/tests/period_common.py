# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fixtures of the memorial entry tests: a company in period mode, its Exact connection to the
local Exact server, accounts/tax/customer mapped to the server's seeded data."""

import time

from odoo import Command
from odoo.tests import TransactionCase

from ..services.exact.oauth import TokenState
from ..services.testing.exact_server import (
    CUSTOMER_ID,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
    ExactServer,
)


class PeriodCaseMixin:
    """Set-up shared by TransactionCase and HttpCase period tests."""

    @classmethod
    def _setup_period_fixtures(cls):
        cls.server = ExactServer().start()
        cls.addClassCleanup(cls.server.stop)
        cls.company = cls.env.company
        # an own journal: demo invoices of the template database stay out of the entries
        cls.sale_journal = cls.env["account.journal"].create({
            "name": "HIE period sales", "code": "HIEPS", "type": "sale",
            "company_id": cls.company.id,
        })
        cls.revenue = cls.env["account.account"].create(
            {"name": "Revenue HIE", "code": "800099", "account_type": "income"}
        )
        cls.customer = cls.env["res.partner"].create({"name": "Klant HIE", "is_company": True})
        cls.receivable = cls.customer.with_company(cls.company).property_account_receivable_id
        cls.tax = cls.env["account.tax"].create({
            "name": "VAT 21 HIE", "amount": 21.0, "amount_type": "percent",
            "type_tax_use": "sale", "company_id": cls.company.id,
        })
        cls.company.write({
            "period_sync_mode": "month",
            "period_sync_journal_ids": [Command.set(cls.sale_journal.ids)],
            "period_exact_journal_code": "90",
            "period_sync_start_date": "2024-01-01",
            "period_grace_days": 0,
            "period_vat_mode": "vat_journal",
        })
        cls.connection = cls.env["accounting.connection"].create({
            "company_id": cls.company.id,
            "state": "connected",
            "division": 1234,
            "base_url": cls.server.base_url,
        })
        cls.connection.sudo().placeholder_tokens = TokenState.from_token_response(
            cls.server.issue_tokens(), time.time()
        ).to_dict()
        cls._map(cls.customer)

    @classmethod
    def _map(cls, *partners):
        """PLACEHOLDER mapping setup: the only place that knows how part 1 stores mappings."""
        mapping = {
            "gl": {
                cls.revenue.code: REVENUE_ACCOUNT_ID,
                cls.receivable.code: RECEIVABLE_ACCOUNT_ID,
            },
            "vat": {str(cls.tax.id): "2  "},
            "relation": {str(p.id): CUSTOMER_ID for p in partners},
        }
        cls.connection.sudo().placeholder_mapping = mapping

    @classmethod
    def _invoice(cls, date, *amounts, refund=False, partner=None, post=True):
        move = cls.env["account.move"].create({
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": (partner or cls.customer).id,
            "invoice_date": date,
            "date": date,
            "journal_id": cls.sale_journal.id,
            "invoice_line_ids": [
                Command.create({
                    "name": f"Work {amount}", "quantity": 1, "price_unit": amount,
                    "account_id": cls.revenue.id, "tax_ids": [Command.set(cls.tax.ids)],
                })
                for amount in amounts
            ],
        })
        if post:
            move.action_post()
        return move


class PeriodCase(PeriodCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls._setup_period_fixtures()

    def setUp(self):
        super().setUp()
        # the server is shared by the class: each test starts from an empty Exact ledger
        self.server.general_journal_entries.clear()
        self.server.general_journal_entry_lines.clear()
        self.server.journal_status.clear()
        self.server.faults.clear()
        self.server.calls.clear()
        self.server._entry_numbers.clear()  # pylint: disable=protected-access

    Entry = property(lambda self: self.env["accounting.period.entry"])

    def run_on(self, day):
        return self.Entry._run_company(self.company, day)

    def exact_totals(self):
        """Totals per (GL guid, VAT code) over all entries in the server: (amount, VAT)."""
        totals = {}
        for line in self.server.general_journal_entry_lines:
            key = (line["GLAccount"], line["VATCode"].strip())
            amount, vat = totals.get(key, (0.0, 0.0))
            totals[key] = (round(amount + line["AmountFC"], 2),
                           round(vat + line["AmountVATFC"], 2))
        return totals
