# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


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
    line_count = fields.Integer(string="Lines To Invoice", compute="_compute_preview")
    hours = fields.Float(string="Hours To Invoice", compute="_compute_preview")
    amount = fields.Monetary(string="Amount To Invoice", compute="_compute_preview",
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
        domain = self.env["project.project"]._hie_invoiceable_domain() + [
            ("booking_project_id", "in", self._get_projects().ids),
            ("company_id", "=", self.company_id.id),  # the lines of the invoicing company
            ("date", "<=", self.date_to),
        ]
        if self.booking_line_ids:
            domain.append(("id", "in", self.booking_line_ids.ids))
        return domain

    @api.depends("project_ids", "partner_id", "booking_line_ids", "date_to", "company_id")
    def _compute_preview(self):
        for wizard in self:
            if not wizard.date_to:
                wizard.line_count = wizard.hours = wizard.amount = 0
                continue
            [(count, hours, amount)] = self.env["account.analytic.line"]._read_group(
                wizard._get_domain(), aggregates=["__count", "unit_amount:sum",
                                                  "revenue_amount:sum"],
            )
            wizard.line_count, wizard.hours, wizard.amount = count, hours, amount

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
        moves = projects.with_company(self.company_id)._hie_create_invoices(
            self.date_to,
            grouping=self.grouping,
            invoice_date=self.invoice_date,
            journal=self.journal_id or None,
            line_ids=self.booking_line_ids.ids if self.booking_line_ids else None,
        )
        if not moves:
            raise UserError(_(
                "There is nothing to invoice up to %(date)s. Only direct booking lines to "
                "invoice of time & material projects in status Quoted/Tendered or Order are "
                "invoiced; fixed-price, internal and indirect lines never.",
                date=self.date_to,
            ))
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        if len(moves) == 1:
            action.update({"views": [(False, "form")], "view_mode": "form", "res_id": moves.id})
        else:
            action["domain"] = [("id", "in", moves.ids)]
        return action
