# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestInvoicingTour(HttpCase):
    def test_book_invoice_open(self):
        """In the browser: book hours, run the invoicing wizard, open the invoice and its
        booking lines."""
        env = self.env
        customer = env["res.partner"].create({"name": "Tour Customer", "is_company": True})
        # hours without an activity are not invoiced: the project proposes one
        activity = env["product.product"].create({
            "name": "Tour Activity", "type": "service",
            "uom_id": env.ref("uom.product_uom_hour").id,
            "uom_po_id": env.ref("uom.product_uom_hour").id,
        })
        project = env["project.project"].create({
            "name": "Tour Project", "partner_id": customer.id,
            "invoicing_type": "time_material", "project_status": "order",
            "default_service_product_id": activity.id,
        })
        env["hr.employee"].create({
            "name": "Tour Employee", "hourly_cost": 40.0, "timesheet_sale_rate": 90.0,
        })
        self.start_tour("/odoo/action-hours_invoicing_exact.action_booking_lines/new",
                        "hie_invoicing_book_tour", login="admin")
        line = env["account.analytic.line"].search([("name", "=", "Tour work")])
        self.assertEqual(line.booking_project_id, project)
        self.assertEqual(line.billing_status, "to_invoice")
        self.start_tour(f"/odoo/action-project.open_view_project_all/{project.id}",
                        "hie_invoicing_invoice_tour", login="admin")
        line.invalidate_recordset()
        self.assertEqual(line.billing_status, "invoiced")
        self.assertEqual(line.invoice_id.partner_id, customer)
        self.assertEqual(line.invoice_id.amount_untaxed, 270.0)  # 3 h × 90
