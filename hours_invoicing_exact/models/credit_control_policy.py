# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class CreditControlPolicy(models.Model):
    """Reminders only for invoices that are still open: in the accounting package when the
    company syncs its invoices there (payments are booked there, so Odoo's invoice never
    looks paid), else in Odoo; never for a partner excluded from reminders."""

    _inherit = "credit.control.policy"

    def _get_move_lines_to_process(self, credit_control_run):
        lines = super()._get_move_lines_to_process(credit_control_run)
        return self._hie_filter_open_lines(lines)

    def _hie_filter_open_lines(self, lines):
        """Drop the lines of excluded partners and of invoices no longer open."""
        lines = lines.filtered(
            lambda line: not line.partner_id.commercial_partner_id.hie_no_payment_reminders)
        moves = lines.move_id
        open_moves = moves._hie_is_open_for_reminders()
        return lines.filtered(lambda line: line.move_id in open_moves)
