# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class AccountMoveLine(models.Model):
    """The tax of a base line as a column of the journal item itself.

    A memorial entry sums a period's items per GL account and VAT code. Odoo keeps the taxes
    of a base line only in a many2many table; joining it for every item of a month cost more
    than the aggregation itself. These two columns are computed when the line is created (in
    the same INSERT: ``tax_ids`` is precomputed too) and filled in bulk at install, so the
    period query is one scan of ``account_move_line``.
    """

    _inherit = "account.move.line"

    hie_base_tax_id = fields.Many2one(
        comodel_name="account.tax",
        string="Base Tax (memorial entry)",
        compute="_compute_hie_base_tax",
        store=True,
        precompute=True,
        readonly=True,
        copy=False,
        help="The tax computed on this base line (the lowest one when it has several); "
        "empty on VAT lines and on lines without tax.",
    )
    hie_base_tax_count = fields.Integer(
        string="Taxes on the Base Line",
        compute="_compute_hie_base_tax",
        store=True,
        precompute=True,
        readonly=True,
        copy=False,
    )

    @api.depends("tax_ids", "tax_line_id")
    def _compute_hie_base_tax(self):
        for line in self:
            taxes = line.tax_ids if not line.tax_line_id else line.tax_ids.browse()
            line.hie_base_tax_id = min(taxes.ids) if taxes else False
            line.hie_base_tax_count = len(taxes)
