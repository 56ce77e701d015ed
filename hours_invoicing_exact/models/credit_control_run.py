# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from markupsafe import Markup

from odoo import _, fields, models
from odoo.tools.misc import format_amount, format_date


class CreditControlRun(models.Model):
    """The run computes draft lines first: nothing is sent until they are set to ready and
    the channel action runs. The preview shows who would get what from those draft lines."""

    _inherit = "credit.control.run"

    hie_preview = fields.Html(
        string="Preview", compute="_compute_hie_preview", sanitize=False,
        help="Who would get which reminder, for which invoices, by which channel.")

    def _hie_preview_rows(self):
        """``[{"partner", "level", "channels", "invoices": [lines], "amount"}]`` of the draft
        and ready lines, one row per customer and level (one reminder each)."""
        self.ensure_one()
        groups = defaultdict(lambda: self.env["credit.control.line"])
        lines = self.line_ids.filtered(lambda line: line.state in ("draft", "to_be_sent"))
        for line in lines:
            groups[(line.partner_id, line.policy_level_id, line.currency_id)] |= line
        rows = []
        for (partner, level, currency), group in sorted(
                groups.items(), key=lambda item: (item[0][0].display_name, item[0][1].level)):
            channels = sorted(set(group.mapped("channel")))
            if level.hie_send_sms:
                channels.append("sms")
            rows.append({"partner": partner, "level": level, "currency": currency,
                         "channels": channels, "lines": group,
                         "amount": sum(group.mapped("balance_due"))})
        return rows

    def _compute_hie_preview(self):
        channel_names = dict(self.env["credit.control.line"]._fields["channel"]
                             ._description_selection(self.env))
        channel_names["sms"] = _("Text message")
        for run in self:
            rows = run._hie_preview_rows() if run.id else []
            if not rows:
                run.hie_preview = False
                continue
            html = Markup(
                "<table class='table table-sm'><thead><tr><th>%s</th><th>%s</th><th>%s</th>"
                "<th>%s</th><th class='text-end'>%s</th></tr></thead><tbody>"
            ) % (_("Customer"), _("Level"), _("Channel"), _("Invoices"), _("Open"))
            for row in rows:
                invoices = Markup("<br/>").join(
                    Markup("%s (%s %s)") % (line.invoice_id.name or line.move_line_id.name,
                                            _("due"), format_date(self.env, line.date_due))
                    for line in row["lines"])
                html += Markup(
                    "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td class='text-end'>%s</td></tr>"
                ) % (row["partner"].display_name, row["level"].name,
                     ", ".join(channel_names.get(c, c) for c in row["channels"]), invoices,
                     format_amount(self.env, row["amount"], row["currency"]))
            run.hie_preview = html + Markup("</tbody></table>")
