# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResCompany(models.Model):
    """Company settings of the invoicing of hours."""

    _inherit = "res.company"

    hie_credit_releases_hours = fields.Boolean(
        string="Credited Hours Become Billable Again",
        help="When an hours invoice is fully credited, its booking lines become billable "
        "again. Off: they stay billed (written off).",
    )
    hie_auto_post_invoices = fields.Boolean(
        string="Post Automatic Invoices",
        help="Post the invoices that the scheduled invoicing creates.",
    )
    hie_auto_send_invoices = fields.Boolean(
        string="E-mail Automatic Invoices",
        help="E-mail the posted automatic invoices to the invoice debtor (Odoo's standard "
        "sending).",
    )
