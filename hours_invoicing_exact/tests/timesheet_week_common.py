# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo.tests import new_test_user

from .invoice_common import DutchInvoiceCase

MONDAY = date(2026, 1, 5)  # week 2 of 2026


class TimesheetWeekCase(DutchInvoiceCase):
    """Anna books her weeks; Pieter manages the T&M project, Petra the second one, Bas is
    Anna's manager. The company invoices approved hours only, reviewed per project."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"hie_invoice_approved_only": True,
                           "hie_timesheet_reviewer": "project_manager"})
        groups = "base.group_user,hr_timesheet.group_hr_timesheet_user"
        cls.user_pm = new_test_user(cls.env, login="hie_pm", name="Pieter", groups=groups)
        cls.user_pm2 = new_test_user(cls.env, login="hie_pm2", name="Petra", groups=groups)
        cls.user_boss = new_test_user(cls.env, login="hie_boss", name="Bas", groups=groups)
        cls.boss = cls.env["hr.employee"].create({"name": "Bas", "user_id": cls.user_boss.id})
        cls.employee.parent_id = cls.boss
        cls.project_tm.write({"user_id": cls.user_pm.id,
                              "default_service_product_id": cls.activity.id})
        cls.project_tm2 = cls.env["project.project"].create({
            "name": "T&M 2", "partner_id": cls.other_customer.id,
            "invoicing_type": "time_material", "project_status": "order",
            "user_id": cls.user_pm2.id, "default_service_product_id": cls.activity_other.id,
        })
        cls.Week = cls.env["hie.timesheet.week"]

    @classmethod
    def week_of(cls, user=None, day=MONDAY, employee=None):
        Week = cls.Week.with_user(user or cls.user_employee)
        return Week.create({"employee_id": (employee or cls.employee).id, "date_start": day})

    @classmethod
    def fill(cls, week, rows):
        """Rows as ``{project: [hours Monday..Sunday]}``, written through the grid."""
        from odoo import Command

        week.write({"row_ids": [
            Command.create(dict(
                {"project_id": project.id},
                **{f"day_{index + 1}": hours for index, hours in enumerate(days)},
            ))
            for project, days in rows.items()
        ]})
        week.invalidate_recordset()
        return week

    def lines_of(self, week):
        return self.env["account.analytic.line"].search([
            ("employee_id", "=", week.employee_id.id),
            ("date", ">=", week.date_start), ("date", "<=", week.date_end),
        ], order="date, id")
