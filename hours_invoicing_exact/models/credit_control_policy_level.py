# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models


class CreditControlPolicyLevel(models.Model):
    """Per reminder level: the invoice PDFs attached, an optional text message through
    Odoo's ``sms`` module, and an optional paragraph on statutory collection costs."""

    _inherit = "credit.control.policy.level"

    hie_attach_invoices = fields.Boolean(
        string="Attach Invoice PDFs", default=True,
        help="Attach the PDF of every overdue invoice listed in the reminder e-mail.")
    hie_send_sms = fields.Boolean(
        string="Also Send a Text Message",
        help="Send a short text message through Odoo's SMS service to the customer's mobile "
        "number (or phone number) as well as the e-mail.")
    hie_sms_body = fields.Text(
        string="Text Message", translate=True,
        help="Sent in the customer's language. {amount}, {count} and {company} are replaced. "
        "Empty: a standard text.")
    hie_collection_costs = fields.Boolean(
        string="Mention Statutory Collection Costs",
        help="Add the paragraph below to the reminder, e.g. on the final notice to a business "
        "customer.")
    hie_collection_costs_text = fields.Text(
        string="Collection Costs Text", translate=True,
        help="In the customer's language. Empty: a standard text on the Dutch statutory "
        "collection costs for businesses.")

    def _hie_default_sms_body(self):
        return _("Reminder from {company}: {count} invoice(s) totalling {amount} are overdue. "
                 "Please see our e-mail.")

    def _hie_default_collection_costs_text(self):
        return _(
            "If we have not received the amount due within 14 days, we will charge the "
            "statutory compensation for collection costs (article 6:96 of the Dutch Civil "
            "Code; for businesses at least EUR 40) and the statutory commercial interest "
            "(article 6:119a of the Dutch Civil Code)."
        )
