# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    rate_agreement_ids = fields.One2many(
        comodel_name="project.rate.agreement",
        inverse_name="partner_id",
        string="Rate Agreements",
    )
    hie_no_payment_reminders = fields.Boolean(
        string="No Payment Reminders",
        help="Never send payment reminders to this customer (set on the company).",
    )
