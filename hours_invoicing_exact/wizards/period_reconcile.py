# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import journal


class PeriodReconcile(models.TransientModel):
    """Per period and GL account: Odoo's total, the total sent to Exact, the difference."""

    _name = "accounting.period.reconcile"
    _description = "Memorial entry reconciliation"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    period_kind = fields.Selection([("day", "Day"), ("month", "Month")], required=True,
                                   default="month")
    date = fields.Date(string="Period containing", required=True,
                       default=fields.Date.context_today)
    date_from = fields.Date(readonly=True)
    date_to = fields.Date(readonly=True)
    line_ids = fields.One2many("accounting.period.reconcile.line", "wizard_id", readonly=True)
    exact_checked = fields.Boolean(readonly=True)
    agrees = fields.Boolean(compute="_compute_agrees")
    currency_id = fields.Many2one(related="company_id.currency_id")

    @api.depends("line_ids.difference", "line_ids.vat_difference", "line_ids.exact_difference")
    def _compute_agrees(self):
        for wizard in self:
            wizard.agrees = not any(
                line.difference or line.vat_difference or line.exact_difference
                for line in wizard.line_ids
            )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        wizards._compute_lines()
        return wizards

    def _compute_lines(self):
        Entry = self.env["accounting.period.entry"]
        for wizard in self:
            company = wizard.company_id
            period = journal.Period.containing(wizard.period_kind, wizard.date)
            connection = self.env["accounting.connection"]._get_for_company(company)
            rows = Entry._period_rows(company, period.kind, period.start, period.end)
            build = Entry._build_period(company, connection, period, rows.get(period.start, []))
            if build.error:
                raise UserError(build.error)
            figures = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
            for line in build.entry.lines:
                key = (int(line.gl_account), line.vat_code or "")
                figures[key][0] += float(line.amount)
                figures[key][1] += float(line.vat_amount or 0)
            active = Entry._active_entries(company, period.kind, period.start, period.start)
            for key, (amount, vat) in Entry._sent_totals(active).get(period.start, {}).items():
                figures[(int(key.gl_account), key.vat_code)][2] += float(amount)
                figures[(int(key.gl_account), key.vat_code)][3] += float(vat)
            wizard.write({
                "date_from": period.start,
                "date_to": period.end,
                "exact_checked": False,
                "line_ids": [fields.Command.clear()] + [
                    fields.Command.create({
                        "account_id": account_id, "vat_code": code,
                        "odoo_amount": values[0], "odoo_vat": values[1],
                        "sent_amount": values[2], "sent_vat": values[3],
                    })
                    for (account_id, code), values in sorted(figures.items())
                ],
            })

    def action_verify_with_exact(self):
        """Read the entries sent for the period back from Exact and fill its totals."""
        self.ensure_one()
        Entry = self.env["accounting.period.entry"]
        entries = Entry._active_entries(
            self.company_id, self.period_kind, self.date_from, self.date_from
        ).filtered(lambda e: e.exact_entry_id)
        connection = self.env["accounting.connection"]._get_for_company(self.company_id)
        adapter = self.env["accounting.outbox"].new({
            "kind": "general_journal_entry", "connection_id": connection.id,
        })._get_adapter()
        remote = adapter.read_lines(entries.mapped("exact_entry_id")) if entries else []
        accounts = self.line_ids.account_id | entries.line_ids.account_id
        by_guid = {connection._get_gl_guid(a): a.id for a in accounts.with_company(
            self.company_id)}
        totals = defaultdict(lambda: [0.0, 0.0])
        for row in remote:
            key = (by_guid.get(row["GLAccount"]), (row.get("VATCode") or "").strip())
            totals[key][0] += row["AmountFC"] or 0.0
            totals[key][1] += row.get("AmountVATFC") or 0.0
        for line in self.line_ids:
            amount, vat = totals.pop((line.account_id.id, (line.vat_code or "").strip()),
                                     (0.0, 0.0))
            line.write({"exact_amount": amount, "exact_vat": vat})
        for (account_id, code), (amount, vat) in totals.items():
            self.line_ids = [fields.Command.create({
                "account_id": account_id, "vat_code": code,
                "exact_amount": amount, "exact_vat": vat,
            })]
        self.exact_checked = True
        return self._action_open()

    def _action_open(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Reconciliation"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }


class PeriodReconcileLine(models.TransientModel):
    _name = "accounting.period.reconcile.line"
    _description = "Memorial entry reconciliation line"
    _order = "account_id, vat_code"

    wizard_id = fields.Many2one("accounting.period.reconcile", required=True,
                                ondelete="cascade")
    currency_id = fields.Many2one(related="wizard_id.currency_id")
    account_id = fields.Many2one("account.account")
    vat_code = fields.Char()
    odoo_amount = fields.Monetary(string="Odoo")
    odoo_vat = fields.Monetary(string="Odoo VAT")
    sent_amount = fields.Monetary(string="Sent")
    sent_vat = fields.Monetary(string="Sent VAT")
    difference = fields.Monetary(compute="_compute_difference")
    vat_difference = fields.Monetary(compute="_compute_difference")
    exact_amount = fields.Monetary(string="In Exact")
    exact_vat = fields.Monetary(string="In Exact VAT")
    exact_difference = fields.Monetary(compute="_compute_difference")

    @api.depends("odoo_amount", "odoo_vat", "sent_amount", "sent_vat", "exact_amount",
                 "exact_vat", "wizard_id.exact_checked")
    def _compute_difference(self):
        for line in self:
            rnd = line.currency_id.round if line.currency_id else (lambda v: round(v, 2))
            line.difference = rnd(line.odoo_amount - line.sent_amount)
            line.vat_difference = rnd(line.odoo_vat - line.sent_vat)
            line.exact_difference = rnd(
                (line.sent_amount + line.sent_vat) - (line.exact_amount + line.exact_vat)
            ) if line.wizard_id.exact_checked else 0.0
