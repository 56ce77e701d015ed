# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

MONDAY = date(2026, 1, 5)


@tagged("post_install", "-at_install")
class TestTimesheetWeekTour(HttpCase):
    def test_week_submit_approve_invoice(self):
        """In the browser: the employee fills a week on two projects (a cell on a closed
        project is refused, saying why) and submits it; the project manager approves it;
        invoicing bills the approved week only, the next (submitted) week waits."""
        env = self.env
        company = env.company
        company.write({"hie_invoice_approved_only": True,
                       "hie_timesheet_reviewer": "project_manager"})
        groups = "base.group_user,hr_timesheet.group_hr_timesheet_user"
        user = new_test_user(env, login="tour_employee", groups=groups)
        reviewer = new_test_user(env, login="tour_reviewer", groups=groups)
        employee = env["hr.employee"].create({
            "name": "Tour Medewerker", "user_id": user.id, "hourly_cost": 40.0,
        })
        hour = env.ref("uom.product_uom_hour")
        tax = env["account.chart.template"].with_company(company).ref("btw_21_d")
        activity = env["product.product"].create({
            "name": "Tour Advies", "type": "service", "list_price": 90.0,
            "uom_id": hour.id, "uom_po_id": hour.id, "taxes_id": [Command.set(tax.ids)],
        })
        customer = env["res.partner"].create({"name": "Tour Klant", "is_company": True})
        projects = env["project.project"].create([{
            "name": name, "partner_id": customer.id, "invoicing_type": "time_material",
            "project_status": "order", "user_id": reviewer.id,
            "default_service_product_id": activity.id, "company_id": company.id,
        } for name in ("Tour Regie A", "Tour Regie B")])
        closed = env["project.project"].create({
            "name": "Tour Gesloten", "invoicing_type": "internal", "project_status": "closed",
        })
        Week = env["hie.timesheet.week"]
        week = Week.create({"employee_id": employee.id, "date_start": MONDAY})
        # a row kept from when the project was open
        week.write({"row_ids": [Command.create({"project_id": closed.id})]})
        # the next week is submitted, not approved: it waits
        later = Week.with_user(user).create({
            "employee_id": employee.id, "date_start": MONDAY + timedelta(7)})
        later.write({"row_ids": [Command.create({"project_id": projects[0].id, "day_1": 3.0})]})
        later.with_user(user).action_submit()

        url = f"/odoo/action-hours_invoicing_exact.action_hie_timesheet_week/{week.id}"
        self.start_tour(url, "hie_timesheet_week_employee_tour", login="tour_employee")
        week.invalidate_recordset()
        self.assertEqual(week.state, "submitted")
        lines = env["account.analytic.line"].search([
            ("employee_id", "=", employee.id), ("date", "<=", MONDAY + timedelta(6))])
        self.assertEqual(sorted(lines.mapped("unit_amount")), [8.0] * 5)
        self.assertNotIn(closed, lines.project_id)

        self.start_tour(url, "hie_timesheet_week_reviewer_tour", login="tour_reviewer")
        week.invalidate_recordset()
        self.assertEqual(week.state, "approved")

        self.start_tour(f"/odoo/action-project.open_view_project_all/{projects[0].id}",
                        "hie_timesheet_week_invoice_tour", login="admin")
        lines.invalidate_recordset()
        invoice = lines.invoice_id
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.hie_booking_line_ids, lines.filtered(
            lambda line: line.project_id == projects[0]))
        self.assertEqual(invoice.amount_untaxed, 4 * 8 * 90.0)
        waiting = env["account.analytic.line"].search([
            ("employee_id", "=", employee.id), ("date", ">", MONDAY + timedelta(6))])
        self.assertEqual(waiting.billing_status, "to_invoice")
        self.assertEqual(waiting.hie_approval_state, "submitted")
