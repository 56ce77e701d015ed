# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    period_sync_mode = fields.Selection(related="company_id.period_sync_mode", readonly=False)
    period_sync_journal_ids = fields.Many2many(
        related="company_id.period_sync_journal_ids", readonly=False
    )
    period_exact_journal_code = fields.Char(
        related="company_id.period_exact_journal_code", readonly=False
    )
    period_vat_mode = fields.Selection(related="company_id.period_vat_mode", readonly=False)
    period_sync_hour = fields.Integer(related="company_id.period_sync_hour", readonly=False)
    period_grace_days = fields.Integer(related="company_id.period_grace_days", readonly=False)
    period_closed_policy = fields.Selection(
        related="company_id.period_closed_policy", readonly=False
    )
