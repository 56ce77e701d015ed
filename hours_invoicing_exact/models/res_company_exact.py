# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResCompany(models.Model):
    """The company's Exact Online connection, for the settings."""

    _inherit = "res.company"

    exact_connection_id = fields.Many2one(
        "accounting.connection", compute="_compute_exact_connection_id"
    )

    def _compute_exact_connection_id(self):
        connections = self.env["accounting.connection"].sudo().search(
            [("company_id", "in", self.ids), ("target", "=", "exact")]
        )
        for company in self:
            company.exact_connection_id = connections.filtered(
                lambda c, company=company: c.company_id == company
            )[:1]

    def _exact_ensure_connection(self):
        self.ensure_one()
        if not self.exact_connection_id:
            self.env["accounting.connection"].sudo().create({"company_id": self.id})
            self.invalidate_recordset(["exact_connection_id"])
        return self.exact_connection_id
