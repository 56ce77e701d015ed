# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .invoice_common import DutchInvoiceCase


@tagged("post_install", "-at_install")
class TestBookCosts(DutchInvoiceCase):
    """A plain project user books an other cost on a project, without accounting rights,
    under the booking rule."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project_user = new_test_user(
            cls.env, login="hie_project_user",
            groups="base.group_user,project.group_project_user,"
            "hr_timesheet.group_hr_timesheet_user",
        )
        cls.assertFalse(cls, cls.project_user.has_group("account.group_account_invoice"))
        cls.assertFalse(cls, cls.project_user.has_group("analytic.group_analytic_accounting"))

    def _book(self, project, **vals):
        action = self.env.ref("hours_invoicing_exact.action_project_book_cost_wizard")
        self.assertIn("Book Costs", self.env["project.project"].with_user(
            self.project_user).get_view(self.env.ref("project.edit_project").id)["arch"])
        form = Form(self.env[action.res_model].with_user(self.project_user).with_context(
            active_model="project.project", active_id=project.id))
        self.assertEqual(form.project_id, project)
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save()

    def test_plain_user_books_cost(self):
        wizard = self._book(self.project_tm, date="2026-01-08", product_id=self.steel,
                            quantity=250, unit_cost=1.2, name="Rebar for the floor")
        self.assertEqual(wizard.product_uom_id, self.env.ref("uom.product_uom_kgm"))
        wizard.action_book()
        line = self.env["account.analytic.line"].search(
            [("name", "=", "Rebar for the floor")])
        self.assertEqual(len(line), 1)
        self.assertEqual(line.booking_project_id, self.project_tm)
        self.assertEqual(line.booking_kind, "cost")
        self.assertEqual(line.product_id, self.steel)
        self.assertAlmostEqual(line.unit_amount, 250.0)
        self.assertAlmostEqual(line.cost_amount, 300.0)
        self.assertAlmostEqual(line.revenue_amount, 375.0)  # list price 1.50 / kg
        self.assertEqual(line.billing_status, "to_invoice")
        self.assertEqual(line.company_id, self.company)
        # and it is invoiced as a cost, with its unit
        move = self.project_tm._hie_create_invoices("2026-01-31")
        self.assertEqual(line.invoice_id, move)
        self.assertEqual(line.invoice_line_id.product_uom_id, self.env.ref("uom.product_uom_kgm"))

    def test_booking_rule_applies(self):
        self.project_tm.project_status = "closed"
        wizard = self._book(self.project_tm, product_id=self.steel, quantity=1, unit_cost=1)
        with self.assertRefused(UserError, "status is Closed"):
            wizard.action_book()
        self.assertFalse(self.env["account.analytic.line"].search(
            [("booking_project_id", "=", self.project_tm.id)]))

    def test_quantity_must_be_positive(self):
        wizard = self._book(self.project_tm, product_id=self.steel, quantity=0, unit_cost=1)
        with self.assertRefused(UserError, "positive"):
            wizard.action_book()
