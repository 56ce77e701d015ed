# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    timesheet_sale_rate = fields.Monetary(
        string="Default Hourly Sales Rate",
        currency_field="currency_id",
        groups="hr.group_hr_user,project.group_project_manager",
        help="Hourly sales rate of this employee's hours where no rate agreement applies.",
    )
