# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import RedirectWarning
from odoo.tests import Form, tagged

from .invoice_common import DutchInvoiceCase


@tagged("post_install", "-at_install")
class TestProjectClose(DutchInvoiceCase):
    """Closing a project with hours or costs to invoice warns with the unbilled value and
    needs a confirmation; the status bar (a plain write) does not close silently."""

    def test_close_with_unbilled_needs_confirmation(self):
        self.book_hours(self.project_tm, 4, product=self.activity, date="2026-01-05")
        self.book_cost(self.project_tm, self.steel, quantity=250, unit_cost=1.0,
                       date="2026-01-05")
        project = self.project_tm.with_user(self.user_manager)
        # the status bar: a write of the status from the form
        with self.assertRaises(RedirectWarning) as cm:
            with Form(project) as form:
                form.project_status = "closed"
        message, action, button, context = cm.exception.args
        self.assertIn("T&M", message)
        self.assertIn("2 lines", message)
        self.assertIn("755.00", message)  # 4 h × 95 + 250 kg × 1.50
        self.assertEqual(action, "hours_invoicing_exact.action_project_close_wizard")
        self.assertTrue(button)
        self.assertEqual(self.project_tm.project_status, "order")
        # RPC/import: the same
        with self.assertRaises(RedirectWarning):
            project.write({"project_status": "closed"})
        self.assertEqual(self.project_tm.project_status, "order")
        # the confirmation shows the figures, hours apart from material quantities
        wizard = Form(self.env["hie.project.close.wizard"].with_user(self.user_manager)
                      .with_context(**context)).save()
        self.assertEqual(wizard.line_count, 2)
        self.assertAlmostEqual(wizard.hours, 4.0)
        self.assertAlmostEqual(wizard.amount, 755.0)
        wizard.action_close()
        self.assertEqual(self.project_tm.project_status, "closed")

    def test_close_without_unbilled_is_plain(self):
        line = self.book_hours(self.project_tm, 4, product=self.activity, date="2026-01-05")
        self.project_tm._hie_create_invoices("2026-01-31")
        self.assertTrue(line.invoice_id)
        self.book_hours(self.project_fixed, 3, date="2026-01-05")  # never invoiced
        (self.project_tm | self.project_fixed).with_user(self.user_manager).write(
            {"project_status": "closed"})
        self.assertEqual(self.project_tm.project_status, "closed")
        self.assertEqual(self.project_fixed.project_status, "closed")
