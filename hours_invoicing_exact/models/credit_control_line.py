# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


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

    @api.model
    def create_or_update_from_mv_lines(self, lines, level, controlling_date, company,
                                       check_tolerance=True, default_lines_vals=None):
        """As account_credit_control's, with the earlier draft lines of the level searched
        once for all ``lines`` instead of once per line (no query per invoice)."""
        tolerance_base = company.credit_control_tolerance
        user_currency = company.currency_id
        tolerance = {}
        for currency in lines.currency_id:
            tolerance[currency.id] = currency._convert(
                tolerance_base, user_currency, company,
                controlling_date or fields.Date.today())
        values = []
        kept = self.env["account.move.line"]
        for move_line in lines:
            ml_currency = move_line.currency_id
            if ml_currency and ml_currency != user_currency:
                open_amount = move_line.amount_residual_currency
            else:
                open_amount = move_line.amount_residual
            if check_tolerance and open_amount < tolerance.get(ml_currency.id, tolerance_base):
                continue
            values.append(self._prepare_from_move_line(
                move_line, level, controlling_date, open_amount, default_lines_vals or {}))
            kept |= move_line
        # lines left in draft or to-be-sent on the same level are ignored from now on
        previous_drafts = self.search([
            ("move_line_id", "in", kept.ids),
            ("policy_level_id", "=", level.id),
            ("state", "in", ["draft", "to_be_sent"]),
        ]) if kept else self.browse()
        new_lines = self.create(values)
        previous_drafts.write({"state": "ignored"})
        return new_lines
