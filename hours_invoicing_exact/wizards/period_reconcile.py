# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_date

from ..services import journal

MANAGER_GROUP = "account.group_account_manager"


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
                       default=fields.Date.context_today,
                       help="Any day of the period to reconcile.")
    date_from = fields.Date(compute="_compute_period", store=True)
    date_to = fields.Date(compute="_compute_period", store=True)
    line_ids = fields.One2many("accounting.period.reconcile.line", "wizard_id", readonly=True)
    computed = fields.Boolean(string="Compared", readonly=True,
                              help="The figures of the period were compared.")
    exact_checked = fields.Boolean(readonly=True)
    agrees = fields.Boolean(compute="_compute_agrees")
    sale_lock_date = fields.Date(related="company_id.sale_lock_date")
    currency_id = fields.Many2one(related="company_id.currency_id")

    @api.depends("period_kind", "date")
    def _compute_period(self):
        for wizard in self:
            if wizard.period_kind and wizard.date:
                period = journal.Period.containing(wizard.period_kind, wizard.date)
                wizard.date_from, wizard.date_to = period.start, period.end
            else:
                wizard.date_from = wizard.date_to = False

    @api.depends("computed", "line_ids.difference", "line_ids.vat_difference",
                 "line_ids.exact_difference")
    def _compute_agrees(self):
        for wizard in self:
            wizard.agrees = wizard.computed and not any(
                line.difference or line.vat_difference or line.exact_difference
                for line in wizard.line_ids
            )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        wizards._compute_lines()
        return wizards

    def write(self, vals):
        """Another period chosen: the figures of the former one no longer apply."""
        if {"company_id", "period_kind", "date"} & set(vals):
            vals = dict(vals, computed=False, exact_checked=False,
                        line_ids=[fields.Command.clear()])
        return super().write(vals)

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
                key = (int(line.gl_account.split(":")[0]), line.vat_code or "")
                figures[key][0] += float(line.amount)
                figures[key][1] += float(line.vat_amount or 0)
            active = Entry._active_entries(company, period.kind, period.start, period.start)
            for key, (amount, vat) in Entry._sent_totals(active, period.kind).get(
                    period.start, {}).items():
                figures[(int(key.gl_account.split(":")[0]), key.vat_code)][2] += float(amount)
                figures[(int(key.gl_account.split(":")[0]), key.vat_code)][3] += float(vat)
            wizard.write({
                "computed": True,
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

    def action_compute(self):
        """(Re)compare Odoo and what was sent for the period chosen."""
        self.ensure_one()
        self._compute_lines()
        return self._action_open()

    def action_verify_with_exact(self):
        """Read the entries sent for the period back from the accounting package (Exact
        Online or Twinfield: ``_remote_totals_<target>``) and fill its totals."""
        self.ensure_one()
        if not self.computed:
            self._compute_lines()
        Entry = self.env["accounting.period.entry"]
        entries = Entry._active_entries(
            self.company_id, self.period_kind, self.date_from, self.date_from
        ).filtered(lambda e: e.outbox_id.remote_id)
        connection = self.env["accounting.connection"]._get_for_company(self.company_id)
        totals = getattr(self, f"_remote_totals_{connection.target}")(connection, entries)
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

    def _remote_adapter(self, connection):
        """The outbox adapter of the connection's memorial entries (it reads them back)."""
        return self.env["accounting.outbox"].new({
            "kind": "general_journal_entry", "connection_id": connection.id,
        })._get_adapter()

    def _remote_totals_exact(self, connection, entries):
        """``{(account id, VAT code): [amount, VAT]}`` of ``entries`` as Exact holds them.

        Exact stores a base line per (G/L account, VAT code) with its VAT in ``AmountVATFC``,
        and generates a VAT line of its own on the VAT code's G/L account (its ``GLToPay``).
        Those generated lines are not counted again on a line of their own: per VAT code their
        total must equal the VAT of the code's base lines, else the difference shows on a line
        of the code without account."""
        adapter = self._remote_adapter(connection)
        remote = adapter.read_lines(entries.mapped("exact_entry_id")) if entries else []
        vat_accounts = adapter.client.vat_gl_accounts() if remote else {}
        accounts = self.line_ids.account_id | entries.line_ids.account_id
        by_guid = {connection._get_gl_guid(a): a.id for a in accounts.with_company(
            self.company_id)}
        totals = defaultdict(lambda: [0.0, 0.0])
        generated, base_vat = defaultdict(float), defaultdict(float)
        for row in remote:
            code = (row.get("VATCode") or "").strip()
            guid = (row.get("GLAccount") or "").lower()
            if code and guid in vat_accounts.get(code, ()):
                generated[code] += row["AmountFC"] or 0.0  # Exact's own VAT line
                continue
            key = (by_guid.get(row["GLAccount"]), code)
            totals[key][0] += row["AmountFC"] or 0.0
            totals[key][1] += row.get("AmountVATFC") or 0.0
            if code:
                base_vat[code] += row.get("AmountVATFC") or 0.0
        rounding = self.currency_id.round
        for code in set(generated) | set(base_vat):
            missing = rounding(base_vat[code] - generated[code])
            if missing:  # VAT of the base lines that Exact did not book on a VAT account
                totals[(False, code)][1] -= missing
        return totals

    def _remote_totals_twinfield(self, connection, entries):
        """``{(account id, VAT code): [amount, VAT]}`` of ``entries`` as Twinfield holds them
        (browse code 100 on their invoice numbers: the ``MEMO`` adapter's ``read_lines``).

        Twinfield books the VAT of a memorial entry on VAT lines of its own, one per VAT
        code, not on the base lines: per code, the base lines are given the VAT that was
        sent for them, and what Twinfield booked beyond (or short of) that shows on a line of
        the code without account."""
        adapter = self._remote_adapter(connection)
        remote = adapter.read_lines(entries.mapped("reference")) if entries else []
        accounts = self.line_ids.account_id | entries.line_ids.account_id
        by_code = {connection._get_period_gl(a): a.id for a in accounts.with_company(
            self.company_id)}
        totals = defaultdict(lambda: [0.0, 0.0])
        booked_vat = defaultdict(float)
        for row in remote:
            code = (row["vat_code"] or "").strip()
            if row["type"] == "vat":
                booked_vat[code] += float(row["amount"])
                continue
            totals[(by_code.get(row["gl_account"]), code)][0] += float(row["amount"])
        sent_vat = defaultdict(float)
        for line in self.line_ids:
            code = (line.vat_code or "").strip()
            if code and (line.account_id.id, code) in totals:
                totals[(line.account_id.id, code)][1] += line.sent_vat
                sent_vat[code] += line.sent_vat
        rounding = self.currency_id.round
        for code in set(booked_vat) | set(sent_vat):
            beyond = rounding(booked_vat[code] - sent_vat[code])
            if beyond:
                totals[(False, code)][1] += beyond
        return totals

    def action_close_period(self):
        """Close the reconciled period in Odoo: the sales lock date moves to its end, so no
        sales document of the period can be posted, changed or reset any more."""
        self.ensure_one()
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only accounting managers may close a period."))
        if self.exact_checked:  # compare afresh: something may have changed since
            self._compute_lines()
            self.action_verify_with_exact()
        if not self.exact_checked or not self.agrees:
            raise UserError(_(
                "%(start)s - %(end)s cannot be closed: Odoo, what was sent and what Exact Online "
                "holds must agree first. Click Verify with Exact; send the corrections of the "
                "lines that differ and verify again.",
                start=format_date(self.env, self.date_from),
                end=format_date(self.env, self.date_to)))
        pending = self.env["accounting.period.entry"].search_count([
            ("company_id", "=", self.company_id.id), ("date_from", "<=", self.date_to),
            ("date_to", ">=", self.date_from), ("state", "in", ("to_send", "error")),
        ])
        if pending:
            raise UserError(_("A memorial entry of this period is still waiting for Exact "
                              "Online or in error; send it first."))
        company = self.company_id
        if company.sale_lock_date and company.sale_lock_date >= self.date_to:
            raise UserError(_("Sales are already locked up to %s.",
                              format_date(self.env, company.sale_lock_date)))
        company.sudo().sale_lock_date = self.date_to
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
