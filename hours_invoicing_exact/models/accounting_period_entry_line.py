# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AccountingPeriodEntryLine(models.Model):
    """One line of a memorial entry: a (GL account, VAT code, relation) total."""

    _name = "accounting.period.entry.line"
    _description = "Memorial entry line"
    _order = "entry_id, sequence, id"

    entry_id = fields.Many2one(
        "accounting.period.entry", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer()
    company_id = fields.Many2one(related="entry_id.company_id", store=True)
    currency_id = fields.Many2one(related="entry_id.currency_id")
    account_id = fields.Many2one("account.account", string="Account", required=True)
    vat_code = fields.Char(string="VAT code")
    partner_id = fields.Many2one("res.partner", string="Relation")
    analytic_id = fields.Many2one(
        "account.analytic.account", string="Cost Centre Account",
        help="Twinfield: the analytic account whose cost centre (KPL) the line carries.")
    amount = fields.Monetary(help="Positive = debit, negative = credit.")
    vat_amount = fields.Monetary(string="VAT", help="VAT Exact books on this line (Odoo's).")
    description = fields.Char()
