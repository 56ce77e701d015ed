# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_round, format_duration

from ..models.project_project import INVOICEABLE_STATUSES


class HieProjectInvoiceWizard(models.TransientModel):
    """Invoice time & material projects from their booking lines."""

    _name = "hie.project.invoice.wizard"
    _description = "Invoice Time & Material Projects"

    project_ids = fields.Many2many(
        comodel_name="project.project",
        string="Projects",
        domain="[('invoicing_type', '=', 'time_material')]",
        help="Leave empty with a customer to invoice all its time & material projects.",
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        help="Invoice the projects of this customer (as principal or as invoice debtor).",
    )
    booking_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        string="Booking Lines",
        help="When set, only these booking lines are invoiced.",
    )
    date_to = fields.Date(
        string="Up To",
        required=True,
        default=fields.Date.context_today,
        help="Booking lines up to and including this date are invoiced.",
    )
    grouping = fields.Selection(
        selection=[("project", "One invoice per project"),
                   ("debtor", "One invoice per invoice debtor")],
        required=True,
        default="project",
    )
    invoice_date = fields.Date(help="Leave empty to date the invoices when they are posted.")
    journal_id = fields.Many2one(
        comodel_name="account.journal",
        string="Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', company_id)]",
    )
    company_id = fields.Many2one(
        comodel_name="res.company", required=True, default=lambda self: self.env.company,
    )
    exclude_issue_lines = fields.Boolean(
        string="Leave Out Lines Without Rate, Tax or Activity",
        help="Invoice the other lines and leave the lines without a rate (revenue 0), without "
        "a sales tax or without an activity unbilled. Off: such lines stop the invoicing.",
    )
    line_count = fields.Integer(string="Lines To Invoice", compute="_compute_preview")
    hours = fields.Float(
        string="Hours To Invoice", compute="_compute_preview",
        help="Hours only; other costs (materials, subcontracting) are counted apart.",
    )
    cost_line_count = fields.Integer(string="Other Cost Lines", compute="_compute_preview")
    cost_summary = fields.Text(
        string="Other Costs To Invoice", compute="_compute_preview",
        help="Quantity and unit of the other costs to invoice, per product.",
    )
    amount = fields.Monetary(string="Amount To Invoice", compute="_compute_preview",
                             currency_field="currency_id")
    issue_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        string="Lines Without Rate, Tax or Activity",
        compute="_compute_preview",
    )
    issue_summary = fields.Text(string="Lines That Cannot Be Invoiced As They Are",
                                compute="_compute_preview")
    left_out_summary = fields.Text(string="Lines Left Out", compute="_compute_preview",
                                   help="Unbilled lines of these projects that are not "
                                   "invoiced, and why.")
    awaiting_count = fields.Integer(
        string="Lines Awaiting Approval", compute="_compute_preview",
        help="Hours that would be invoiced, but whose week is not approved yet: they are "
        "invoiced once approved.",
    )
    awaiting_hours = fields.Float(string="Hours Awaiting Approval", compute="_compute_preview")
    awaiting_amount = fields.Monetary(string="Value Awaiting Approval",
                                      compute="_compute_preview",
                                      currency_field="currency_id")
    currency_id = fields.Many2one(related="company_id.currency_id")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        ids = self.env.context.get("active_ids") or []
        if model == "project.project" and ids:
            res["project_ids"] = [Command.set(ids)]
        elif model == "res.partner" and ids:
            res["partner_id"] = ids[0]
        elif model == "account.analytic.line" and ids:
            lines = self.env["account.analytic.line"].browse(ids)
            res["booking_line_ids"] = [Command.set(ids)]
            res["project_ids"] = [Command.set(lines.booking_project_id.ids)]
            if lines:
                res["date_to"] = max(lines.mapped("date"))
            if len(lines.company_id) == 1:
                res["company_id"] = lines.company_id.id
        return res

    def _get_projects(self):
        self.ensure_one()
        if self.project_ids:
            return self.project_ids
        if self.partner_id:
            partner = self.partner_id.commercial_partner_id
            return self.env["project.project"].search([
                ("invoicing_type", "=", "time_material"),
                "|", ("partner_id", "child_of", partner.id),
                ("invoice_partner_id", "child_of", partner.id),
            ])
        return self.env["project.project"]

    def _get_domain(self):
        return self.env["project.project"]._hie_invoiceable_domain() + self._get_scope_domain()

    def _get_awaiting_domain(self):
        """The hours of this invoicing that wait for approval."""
        return (self.env["project.project"]._hie_awaiting_approval_domain()
                + self._get_scope_domain())

    def _get_scope_domain(self):
        """The projects, company, date and chosen lines of this invoicing."""
        domain = [
            ("booking_project_id", "in", self._get_projects().ids),
            ("company_id", "=", self.company_id.id),  # the lines of the invoicing company
            ("date", "<=", self.date_to),
        ]
        if self.booking_line_ids:
            domain.append(("id", "in", self.booking_line_ids.ids))
        return domain

    @api.depends("project_ids", "partner_id", "booking_line_ids", "date_to", "company_id",
                 "exclude_issue_lines")
    def _compute_preview(self):
        Line = self.env["account.analytic.line"]
        for wizard in self:
            if not wizard.date_to:
                wizard.update({
                    "line_count": 0, "hours": 0.0, "cost_line_count": 0, "cost_summary": False,
                    "amount": 0.0, "issue_line_ids": False, "issue_summary": False,
                    "left_out_summary": False, "awaiting_count": 0, "awaiting_hours": 0.0,
                    "awaiting_amount": 0.0,
                })
                continue
            [(awaiting_count, awaiting_hours, awaiting_amount)] = Line.sudo()._read_group(
                wizard._get_awaiting_domain(), [],
                ["__count", "unit_amount:sum", "revenue_amount:sum"],
            )
            issues = wizard._get_issues()
            domain = wizard._get_domain()
            if wizard.exclude_issue_lines and issues:
                domain.append(("id", "not in", list(issues)))
            hours = cost_count = amount = count = 0
            costs = []
            for kind, product, uom, n, qty, revenue in Line._read_group(
                domain, ["booking_kind", "product_id", "product_uom_id"],
                ["__count", "unit_amount:sum", "revenue_amount:sum"],
            ):
                count += n
                amount += revenue
                if kind == "hours":
                    hours += qty
                else:
                    cost_count += n
                    costs.append(self.env._(
                        "%(product)s: %(qty)s %(uom)s",
                        product=product.display_name or self.env._("Other costs"),
                        qty=float_round(qty, 2), uom=(uom or product.uom_id).name or "",
                    ))
            wizard.update({
                "line_count": count,
                "hours": hours,
                "cost_line_count": cost_count,
                "cost_summary": "\n".join(sorted(costs)) or False,
                "amount": amount,
                "issue_line_ids": [Command.set(list(issues))],
                "issue_summary": wizard._describe_issues(issues) or False,
                "left_out_summary": wizard._describe_left_out(issues) or False,
                "awaiting_count": awaiting_count,
                "awaiting_hours": awaiting_hours or 0.0,
                "awaiting_amount": awaiting_amount or 0.0,
            })

    # ------------------------------------------------------------------
    # Lines that cannot be invoiced as they are, and lines left out
    # ------------------------------------------------------------------
    def _get_issues(self):
        """The invoiceable lines without a rate (revenue 0), without a sales tax or without
        an activity (product): {line id: [reason, ...]}."""
        self.ensure_one()
        return self.env["project.project"]._hie_get_invoice_issues(
            self._get_domain(), self.company_id)

    def _describe_issues(self, issues, limit=20):
        """One line of text per booking line with an issue (at most ``limit``)."""
        lines = self.env["account.analytic.line"].sudo().browse(list(issues))
        texts = [
            self.env._(
                "%(date)s %(project)s: %(what)s (%(qty)s %(unit)s): %(reasons)s",
                date=line.date, project=line.booking_project_id.display_name,
                what=" - ".join(filter(None, (
                    line.employee_id.name, line.product_id.display_name, line.name))),
                qty=float_round(line.unit_amount, 2),
                unit=(line.product_uom_id or line.product_id.uom_id).name or "",
                reasons=", ".join(issues[line.id]),
            )
            for line in lines[:limit]
        ]
        if len(lines) > limit:
            texts.append(self.env._("… and %s more lines.", len(lines) - limit))
        return "\n".join(texts)

    def _describe_left_out(self, issues):
        """Why unbilled lines of the chosen projects are not invoiced, one reason a text
        line with the number of lines and their hours."""
        self.ensure_one()
        Line = self.env["account.analytic.line"].sudo()
        projects = self._get_projects()
        if not projects:
            return ""
        base = [("booking_project_id", "in", projects.ids), ("invoice_id", "=", False)]
        if self.booking_line_ids:
            base.append(("id", "in", self.booking_line_ids.ids))
        status_names = dict(
            self.env["project.project"]._fields["project_status"]._description_selection(
                self.env))
        reasons = defaultdict(lambda: [0, 0.0])

        def add(reason, count, hours):
            reasons[reason][0] += count
            reasons[reason][1] += hours

        for project, direct, kind, count, hours in Line._read_group(
            base + [("date", "<=", self.date_to)],
            ["booking_project_id", "is_direct", "booking_kind"],
            ["__count", "unit_amount:sum"],
        ):
            hours = hours if kind == "hours" else 0.0
            if project.invoicing_type != "time_material":
                add(self.env._("project “%s” is not time & material", project.display_name),
                    count, hours)
            elif project.project_status not in INVOICEABLE_STATUSES:
                add(self.env._("project “%(project)s” is %(status)s",
                               project=project.display_name,
                               status=status_names.get(project.project_status, "")),
                    count, hours)
            elif not direct:
                add(self.env._("indirect (not billable)"), count, hours)
        for kind, count, hours in Line._read_group(
            base + [("date", ">", self.date_to)], ["booking_kind"],
            ["__count", "unit_amount:sum"],
        ):
            add(self.env._("booked after %s", self.date_to), count,
                hours if kind == "hours" else 0.0)
        [(awaiting, awaiting_hours)] = Line._read_group(
            self._get_awaiting_domain(), [], ["__count", "unit_amount:sum"])
        if awaiting:
            add(self.env._("awaiting approval of their week"), awaiting, awaiting_hours or 0.0)
        if self.exclude_issue_lines and issues:
            lines = Line.browse(list(issues))
            add(self.env._("no rate, sales tax or activity (left out on request)"), len(lines),
                sum(lines.filtered(lambda line: line.booking_kind == "hours")
                    .mapped("unit_amount")))
        return "\n".join(
            self.env._("%(count)s lines (%(hours)s h): %(reason)s", count=count,
              hours=format_duration(hours), reason=reason)
            for reason, (count, hours) in reasons.items()
        )

    def action_create_invoices(self):
        self.ensure_one()
        projects = self._get_projects()
        if not projects:
            raise UserError(_("Choose one or more projects, or a customer."))
        other_companies = self.booking_line_ids.company_id - self.company_id
        if other_companies:
            raise UserError(_(
                "Some of the chosen booking lines belong to %(companies)s: %(company)s invoices "
                "only its own booking lines. Invoice them from that company.",
                companies=", ".join(other_companies.mapped("name")),
                company=self.company_id.name,
            ))
        line_ids = self.booking_line_ids.ids if self.booking_line_ids else None
        issues = self._get_issues()
        if issues and not self.exclude_issue_lines:
            raise UserError(self.env._(
                "These booking lines cannot be invoiced as they are: they have no rate "
                "(revenue 0), no sales tax or no activity. Give them a rate, a sales tax or an "
                "activity, or choose to leave them out (they stay unbilled):\n%s",
                self._describe_issues(issues),
            ))
        if issues:
            line_ids = self.env["account.analytic.line"].sudo().search(
                self._get_domain() + [("id", "not in", list(issues))]).ids
        moves = projects.with_company(self.company_id)._hie_create_invoices(
            self.date_to,
            grouping=self.grouping,
            invoice_date=self.invoice_date,
            journal=self.journal_id or None,
            line_ids=line_ids,
        )
        if not moves:
            left_out = self._describe_left_out(issues)
            raise UserError(self.env._(
                "There is nothing to invoice up to %(date)s. Only direct booking lines to "
                "invoice of time & material projects in status Quoted/Tendered or Order are "
                "invoiced; fixed-price, internal and indirect lines never.%(left_out)s",
                date=self.date_to,
                left_out=("\n\n" + self.env._("Left out:") + "\n" + left_out) if left_out else "",
            ))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        if len(moves) == 1:
            action.update({"views": [(False, "form")], "view_mode": "form", "res_id": moves.id})
        else:
            action["domain"] = [("id", "in", moves.ids)]
        return action
