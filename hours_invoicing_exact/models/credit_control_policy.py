# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import Command, _, api, models


class CreditControlPolicy(models.Model):
    """Reminders only for invoices that are still open: in the accounting package when the
    company syncs its invoices there (payments are booked there, so Odoo's invoice never
    looks paid), else in Odoo; never for a partner excluded from reminders."""

    _inherit = "credit.control.policy"

    def _get_move_lines_to_process(self, credit_control_run):
        lines = super()._get_move_lines_to_process(credit_control_run)
        return self._hie_filter_open_lines(lines)

    def _hie_filter_open_lines(self, lines):
        """Drop the lines of excluded partners and of invoices no longer open."""
        lines = lines.filtered(
            lambda line: not line.partner_id.commercial_partner_id.hie_no_payment_reminders)
        moves = lines.move_id
        open_moves = moves._hie_is_open_for_reminders()
        return lines.filtered(lambda line: line.move_id in open_moves)

    # -- the standard Dutch reminder levels ----------------------------------------------------

    @api.model
    def _hie_standard_levels(self):
        """Level number, days after the due date, extra values: a friendly reminder at 7 days,
        a second at 21, a final notice at 35 with the statutory collection costs."""
        return [
            (1, 7, {"hie_attach_invoices": True}),
            (2, 21, {"hie_attach_invoices": True}),
            (3, 35, {"hie_attach_invoices": True, "hie_collection_costs": True}),
        ]

    @api.model
    def _hie_level_texts(self, number):
        """(name, e-mail text) of a standard level in the language of the context."""
        return {
            1: (_("Friendly reminder"), _(
                "According to our records we have not yet received payment of the invoices "
                "below. Perhaps this has slipped your attention; please pay them within 7 "
                "days. If you have already paid, please disregard this reminder.")),
            2: (_("Second reminder"), _(
                "Despite our earlier reminder we have not yet received payment of the "
                "invoices below. Please pay them within 7 days.")),
            3: (_("Final notice"), _(
                "Despite our reminders we have still not received payment of the invoices "
                "below. This is our final notice before we hand the claim over for "
                "collection.")),
        }[number]

    @api.model
    def _hie_create_standard_policy(self, company=None):
        """Create the standard reminder policy of ``company`` (levels 7/21/35 days after the
        due date, e-mail with the invoice PDFs, collection costs on the final notice), with
        its texts in every active language, and make it the company's policy."""
        company = company or self.env.company
        receivable = self.env["res.partner"].with_company(company).new(
            {}).property_account_receivable_id
        template = self.env.ref("hours_invoicing_exact.mail_template_payment_reminder")
        langs = [code for code, _name in self.env["res.lang"].get_installed()]
        base = self.with_context(lang="en_US")
        levels = []
        for number, days, extra in base._hie_standard_levels():
            name, text = base._hie_level_texts(number)
            levels.append(Command.create({
                "name": name, "level": number, "computation_mode": "net_days",
                "delay_days": days, "channel": "email", "email_template_id": template.id,
                "custom_text": text, "custom_mail_text": Markup("<p>%s</p>") % text,
                "mail_show_invoice_detail": True, **extra,
            }))
        policy = base.create({
            "name": _("Payment reminders"), "company_id": company.id,
            "account_ids": [Command.set(receivable.ids)], "apply_max_policy_level": True,
            "level_ids": levels,
        })
        for lang in langs:
            if lang == "en_US":
                continue
            translated = self.with_context(lang=lang)
            for level in policy.level_ids.with_context(lang=lang):
                name, text = translated._hie_level_texts(level.level)
                level.write({"name": name, "custom_text": text,
                             "custom_mail_text": Markup("<p>%s</p>") % text})
        company.credit_policy_id = policy
        return policy

    def action_hie_create_standard_policy(self):
        """List button: create the standard reminder levels of the current company."""
        policy = self._hie_create_standard_policy()
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": policy.id,
            "view_mode": "form", "target": "current",
        }
