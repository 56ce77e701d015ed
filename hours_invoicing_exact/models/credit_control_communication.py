# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from markupsafe import Markup, escape

from odoo import _, models
from odoo.tools.misc import format_amount

_logger = logging.getLogger(__name__)

INVOICE_REPORT = "account.account_invoices"


class CreditControlCommunication(models.Model):
    """One reminder per customer (and level): the e-mail carries the invoice PDFs, an optional
    text message goes out through Odoo's ``sms`` module, and every invoice listed gets a note
    in its chatter."""

    _inherit = "credit.control.communication"

    def _send_communications_by_email(self):
        for comm in self:
            level = comm.policy_level_id
            attachments = comm._hie_invoice_attachments() if level.hie_attach_invoices else []
            comm.message_post_with_source(
                level.email_template_id,
                subtype_id=self.env["ir.model.data"]._xmlid_to_res_id(
                    "account_credit_control.mt_request"),
                attachment_ids=[attachment.id for attachment in attachments],
            )
            if level.hie_send_sms:
                comm._hie_send_sms()
            comm._hie_log_on_invoices(_("e-mail"))

    def _hie_invoices(self):
        self.ensure_one()
        return self.credit_control_line_ids.invoice_id

    def _hie_invoice_attachments(self):
        """The PDF of each invoice: the one Odoo stored when it was sent, else printed now."""
        self.ensure_one()
        attachments = []
        Report = self.env["ir.actions.report"].sudo()
        for invoice in self._hie_invoices():
            stored = invoice.sudo().invoice_pdf_report_id
            if stored:
                attachments.append(stored.copy({"res_model": self._name, "res_id": self.id}))
                continue
            content, _kind = Report._render_qweb_pdf(INVOICE_REPORT, res_ids=invoice.ids)
            attachments.append(self.env["ir.attachment"].create({
                "name": f"{invoice._get_invoice_report_filename()}",
                "raw": content,
                "mimetype": "application/pdf",
                "res_model": self._name,
                "res_id": self.id,
            }))
        return attachments

    def _hie_collection_costs_html(self):
        """The statutory collection costs paragraph of the level, in the customer's language
        (used by the reminder e-mail template)."""
        self.ensure_one()
        level = self.policy_level_id.with_context(lang=self._hie_lang())
        if not level.hie_collection_costs:
            return Markup("")
        text = level.hie_collection_costs_text or level._hie_default_collection_costs_text()
        return Markup("<p>%s</p>") % escape(text)

    def _hie_lang(self):
        self.ensure_one()
        contact = self.get_emailing_contact() or self.partner_id
        return contact.lang or self.partner_id.lang or "en_US"

    def _hie_sms_contact(self):
        """The partner and number to text: the reminder contact's mobile, else its phone,
        else the customer's."""
        self.ensure_one()
        for partner in (self.contact_address_id, self.partner_id,
                        self.partner_id.commercial_partner_id):
            number = partner.mobile or partner.phone
            if partner and number:
                return partner, number
        return self.env["res.partner"], False

    def _hie_sms_text(self):
        self.ensure_one()
        level = self.policy_level_id.with_context(lang=self._hie_lang())
        invoices = self._hie_invoices()
        amount = sum(self.credit_control_line_ids.mapped("balance_due"))
        return (level.hie_sms_body or level._hie_default_sms_body()).format(
            company=self.company_id.name,
            count=len(invoices),
            amount=format_amount(self.with_context(lang=self._hie_lang()).env, amount,
                                 self.currency_id),
        )

    def _hie_send_sms(self):
        """Text the customer through Odoo's SMS service (``sms`` module); without a number,
        say so in the reminder's chatter."""
        self.ensure_one()
        partner, number = self._hie_sms_contact()
        if not number:
            self.message_post(body=_("No text message sent: %s has no mobile or phone number.",
                                     self.partner_id.display_name))
            return False
        self._message_sms(self._hie_sms_text(), partner_ids=partner.ids,
                          sms_pid_to_number={partner.id: number})
        self._hie_log_on_invoices(_("text message"))
        return True

    def _hie_log_on_invoices(self, channel):
        """A note in the chatter of every invoice of the reminder."""
        self.ensure_one()
        invoices = self._hie_invoices()
        body = Markup(_(
            "Payment reminder <b>%(level)s</b> sent to %(partner)s by %(channel)s "
            "(%(count)s overdue invoice(s))."
        )) % {
            "level": self.policy_level_id.name,
            "partner": self.partner_id.display_name,
            "channel": channel,
            "count": len(invoices),
        }
        invoices._message_log_batch(bodies={invoice.id: body for invoice in invoices})
