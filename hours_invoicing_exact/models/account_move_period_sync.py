# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class AccountMove(models.Model):
    """No sales entry per document for companies that sync per period: their invoices
    reach Exact in the memorial entry of their period (else they would be booked twice)."""

    _inherit = "account.move"

    def _exact_enqueue(self):
        per_document = self.filtered(
            lambda move: move.company_id.period_sync_mode in ("document", False)
        )
        return super(AccountMove, per_document)._exact_enqueue()
