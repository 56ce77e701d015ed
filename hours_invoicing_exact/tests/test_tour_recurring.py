# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestRecurringTour(HttpCase):
    def test_setup_run_see_invoice(self):
        """In the browser: set up a monthly contract of a project, run the scheduled action,
        see the invoice."""
        env = self.env
        customer = env["res.partner"].create(
            {"name": "Tour Recurring Customer", "is_company": True})
        project = env["project.project"].create({
            "name": "Tour Recurring Project", "partner_id": customer.id,
            "invoicing_type": "time_material", "project_status": "order",
        })
        product = env["product.product"].create(
            {"name": "Tour Maintenance Product", "type": "service", "list_price": 99.0})
        self.start_tour("/odoo/action-contract.action_customer_contract/new",
                        "hie_recurring_setup_tour", login="admin")
        contract = env["contract.contract"].search([("name", "=", "Tour Maintenance")])
        self.assertEqual(len(contract), 1)
        self.assertEqual(contract.hie_project_id, project)
        self.assertEqual(contract.contract_line_ids.product_id, product)
        self.assertFalse(contract._get_related_invoices())
        cron = env.ref("contract.contract_cron_for_invoice")
        self.start_tour(f"/odoo/action-base.ir_cron_act/{cron.id}",
                        "hie_recurring_run_cron_tour", login="admin")
        invoice = contract._get_related_invoices()
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.partner_id, project.invoice_partner_id)
        self.assertEqual(invoice.amount_untaxed, 150.0)
        self.assertEqual(contract.hie_period_ids.move_id, invoice)
        self.start_tour(f"/odoo/action-contract.action_customer_contract/{contract.id}",
                        "hie_recurring_see_invoice_tour", login="admin")
