# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import Form, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestUiForms(HieCase):
    def test_demo_data_installed(self):
        project = self.env.ref("hours_invoicing_exact.project_renovation", raise_if_not_found=False)
        if not project:
            self.skipTest("database without demo data")
        self.assertEqual(project.invoicing_type, "time_material")
        self.assertEqual(project.invoice_partner_id,
                         self.env.ref("hours_invoicing_exact.partner_devries_invoice"))
        lines = self.env["account.analytic.line"].search([("booking_project_id", "=", project.id)])
        self.assertEqual(len(lines), 3)
        by_name = {line.name: line for line in lines}
        self.assertEqual(by_name["Site survey"].revenue_amount, 360.0)  # 4 h × customer 90
        self.assertEqual(by_name["Planning meeting"].revenue_amount, 285.0)  # 2.5 × 120 −5%
        self.assertEqual(by_name["Cables and sockets"].revenue_amount, 138.0)  # 120 + 15%

    def test_project_form(self):
        with Form(self.env["project.project"].with_user(self.user_manager)) as form:
            form.name = "Via the form"
            self.assertEqual(form.project_status, "order")
            form.partner_id = self.customer
            self.assertEqual(form.invoicing_type, "time_material")
            self.assertEqual(form.invoice_partner_id, self.customer_invoice)
            form.invoice_partner_id = self.other_customer
            form.invoicing_type = "fixed_price"
            form.contract_sum = 5000
            form.project_status = "quoted"
            with form.rate_agreement_ids.new() as agreement:
                agreement.kind = "hours"
                agreement.hourly_rate = 99.0
        project = form.record
        self.assertEqual(project.invoice_partner_id, self.other_customer)
        self.assertEqual(project.rate_agreement_ids.hourly_rate, 99.0)
        self.assertEqual(project.rate_agreement_ids.company_id,
                         project.company_id or self.env.company)

    def test_status_change_tracked(self):
        env = self.env(context={})
        project = env["project.project"].create({"name": "Tracked", "partner_id": self.customer.id})
        env.flush_all()
        env.cr.precommit.run()
        project.project_status = "closed"
        env.flush_all()
        env.cr.precommit.run()
        project.invalidate_recordset()
        tracked = project.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "project_status"
        )
        self.assertEqual(tracked.new_value_char, "Closed")

    def test_partner_agreements_tab(self):
        with Form(self.other_customer.with_user(self.user_manager)) as form:
            with form.rate_agreement_ids.new() as agreement:
                agreement.kind = "cost"
                agreement.cost_pricing = "markup"
                agreement.markup = 12.5
        self.assertEqual(self.other_customer.rate_agreement_ids.markup, 12.5)

    def test_booking_line_views_render(self):
        Line = self.env["account.analytic.line"]
        for view in ("booking_line_view_list", "booking_line_view_form",
                     "booking_line_view_search"):
            arch = Line.get_view(self.env.ref(f"hours_invoicing_exact.{view}").id)["arch"]
            self.assertIn("billing_status", arch)
        line = self.book_cost(self.project_tm, self.material, 2, 5.0)
        form = Form(line.with_user(self.user_manager),
                    view="hours_invoicing_exact.booking_line_view_form")
        form.revenue_override = True
        form.revenue_manual = 42.0
        form.save()
        self.assertEqual(line.revenue_amount, 42.0)
        action = self.project_tm.action_view_booking_lines()
        self.assertIn(line, Line.search(action["domain"]))
