# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestBillingLock(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.line = cls.book_hours(cls.project_tm, 2, product=cls.activity, date="2026-01-05")
        cls.other = cls.book_hours(cls.project_tm, 1, product=cls.activity, date="2026-01-06")
        cls.move = cls.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")

    def _credit(self, move, amount=None):
        """Credit note of ``move`` (posted); of ``amount`` on one line when partial."""
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=move.ids,
        ).create({"journal_id": move.journal_id.id, "date": "2026-01-31"})
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if amount is not None:
            refund.invoice_line_ids[1:].unlink()
            refund.invoice_line_ids.write({"quantity": 1, "price_unit": amount})
        refund.action_post()
        return refund

    def test_protected_fields_every_path(self):
        line = self.line
        self.assertEqual(line.invoice_id, self.move)
        values = {
            "date": "2026-01-09", "unit_amount": 5, "employee_id": self.employee_rated.id,
            "product_id": self.activity_other.id, "is_direct": False,
            "revenue_override": True, "revenue_manual": 1.0,
            "project_id": self.env["project.project"].create(
                {"name": "Elsewhere", "partner_id": self.customer.id}).id,
            "account_id": self.project_fixed.account_id.id,
            "task_id": self.env["project.task"].create(
                {"name": "T", "project_id": self.project_tm.id}).id,
        }
        for fname, value in values.items():
            with self.subTest(field=fname), self.assertRefused(
                UserError, "billed on invoice", self.move.display_name,
            ):
                line.write({fname: value})
        # RPC-style write by another user, list multi-edit via the ORM, import
        with self.assertRefused(UserError, "billed on invoice"):
            line.with_user(self.user_manager).write({"unit_amount": 9})
        with self.assertRefused(UserError, "billed on invoice"):
            (line | self.other).write({"unit_amount": 9})
        with self.assertRefused(UserError, "billed on invoice"):
            line.unlink()
        with self.assertRefused(UserError, "billed on invoice"):
            line.with_user(self.user_manager).unlink()
        xid = line.export_data(["id"])["datas"][0][0]
        res = self.env["account.analytic.line"].load(["id", "unit_amount"], [[xid, "7"]])
        self.assertTrue(res["messages"])
        self.assertIn("billed on invoice", res["messages"][0]["message"])
        self.assertEqual(line.unit_amount, 2)
        # the form refuses too
        with self.assertRefused(UserError, "billed on invoice"):
            with Form(line.with_user(self.user_manager),
                      view="hours_invoicing_exact.booking_line_view_form") as form:
                form.name = "changed"
                form.date = "2026-01-10"
        # same values and the description pass
        line.write({"unit_amount": 2, "date": "2026-01-05", "name": "better description"})
        self.assertEqual(line.name, "better description")

    def test_cost_side_recomputes(self):
        """A retroactive change of the hourly cost is not blocked by invoiced hours and does
        not change the invoice."""
        revenue = self.line.revenue_amount
        self.line.write({"amount": -2 * 75.0})
        self.assertEqual(self.line.cost_amount, 150.0)
        self.assertEqual(self.line.revenue_amount, revenue)
        # hr_timesheet's own recomputation of the cost (on a change of the description)
        self.employee.hourly_cost = 70.0
        self.line._timesheet_postprocess({"unit_amount": 2})
        self.assertEqual(self.line.cost_amount, 140.0)
        self.assertEqual(self.line.revenue_amount, revenue)
        self.assertEqual(self.move.amount_untaxed, 240.0)

    def test_release_on_draft_deletion(self):
        self.move.unlink()
        self.assertEqual((self.line | self.other).mapped("billing_status"), ["to_invoice"] * 2)
        self.line.unit_amount = 4  # unlocked

    def test_release_on_line_removal(self):
        self.move.write({"invoice_line_ids": [(2, self.line.invoice_line_id.id)]})
        self.assertEqual(self.line.billing_status, "to_invoice")
        self.assertEqual(self.other.billing_status, "to_invoice")  # same summary line
        line3 = self.book_hours(self.project_tm, 1, product=self.activity_other,
                                date="2026-01-06")
        move2 = self.project_tm._hie_create_invoices("2026-01-31")
        products = move2.invoice_line_ids.sorted("sequence").mapped("product_id")
        with Form(move2) as form:
            form.invoice_line_ids.remove(list(products).index(self.activity_other))
        self.assertEqual(line3.billing_status, "to_invoice")
        self.assertEqual(self.line.invoice_id, move2)

    def test_release_on_cancel_and_not_reopened(self):
        self.move.action_post()
        self.move.button_cancel()
        self.assertEqual(self.line.billing_status, "to_invoice")
        self.assertTrue(self.move.hie_hours_released)
        with self.assertRefused(UserError, "billable again"):
            self.move.button_draft()

    def test_full_credit_setting_on_releases(self):
        self.company.hie_credit_releases_hours = True
        self.move.action_post()
        refund = self._credit(self.move)
        self.assertEqual(self.line.billing_status, "to_invoice")
        self.assertTrue(refund.hie_hours_released)
        with self.assertRefused(UserError, "billable again"):
            refund.button_draft()

    def test_full_credit_setting_off_written_off(self):
        self.company.hie_credit_releases_hours = False
        self.move.action_post()
        self._credit(self.move)
        self.assertEqual(self.line.billing_status, "invoiced")
        self.assertEqual(self.line.invoice_id, self.move)

    def test_partial_credit_keeps_billed(self):
        self.company.hie_credit_releases_hours = True
        self.move.action_post()
        self._credit(self.move, amount=10.0)
        self.assertEqual(self.line.billing_status, "invoiced")
        with self.assertRefused(UserError, "billed on invoice"):
            self.line.unit_amount = 3
