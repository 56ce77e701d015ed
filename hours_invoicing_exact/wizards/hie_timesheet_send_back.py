# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class HieTimesheetSendBack(models.TransientModel):
    """Send a week (or one row of it) back to the employee, with the reason."""

    _name = "hie.timesheet.send.back"
    _description = "Send Hours Back"

    week_ids = fields.Many2many(comodel_name="hie.timesheet.week", string="Weeks",
                                required=True)
    row_id = fields.Many2one(
        comodel_name="hie.timesheet.week.row",
        string="Only The Row",
        help="Send back only the hours of this project line.",
    )
    reason = fields.Text(required=True, help="Told to the employee, in the chatter and an "
                         "activity.")

    def action_send_back(self):
        self.ensure_one()
        lines = self.row_id._hie_row_lines() if self.row_id else None
        self.week_ids._hie_send_back(self.reason, lines=lines)
        return {"type": "ir.actions.act_window_close"}
