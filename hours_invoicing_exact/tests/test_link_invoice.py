# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestLinkInvoice(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": cls.customer.id,
            "invoice_date": "2026-01-31",
            "invoice_line_ids": [(0, 0, {"name": "Work January", "quantity": 1,
                                         "price_unit": 1000.0})],
        })
        cls.project_b = cls.env["project.project"].create({
            "name": "B", "partner_id": cls.other_customer.id,
            "invoice_partner_id": cls.customer.id, "invoicing_type": "time_material",
        })
        cls.jan = cls.book_hours(cls.project_tm, 4, product=cls.activity, date="2026-01-10")
        cls.feb = cls.book_hours(cls.project_tm, 2, product=cls.activity, date="2026-02-10")
        cls.debtor_line = cls.book_hours(cls.project_b, 1, product=cls.activity,
                                         date="2026-01-10")
        cls.foreign = cls.book_hours(
            cls.env["project.project"].create({"name": "C", "partner_id": cls.other_customer.id}),
            1, product=cls.activity, date="2026-01-10")
        cls.fixed = cls.book_hours(cls.project_fixed, 1, date="2026-01-10")

    def _wizard(self):
        action = self.invoice.action_hie_link_hours()
        return Form(self.env[action["res_model"]].with_context(**action["context"]))

    def test_lists_principal_and_debtor_projects_and_filters(self):
        form = self._wizard()
        self.assertEqual(set(form.available_line_ids.ids),
                         {self.jan.id, self.feb.id, self.debtor_line.id})
        form.project_id = self.project_tm
        form.date_to = "2026-01-31"
        self.assertEqual(form.available_line_ids.ids, self.jan.ids)

    def test_link_locks_and_keeps_amounts(self):
        self.invoice.action_post()
        form = self._wizard()
        form.date_from = "2026-01-01"
        form.date_to = "2026-01-31"
        wizard = form.save()
        wizard.action_select_all()
        self.assertEqual(wizard.line_ids, self.jan | self.debtor_line)
        wizard.action_link()
        self.assertEqual((self.jan | self.debtor_line).mapped("billing_status"),
                         ["invoiced", "invoiced"])
        self.assertEqual(self.jan.invoice_id, self.invoice)
        self.assertFalse(self.jan.invoice_line_id)
        self.assertEqual(self.invoice.amount_untaxed, 1000.0)
        value = self.jan.revenue_amount + self.debtor_line.revenue_amount
        self.assertEqual(self.invoice.hie_hours_value, value)
        self.assertEqual(self.invoice.hie_hours_difference, 1000.0 - value)
        self.assertEqual(self.invoice.hie_booking_line_count, 2)
        with self.assertRefused(UserError, self.invoice.name):
            self.jan.unit_amount = 1
        # not offered again; cancelling the invoice releases them
        self.assertNotIn(self.jan, self._wizard().available_line_ids)
        self.invoice.button_cancel()
        self.assertEqual(self.jan.billing_status, "to_invoice")

    def test_refuses_foreign_or_billed_lines(self):
        wizard = self._wizard().save()
        wizard.line_ids = self.foreign | self.fixed
        with self.assertRefused(UserError, self.customer.name):
            wizard.action_link()
        self.project_tm._hie_create_invoices("2026-01-31")
        wizard = self._wizard().save()
        wizard.line_ids = self.jan
        with self.assertRefused(UserError, "Only unbilled lines"):
            wizard.action_link()
