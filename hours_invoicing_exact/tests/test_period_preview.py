# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime as dt

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged

from hie_testing.exact_server import RECEIVABLE_ACCOUNT_ID, REVENUE_ACCOUNT_ID

from .period_common import PeriodCase, PeriodCaseMixin

D = dt.date


@tagged("post_install", "-at_install")
class TestPeriodPreview(PeriodCase):
    def test_manual_preview_then_send(self):
        self.company.hie_period_sync_mode = "manual"
        self._invoice("2024-03-05", 100.0)
        self._invoice("2024-03-06", 50.0, refund=True)
        with Form(self.env["accounting.period.entry.preview"]) as form:
            form.period_kind = "month"
            form.date = D(2024, 3, 15)
            self.assertEqual(form.date_from, D(2024, 3, 1))
            self.assertEqual(form.line_count, 2)
            self.assertEqual(form.balance, 0.0)
            self.assertFalse(form.problems)
            self.assertTrue(form.can_send)
            self.assertIn("Revenue HIE", form.preview_html)
            self.assertIn("Mappings used", form.preview_html)
        wizard = form.record
        self.assertFalse(self.Entry.search([("company_id", "=", self.company.id)]))
        action = wizard.action_send()
        entry = self.Entry.browse(action["res_id"])
        self.assertEqual(entry.state, "sent")
        self.assertEqual(self.exact_totals(), {
            (REVENUE_ACCOUNT_ID, "2"): (-50.0, -10.5),
            (RECEIVABLE_ACCOUNT_ID, ""): (60.5, 0.0),
        })
        with self.assertRaises(UserError):  # nothing left to send
            wizard.action_send()

    def test_preview_shows_what_is_missing_and_refuses_to_send(self):
        self.company.hie_period_sync_mode = "manual"
        unmapped = self.env["account.account"].create(
            {"name": "Unmapped revenue", "code": "800098", "account_type": "income"})
        # an invalid VAT number stored past base_vat's check (imported data)
        stranger = self.env["res.partner"].with_context(no_vat_validation=True).create({
            "name": "Unmapped BV", "is_company": True, "vat": "NL123456789B99",
            "country_id": self.env.ref("base.nl").id,
        })
        self._invoice("2024-03-05", 100.0, partner=stranger, account=unmapped)
        calls = sum(self.server.calls.values())
        wizard = self.env["accounting.period.entry.preview"].create(
            {"period_kind": "month", "date": "2024-03-01"})
        self.assertIn("Unmapped revenue", wizard.problems)
        self.assertIn("NL123456789B99", wizard.problems)  # invalid VAT number, checked locally
        self.assertEqual(sum(self.server.calls.values()), calls)  # a preview calls nobody
        self.assertIn("Missing", wizard.preview_html)
        self.assertFalse(wizard.can_send)
        with self.assertRaises(UserError):
            wizard.action_send()

    def test_automatic_mode_previews_the_current_period_without_send(self):
        with freeze_time("2024-03-20"):
            self._invoice("2024-03-05", 100.0)
            wizard = self.env["accounting.period.entry.preview"].create({})
            self.assertEqual((wizard.period_kind, wizard.date_from), ("month", D(2024, 3, 1)))
            self.assertEqual(wizard.line_count, 2)
            self.assertFalse(wizard.can_send)
            with self.assertRaises(UserError):
                wizard.action_send()


@tagged("post_install", "-at_install")
class TestPeriodReconcile(PeriodCase):
    def test_worked_example(self):
        # By hand, all at 21 %: invoices 1000.00 (VAT 210.00), 0.07 (VAT 0.01), 0.07 (VAT 0.01),
        # credit note 200.00 (VAT 42.00).
        # revenue  = -1000 - 0.07 - 0.07 + 200 = -800.14; Odoo VAT = -210.02 + 42 = -168.02
        #            (Exact alone: -800.14 * 21 % = -168.0294 -> -168.03: one cent off)
        # receivable = 1210.00 + 0.08 + 0.08 - 242.00 = 968.16; balance -800.14-168.02+968.16=0
        self._invoice("2024-03-02", 1000.0)
        self._invoice("2024-03-03", 0.07)
        self._invoice("2024-03-04", 0.07)
        self._invoice("2024-03-05", 200.0, refund=True)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "sent")
        self.assertEqual((entry.total_debit, entry.total_credit, entry.total_vat, entry.balance),
                         (968.16, 968.16, -168.02, 0.0))
        # a late posting in March after the entry was sent: 50.00 + 10.50 VAT
        self._invoice("2024-03-28", 50.0)
        wizard = self.env["accounting.period.reconcile"].create(
            {"period_kind": "month", "date": "2024-03-10"})
        figures = {
            line.account_id: (line.odoo_amount, line.odoo_vat, line.sent_amount, line.sent_vat,
                              line.difference, line.vat_difference)
            for line in wizard.line_ids
        }
        self.assertEqual(figures, {
            self.revenue: (-850.14, -178.52, -800.14, -168.02, -50.0, -10.5),
            self.receivable: (1028.66, 0.0, 968.16, 0.0, 60.5, 0.0),
        })
        self.assertFalse(wizard.agrees)
        wizard.action_verify_with_exact()
        exact = {line.account_id: (line.exact_amount, line.exact_vat, line.exact_difference)
                 for line in wizard.line_ids}
        self.assertEqual(exact, {
            self.revenue: (-800.14, -168.02, 0.0),
            self.receivable: (968.16, 0.0, 0.0),
        })
        # the next run sends the correction; then Odoo, sent and Exact agree
        correction = self.run_on(D(2024, 4, 2))
        self.assertEqual(correction.kind, "correction")
        wizard = self.env["accounting.period.reconcile"].create(
            {"period_kind": "month", "date": "2024-03-10"})
        wizard.action_verify_with_exact()
        self.assertTrue(wizard.agrees)
        self.assertEqual(
            {line.account_id: line.exact_amount for line in wizard.line_ids},
            {self.revenue: -850.14, self.receivable: 1028.66},
        )


@tagged("post_install", "-at_install")
class TestPeriodTour(PeriodCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_period_fixtures()

    def test_preview_and_send_tour(self):
        self.company.hie_period_sync_mode = "manual"
        self._invoice(dt.date.today(), 100.0)
        self.env.flush_all()
        self.start_tour(
            "/odoo/action-hours_invoicing_exact.action_period_entry_preview",
            "hie_period_entry_preview",
            login="admin",
        )
        entry = self.env["accounting.period.entry"].search(
            [("company_id", "=", self.company.id)])
        self.assertEqual(entry.state, "sent")
        self.assertEqual(len(self.server.general_journal_entries), 1)
