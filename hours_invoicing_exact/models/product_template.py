# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    hours_kind = fields.Selection(
        selection=[("direct", "Direct"), ("indirect", "Indirect")],
        string="Hours Are",
        default="direct",
        help="Whether hours booked on this activity are direct (billable work for a customer) "
        "or indirect (training, sales, overhead) by default.",
    )
