# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, models
from odoo.exceptions import UserError


class AccountMoveReversal(models.TransientModel):
    """Odoo's reversal wizard: "Reverse and create invoice" keeps billed hours billed once."""

    _inherit = "account.move.reversal"

    def reverse_moves(self, is_modify=False):
        """"Reverse and create invoice" posts a credit note of the whole invoice and makes a
        draft copy charging the same amounts: the copy takes over the billing links of the
        invoice it corrects (line by line), so that each hour stays charged on exactly one
        standing invoice. The plain reversal (full or partial credit note) releases hours
        when its credit note is posted, see ``account.move._post``."""
        if not is_modify:
            return super().reverse_moves(is_modify=is_modify)
        released = self.move_ids.filtered("hie_hours_released")
        if released:
            raise UserError(_(
                "Invoice %s cannot be reversed into a new invoice: its hours were made billable "
                "again when it was cancelled or credited, and may have been invoiced since. "
                "Reverse it without a new invoice, and invoice the hours anew.",
                released[0].display_name,
            ))
        Link = self.env["hie.billing.link"].sudo()
        links = Link._read_by_moves(self.move_ids.ids)
        res = super().reverse_moves(is_modify=is_modify)
        if links:
            Link._transfer_to_copies(links, self._hie_copies_by_move())
        return res

    def _hie_copies_by_move(self):
        """{reversed invoice id: its new copy}. Odoo does not tell which copy is whose (nor
        keeps their order): a copy is matched by its contents (partner, currency and invoice
        lines); identical invoices have identical copies, so any pairing of them is right."""

        def signature(move):
            return (move.partner_id.id, move.currency_id.id, tuple(
                (line.display_type, line.name, line.product_id.id, line.quantity,
                 line.price_unit)
                for line in move.invoice_line_ids.sorted(lambda aml: (aml.sequence, aml.id))
            ))

        copies_by_signature = defaultdict(list)
        for copy in self.new_move_ids.sorted("id"):
            copies_by_signature[signature(copy)].append(copy)
        result = {}
        for move in self.move_ids.sorted("id"):
            candidates = copies_by_signature.get(signature(move))
            if not candidates:
                raise UserError(_(
                    "The new invoices of the reversal cannot be matched with the invoices they "
                    "correct, so their hours cannot follow. Reverse the invoices one by one."
                ))
            result[move.id] = candidates.pop(0)
        return result
