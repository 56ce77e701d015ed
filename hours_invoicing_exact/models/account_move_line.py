# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AccountMoveLine(models.Model):
    """Invoice lines know the booking lines they bill."""

    _inherit = "account.move.line"

    hie_booking_line_ids = fields.One2many(
        comodel_name="account.analytic.line",
        inverse_name="invoice_line_id",
        string="Billed Booking Lines",
        readonly=True,
    )
    hie_bills_hours = fields.Boolean(
        string="Bills Booking Lines",
        copy=False,
        readonly=True,
        help="This invoice line was made from booking lines.",
    )

    def unlink(self):
        """Removing an invoice line (from a draft) releases its booking lines."""
        lines = self.env["account.analytic.line"].sudo().search(
            [("invoice_line_id", "in", self.ids)]
        )
        lines._hie_release()
        return super().unlink()
