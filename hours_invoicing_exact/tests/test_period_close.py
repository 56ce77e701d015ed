# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reconciling a month with what Exact Online really holds (Exact's generated VAT lines on the
VAT code's G/L account included), the reconciliation as opened from its menu, and closing a
synced month that agrees."""

import datetime as dt

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from ..services.testing.exact_server import REVENUE_ACCOUNT_ID, VAT_HIGH_ACCOUNT_ID
from .period_common import PeriodCase

D = dt.date


@tagged("post_install", "-at_install")
class TestPeriodReconcileWithExact(PeriodCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="hie_period_close_manager",
            groups="base.group_user,account.group_account_manager")
        cls.accountant = new_test_user(
            cls.env, login="hie_period_close_accountant",
            groups="base.group_user,account.group_account_invoice")

    def setUp(self):
        super().setUp()
        self.company.sale_lock_date = False

    def _clean_march(self):
        self._invoice("2024-03-02", 1000.0, 0.07)
        self._invoice("2024-03-05", 200.0, refund=True)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "sent")
        return entry

    def _verified(self, date="2024-03-10", user=None):
        wizard = self.env["accounting.period.reconcile"].with_user(user or self.env.user).create(
            {"period_kind": "month", "date": date})
        wizard.action_verify_with_exact()
        return wizard

    def test_clean_month_agrees_with_exacts_vat_lines(self):
        entry = self._clean_march()
        # Exact booked the VAT itself, on the VAT code's G/L account
        self.assertEqual(self.exact_vat_lines(), {(VAT_HIGH_ACCOUNT_ID, "2"): entry.total_vat})
        self.assertEqual(self.exact_totals()[(REVENUE_ACCOUNT_ID, "2")][1], entry.total_vat)
        wizard = self._verified()
        self.assertTrue(wizard.exact_checked)
        self.assertTrue(wizard.agrees)
        self.assertFalse(wizard.line_ids.filtered(lambda line: not line.account_id))
        revenue = wizard.line_ids.filtered(lambda line: line.account_id == self.revenue)
        self.assertEqual(
            (revenue.vat_code, revenue.exact_amount, revenue.exact_vat, revenue.exact_difference),
            ("2", -800.07, -168.01, 0.0))

    def test_vat_missing_in_exact_does_not_agree(self):
        self._clean_march()
        # Exact holds the base lines but not the VAT line: the VAT is not booked there
        lines = self.server.general_journal_entry_lines
        lines[:] = [line for line in lines if not line.get("_vat_line")]
        wizard = self._verified()
        self.assertFalse(wizard.agrees)
        missing = wizard.line_ids.filtered(lambda line: not line.account_id)
        self.assertEqual((missing.vat_code, missing.exact_difference), ("2", -168.01))

    def test_reconciliation_from_its_menu_lets_the_user_pick_the_period(self):
        self._clean_march()
        with Form(self.env["accounting.period.reconcile"]) as form:
            today = dt.date.today()
            self.assertEqual(form.date_from, today.replace(day=1))  # not empty
            self.assertFalse(form.agrees)  # nothing compared yet: nothing agrees
            form.date = D(2024, 3, 20)
            self.assertEqual((form.date_from, form.date_to), (D(2024, 3, 1), D(2024, 3, 31)))
        wizard = form.record
        self.assertTrue(wizard.computed)
        self.assertTrue(wizard.agrees)
        self.assertTrue(wizard.line_ids)
        # another period: the former figures go
        wizard.date = D(2024, 5, 2)
        self.assertFalse(wizard.computed or wizard.line_ids or wizard.agrees)
        wizard.action_compute()
        self.assertEqual(wizard.date_from, D(2024, 5, 1))
        self.assertTrue(wizard.computed)

    def test_close_an_agreeing_month(self):
        self._clean_march()
        invoice = self.env["account.move"].search(
            [("journal_id", "=", self.sale_journal.id), ("date", "=", "2024-03-02")])
        wizard = self._verified(user=self.manager)
        wizard.action_close_period()
        self.assertEqual(self.company.sale_lock_date, D(2024, 3, 31))
        # nothing in Odoo can change the month any more
        with self.assertRaises(UserError):
            invoice.button_draft()
        with self.assertRaisesRegex(UserError, "already locked"):
            wizard.action_close_period()

    def test_a_month_that_does_not_agree_cannot_be_closed(self):
        self._clean_march()
        not_verified = self.env["accounting.period.reconcile"].with_user(self.manager).create(
            {"period_kind": "month", "date": "2024-03-10"})
        with self.assertRaisesRegex(UserError, "cannot be closed"):
            not_verified.action_close_period()
        verified = self._verified(user=self.manager)
        self.assertTrue(verified.agrees)
        self._invoice("2024-03-28", 50.0)  # posted after the entry was sent
        wizard = self._verified(user=self.manager)
        self.assertFalse(wizard.agrees)
        with self.assertRaisesRegex(UserError, "cannot be closed"):
            wizard.action_close_period()
        # verified before the late invoice: closing compares afresh
        with self.assertRaisesRegex(UserError, "cannot be closed"):
            verified.action_close_period()
        self.assertFalse(self.company.sale_lock_date)

    def test_only_accounting_managers_close(self):
        self._clean_march()
        wizard = self._verified()
        with self.assertRaises(AccessError):
            wizard.with_user(self.accountant).action_close_period()
        self.assertFalse(self.company.sale_lock_date)

    def test_one_exact_online_menu(self):
        root = self.env.ref("hours_invoicing_exact.menu_exact_online")
        self.assertEqual(root.parent_id, self.env.ref("account.menu_finance"))
        for xmlid in ("menu_exact_outbox", "menu_exact_connections", "menu_period_entry",
                      "menu_period_reconcile", "menu_period_sync_run"):
            menu = self.env.ref(f"hours_invoicing_exact.{xmlid}")
            self.assertIn(root, menu.parent_path and self.env["ir.ui.menu"].browse(
                [int(part) for part in menu.parent_path.split("/") if part]))
        ours = self.env["ir.ui.menu"].search([
            ("parent_id", "=", self.env.ref("account.menu_finance").id),
            ("id", "in", [self.env.ref(f"hours_invoicing_exact.{xmlid}").id for xmlid in (
                "menu_exact_online", "menu_period_sync_root")]),
        ])
        self.assertEqual(ours, root)
        for xmlid in ("action_accounting_outbox", "action_period_entry",
                      "action_accounting_connection"):
            self.assertIn("o_view_nocontent_smiling_face",
                          self.env.ref(f"hours_invoicing_exact.{xmlid}").help)
