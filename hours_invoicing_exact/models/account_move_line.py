# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import Command, api, fields, models


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

    # ------------------------------------------------------------------
    # Memorial entries: the tax of a base line as a column of the journal item itself
    # ------------------------------------------------------------------
    # A memorial entry sums a period's items per GL account and VAT code. Odoo keeps the taxes
    # of a base line only in a many2many table; joining it for every item of a month cost more
    # than the aggregation itself. These two columns are computed when the line is created (in
    # the same INSERT: ``tax_ids`` is precomputed too) and filled in bulk at install, so the
    # period query is one scan of ``account_move_line``.
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

    def _hie_cost_centre_shares(self):
        """``[(analytic account id or False, share)]`` of the line's analytic distribution,
        the shares adding up to 1: the part without an analytic account goes as
        ``False``. Of a distribution key naming several accounts (one per analytic plan),
        the first account counts."""
        self.ensure_one()
        shares = []
        for key, percentage in (self.analytic_distribution or {}).items():
            ids = [int(part) for part in str(key).split(",") if part.strip().isdigit()]
            if ids and percentage:
                shares.append((ids[0], float(percentage) / 100.0))
        rest = 1.0 - sum(share for _id, share in shares)
        if rest > 1e-9 or not shares:
            shares.append((False, rest if shares else 1.0))
        return shares
