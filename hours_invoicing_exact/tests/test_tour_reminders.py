# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestReminderTour(HttpCase):
    def test_preview_and_overview(self):
        """In the browser: the preview of a reminder run, then the overdue overview."""
        env = self.env
        admin = env.ref("base.user_admin")
        admin.groups_id = [Command.link(
            env.ref("account_credit_control.group_account_credit_control_manager").id)]
        company = admin.company_id
        env["credit.control.policy"].with_company(company)._hie_create_standard_policy(company)
        customer = env["res.partner"].create({
            "name": "Tour Klant BV", "is_company": True, "email": "tour@klant.example"})
        income = env["account.account"].search([
            ("account_type", "=", "income"), ("company_ids", "in", company.id)], limit=1)
        invoice = env["account.move"].with_company(company).create({
            "move_type": "out_invoice", "partner_id": customer.id,
            "invoice_date": "2025-01-01", "invoice_date_due": "2025-01-31",
            "invoice_line_ids": [Command.create({
                "name": "Onderhoud", "quantity": 1, "price_unit": 100.0,
                "account_id": income.id})],
        })
        invoice.action_post()
        run = env["credit.control.run"].create({
            "date": "2025-02-10", "company_id": company.id,
            "policy_ids": [Command.set(company.credit_policy_id.ids)]})
        run.generate_credit_lines()
        self.assertIn(invoice, run.line_ids.invoice_id)
        self.start_tour(f"/odoo/action-account_credit_control.credit_control_run/{run.id}",
                        "hie_payment_reminder_preview", login="admin")
        self.start_tour("/odoo/action-hours_invoicing_exact.action_overdue_invoices",
                        "hie_overdue_overview", login="admin")
