# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class AccountingReference(models.Model):
    """Reference data of the accounting package, cached so that mappings are checked
    locally before any call: G/L accounts, VAT codes, journals, divisions, offices and
    (Twinfield) cost centres."""

    _name = "accounting.reference"
    _description = "Accounting Package Reference Data"
    _order = "kind, code"

    connection_id = fields.Many2one(
        "accounting.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True, index=True)
    kind = fields.Selection(
        [
            ("gl_account", "G/L account"),
            ("vat_code", "VAT code"),
            ("journal", "Journal"),
            ("division", "Division"),
            ("office", "Office"),
            ("cost_centre", "Cost centre"),
        ],
        required=True,
    )
    remote_id = fields.Char(string="Remote ID", required=True)
    code = fields.Char(required=True)
    name = fields.Char()
    balance_type = fields.Char(help="W = profit and loss, B = balance sheet.")
    journal_type = fields.Integer(help="Exact journal type, 20 = sales.")
    percentage = fields.Float(digits=(16, 4))
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("remote_uniq", "unique(connection_id, kind, remote_id)", "Reference data is unique."),
    ]

    @api.depends("code", "name")
    def _compute_display_name(self):
        for ref in self:
            ref.display_name = f"{ref.code} {ref.name or ''}".strip()
