# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import Command, fields, models


class AccountMoveLine(models.Model):
    """Invoice lines know the booking lines they bill."""

    _inherit = "account.move.line"

    hie_booking_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        string="Billed Booking Lines",
        compute="_compute_hie_booking_line_ids",
    )
    hie_bills_hours = fields.Boolean(
        string="Bills Booking Lines",
        copy=False,
        readonly=True,
        help="This invoice line was made from booking lines.",
    )

    def _compute_hie_booking_line_ids(self):
        by_line = defaultdict(list)
        origin = self._origin.filtered("id")
        for move_line_id, line_id in self.env["hie.billing.link"]._read_by_move_lines(
            origin.move_id.ids, origin.ids
        ):
            by_line[move_line_id].append(line_id)
        for line in self:
            line.hie_booking_line_ids = [Command.set(by_line.get(line._origin.id, []))]

    def unlink(self):
        """Removing an invoice line (from a draft) releases its booking lines."""
        Link = self.env["hie.billing.link"]
        origin = self._origin.filtered("id")
        Link._release(line_id for _move_line_id, line_id
                      in Link._read_by_move_lines(origin.move_id.ids, origin.ids))
        return super().unlink()
