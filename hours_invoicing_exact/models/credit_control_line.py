# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class CreditControlLine(models.Model):
    _inherit = "credit.control.line"

    @api.model
    def _prepare_from_move_line(self, move_line, level, controlling_date, open_amount,
                                default_lines_vals):
        """The balance due of an invoice whose payments are booked in the accounting package
        is what the package still has open (Odoo's own residual never decreases)."""
        values = super()._prepare_from_move_line(
            move_line, level, controlling_date, open_amount, default_lines_vals)
        move = move_line.move_id
        if move.hie_payment_status in ("open", "partial"):
            values["balance_due"] = move.hie_payment_open_amount
        return values
