# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    """Settings of the invoicing of hours."""

    _inherit = "res.config.settings"

    hie_credit_releases_hours = fields.Boolean(
        related="company_id.hie_credit_releases_hours", readonly=False,
    )
    hie_auto_post_invoices = fields.Boolean(
        related="company_id.hie_auto_post_invoices", readonly=False,
    )
    hie_auto_send_invoices = fields.Boolean(
        related="company_id.hie_auto_send_invoices", readonly=False,
    )
