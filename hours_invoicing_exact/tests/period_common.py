# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fixtures of the memorial entry tests: a company in period mode, its real Exact Online
connection (part 1) connected to the local Exact server, with the server's reference data
fetched and accounts/tax/customer mapped to the server's seeded data."""

from odoo import Command
from odoo.tests import TransactionCase

from hie_testing.exact_server import (
    CUSTOMER_ID,
    DEFAULT_DIVISION,
    RECEIVABLE_ACCOUNT_ID,
    REVENUE_ACCOUNT_ID,
    ExactServer,
)

from .exact_common import ExactServerMixin


class PeriodCaseMixin(ExactServerMixin):
    """Set-up shared by TransactionCase and HttpCase period tests."""

    @classmethod
    def _setup_period_fixtures(cls):
        if not cls.registry.in_test_mode():
            # the stores of part 1 write in cursors of their own: share the test's transaction
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)
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
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(cls.sale_journal.ids)],
            "hie_period_exact_journal_code": "90",
            "hie_period_grace_days": 0,
            "hie_period_vat_mode": "vat_journal",
        })
        cls.connection = cls.env["accounting.connection"].create({
            "company_id": cls.company.id,
            "base_url": cls.server.base_url,
            "client_id": cls.server.client_id,
            "client_secret": cls.server.client_secret,
            "sync_start_date": "2024-01-01",
        })
        cls.store_fresh_tokens(cls.connection)
        cls.connection.action_load_divisions()
        cls.connection.division_choice_id = cls.connection.reference_ids.filtered(
            lambda ref: ref.kind == "division" and ref.code == str(DEFAULT_DIVISION)
        )
        cls.connection.action_refresh_reference_data()
        cls._map(cls.customer)

    @classmethod
    def _map(cls, *partners):
        """Map the fixtures in part 1's tables: accounts and the tax to the cached reference
        data of the server (G/L accounts 8000 and 1300, VAT code 2), partners to relations."""
        refs = cls.connection.reference_ids
        Mapping = cls.env["accounting.mapping"].sudo()

        def ref(kind, **match):
            return refs.filtered(lambda r: r.kind == kind and all(
                r[key] == value for key, value in match.items()))

        for kind, record, reference in (
            ("account", cls.revenue, ref("gl_account", remote_id=REVENUE_ACCOUNT_ID)),
            ("account", cls.receivable, ref("gl_account", remote_id=RECEIVABLE_ACCOUNT_ID)),
            ("tax", cls.tax, ref("vat_code", code="2")),
        ):
            mapping = cls.connection._get_mapping(kind, record)
            if mapping:
                mapping.reference_id = reference
            else:
                Mapping.create({"connection_id": cls.connection.id, "kind": kind,
                                f"{kind}_id": record.id, "reference_id": reference.id})
        for partner in partners:
            if not cls.connection._get_mapping("partner", partner):
                Mapping.create({"connection_id": cls.connection.id, "kind": "partner",
                                "partner_id": partner.id, "remote_id": CUSTOMER_ID})

    @classmethod
    def _invoice(cls, date, *amounts, refund=False, partner=None, post=True, account=None):
        move = cls.env["account.move"].create({
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": (partner or cls.customer).id,
            "invoice_date": date,
            "date": date,
            "journal_id": cls.sale_journal.id,
            "invoice_line_ids": [
                Command.create({
                    "name": f"Work {amount}", "quantity": 1, "price_unit": amount,
                    "account_id": (account or cls.revenue).id,
                    "tax_ids": [Command.set(cls.tax.ids)],
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
        # the token chain rotates in the server, whatever the test's rollback does
        self.store_fresh_tokens(self.connection)
        # the server is shared by the class: each test starts from an empty Exact ledger
        self.server.general_journal_entries.clear()
        self.server.general_journal_entry_lines.clear()
        self.server.journal_status.clear()
        self.server.financial_periods.clear()
        self.server.faults.clear()
        self.server.calls.clear()
        self.server._entry_numbers.clear()  # pylint: disable=protected-access
        self.server._usage.clear()  # pylint: disable=protected-access

    Entry = property(lambda self: self.env["accounting.period.entry"])

    def run_on(self, day):
        return self.Entry._run_company(self.company, day)

    def exact_totals(self):
        """Totals per (GL guid, VAT code) over the lines of all entries in the server (without
        the VAT lines Exact generates, see :meth:`exact_vat_lines`): (amount, VAT)."""
        totals = {}
        for line in self.server.general_journal_entry_lines:
            if line.get("_vat_line"):
                continue
            key = (line["GLAccount"], line["VATCode"].strip())
            amount, vat = totals.get(key, (0.0, 0.0))
            totals[key] = (round(amount + line["AmountFC"], 2),
                           round(vat + line["AmountVATFC"], 2))
        return totals

    def exact_vat_lines(self):
        """Totals per (GL guid, VAT code) of the VAT lines Exact generated."""
        totals = {}
        for line in self.server.general_journal_entry_lines:
            if line.get("_vat_line"):
                key = (line["GLAccount"], line["VATCode"].strip())
                totals[key] = round(totals.get(key, 0.0) + line["AmountFC"], 2)
        return totals
