# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


class HieInvoiceLinkWizard(models.TransientModel):
    """Link an existing customer invoice to unbilled booking lines, without changing the
    invoice's amounts."""

    _name = "hie.invoice.link.wizard"
    _description = "Link Hours to an Existing Invoice"

    move_id = fields.Many2one(comodel_name="account.move", string="Invoice", required=True)
    partner_id = fields.Many2one(related="move_id.commercial_partner_id", string="Customer")
    project_id = fields.Many2one(
        comodel_name="project.project",
        string="Project",
        domain="[('invoicing_type', '=', 'time_material'), '|', "
        "('partner_id', 'child_of', partner_id), ('invoice_partner_id', 'child_of', partner_id)]",
    )
    date_from = fields.Date(string="From")
    date_to = fields.Date(string="To")
    available_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        compute="_compute_available_line_ids",
        string="Unbilled Lines",
    )
    line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        relation="hie_invoice_link_wizard_line_rel",
        string="Lines To Link",
        domain="[('id', 'in', available_line_ids)]",
    )
    currency_id = fields.Many2one(related="move_id.currency_id")
    selected_value = fields.Monetary(compute="_compute_selected_value",
                                     string="Value of the Chosen Lines")

    def _get_domain(self):
        self.ensure_one()
        partner = self.move_id.commercial_partner_id
        domain = [
            ("billing_status", "=", "to_invoice"),
            ("invoice_id", "=", False),
            ("company_id", "=", self.move_id.company_id.id),  # the invoice's company only
            "|", ("booking_project_id.partner_id", "child_of", partner.id),
            ("booking_project_id.invoice_partner_id", "child_of", partner.id),
        ]
        if self.project_id:
            domain.append(("booking_project_id", "=", self.project_id.id))
        if self.date_from:
            domain.append(("date", ">=", self.date_from))
        if self.date_to:
            domain.append(("date", "<=", self.date_to))
        return domain

    @api.depends("move_id", "project_id", "date_from", "date_to")
    def _compute_available_line_ids(self):
        for wizard in self:
            wizard.available_line_ids = (
                self.env["account.analytic.line"].search(wizard._get_domain())
                if wizard.move_id else False
            )

    @api.depends("line_ids")
    def _compute_selected_value(self):
        for wizard in self:
            wizard.selected_value = sum(wizard.line_ids.mapped("revenue_amount"))

    def action_select_all(self):
        self.ensure_one()
        self.line_ids = [Command.set(self.available_line_ids.ids)]
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_link(self):
        self.ensure_one()
        move = self.move_id
        self.env["hie.billing.link"]._check_can_link_to(move)
        if not self.line_ids:
            raise UserError(_("Choose the booking lines to link to invoice %s.",
                              move.display_name))
        other_companies = self.line_ids.company_id - move.company_id
        if other_companies:
            raise UserError(_(
                "Booking lines of %(companies)s cannot be linked to invoice %(invoice)s of "
                "%(company)s: hours are invoiced in their own company.",
                companies=", ".join(other_companies.mapped("name")),
                invoice=move.display_name, company=move.company_id.name,
            ))
        allowed = self.env["account.analytic.line"].search(
            self._get_domain() + [("id", "in", self.line_ids.ids)]
        )
        if allowed != self.line_ids:
            raise UserError(_(
                "Only unbilled lines of the projects of %s can be linked to this invoice.",
                move.commercial_partner_id.display_name,
            ))
        allowed.sudo().booking_project_id._hie_lock_for_billing()
        self.env["hie.billing.link"]._link(
            (line_id, False, move.id) for line_id in allowed.ids
        )
        move.hie_project_ids = [Command.link(pid) for pid in allowed.booking_project_id.ids]
        return {"type": "ir.actions.act_window_close"}
