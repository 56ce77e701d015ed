# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import journal


class PeriodEntryPreview(models.TransientModel):
    """Preview of the memorial entry of a period: lines, totals, mappings, what is missing."""

    _name = "accounting.period.entry.preview"
    _description = "Memorial entry preview"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    period_kind = fields.Selection(
        [("day", "Day"), ("month", "Month")], required=True,
        default=lambda self: "day" if self.env.company.hie_period_sync_mode == "day" else "month",
    )
    date = fields.Date(
        string="Period containing", required=True, default=fields.Date.context_today
    )
    date_from = fields.Date(compute="_compute_preview")
    date_to = fields.Date(compute="_compute_preview")
    preview_html = fields.Html(compute="_compute_preview", sanitize=False)
    line_count = fields.Integer(compute="_compute_preview")
    balance = fields.Monetary(compute="_compute_preview")
    currency_id = fields.Many2one(related="company_id.currency_id")
    can_send = fields.Boolean(compute="_compute_preview")
    problems = fields.Text(compute="_compute_preview")

    def _period(self):
        return journal.Period.containing(self.period_kind, self.date)

    def _build(self):
        Entry = self.env["accounting.period.entry"]
        company = self.company_id
        connection = self.env["accounting.connection"]._get_for_company(company)
        if not connection:
            raise UserError(_("Company %s has no Exact Online connection.", company.name))
        period = self._period()
        rows = Entry._period_rows(company, period.kind, period.start, period.end)
        build = Entry._build_period(company, connection, period, rows.get(period.start, []))
        active = Entry._active_entries(company, period.kind, period.start, period.start)
        sent = Entry._sent_totals(active, period.kind).get(period.start)
        return build, sent

    @api.depends("company_id", "period_kind", "date")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview_html = wizard.problems = False
            wizard.line_count = wizard.balance = 0
            wizard.can_send = False
            if not (wizard.company_id and wizard.period_kind and wizard.date):
                wizard.date_from = wizard.date_to = False
                continue
            period = wizard._period()
            wizard.date_from, wizard.date_to = period.start, period.end
            try:
                build, sent = wizard._build()
            except UserError as exc:
                wizard.problems = str(exc.args[0])
                continue
            problems = [p for p in [build.error, *build.missing] if p]
            wizard.problems = "\n".join(problems) or False
            wizard.preview_html = wizard._render(build, sent)
            if build.entry:
                wizard.line_count = len(build.entry.lines)
                wizard.balance = float(build.entry.balance)
            wizard.can_send = bool(
                build.entry and build.entry.lines and not problems
                and wizard.company_id.hie_period_sync_mode == "manual"
            )

    def _render(self, build, sent):
        names = {
            str(a.id): a.display_name
            for a in self.env["account.account"].browse(
                {int(k.split(":")[0]) for k in build.gl_guids}
            ).with_company(self.company_id)
        }
        for key, cost_centre in build.cost_centres.items():  # "account:analytic account"
            names[key] = f"{names.get(key.split(':')[0], key)} / {cost_centre['cost_centre']}"
        partners = {
            str(p.id): p.display_name
            for p in self.env["res.partner"].browse({int(k) for k in build.relation_guids})
        }
        rows = []
        if build.entry:
            for line in build.entry.lines:
                rows.append(Markup(
                    "<tr><td>%s</td><td>%s</td><td>%s</td>"
                    "<td class='text-end'>%s</td><td class='text-end'>%s</td></tr>"
                ) % (
                    names.get(line.gl_account, line.gl_account), line.vat_code,
                    partners.get(line.relation, ""), line.amount, line.vat_amount or "",
                ))
        mappings = [
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>") % m for m in build.mappings
        ]
        entry = build.entry
        summary = Markup(
            "<p class='o_period_preview_summary'>%s</p>"
        ) % _(
            "Period %(period)s: %(items)s journal items, %(lines)s lines, VAT %(vat)s, "
            "balance %(balance)s.%(sent)s",
            period=build.period.label, items=build.item_count,
            lines=len(entry.lines) if entry else 0,
            vat=entry.vat_total if entry else 0, balance=entry.balance if entry else "-",
            sent=(" " + _("Already sent: a correction with the differences would be sent."))
            if sent else "",
        )
        return (
            summary
            + Markup("<table class='table table-sm o_period_preview_lines'><thead><tr>"
                     "<th>%s</th><th>%s</th><th>%s</th><th class='text-end'>%s</th>"
                     "<th class='text-end'>%s</th></tr></thead><tbody>")
            % (_("Account"), _("VAT code"), _("Relation"), _("Amount"), _("VAT"))
            + Markup("").join(rows)
            + Markup("</tbody></table><h5>%s</h5><table class='table table-sm'><tbody>")
            % _("Mappings used")
            + Markup("").join(mappings)
            + Markup("</tbody></table>")
            + (Markup("<h5>%s</h5><ul>%s</ul>") % (
                _("Missing"),
                Markup("").join(Markup("<li>%s</li>") % escape(m) for m in build.missing),
            ) if build.missing else Markup(""))
        )

    def action_send(self):
        self.ensure_one()
        self.env["accounting.period.entry"].check_access("create")
        if self.company_id.hie_period_sync_mode != "manual":
            raise UserError(_("Entries are sent from the preview in manual mode only."))
        if self.problems:
            raise UserError(self.problems)
        entries = self.env["accounting.period.entry"]._sync_periods(
            self.company_id, [self._period()]
        )
        if not entries:
            raise UserError(_("Nothing to send: the accounting package already has this "
                              "period's movements."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "accounting.period.entry",
            "view_mode": "form",
            "res_id": entries[:1].id,
            "target": "current",
        }
