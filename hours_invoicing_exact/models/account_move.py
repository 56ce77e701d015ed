# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import Command, _, api, fields, models


class AccountMove(models.Model):
    """Invoices of booking lines: principal and projects, the billed booking lines, their
    release (draft deletion, cancellation, full credit), and linked hours."""

    _inherit = "account.move"

    hie_principal_id = fields.Many2one(
        comodel_name="res.partner",
        string="Principal",
        index="btree_not_null",
        help="The customer for whom the invoiced work was done (when the invoice is addressed "
        "to another invoice debtor).",
    )
    hie_project_ids = fields.Many2many(
        comodel_name="project.project",
        relation="account_move_hie_project_rel",
        column1="move_id",
        column2="project_id",
        string="Projects",
    )
    hie_booking_line_ids = fields.Many2many(
        comodel_name="account.analytic.line",
        string="Billed Booking Lines",
        compute="_compute_hie_booking_line_ids",
    )
    hie_booking_line_count = fields.Integer(
        string="Booking Lines", compute="_compute_hie_booking_figures",
    )
    hie_hours_value = fields.Monetary(
        string="Linked Hours Value",
        compute="_compute_hie_booking_figures",
        help="Revenue of the booking lines billed by or linked to this invoice.",
    )
    hie_hours_difference = fields.Monetary(
        string="Difference With Hours",
        compute="_compute_hie_booking_figures",
        help="Untaxed amount of the invoice minus the value of its linked hours.",
    )
    hie_hours_released = fields.Boolean(
        string="Hours Released",
        copy=False,
        readonly=True,
        help="The booking lines of this invoice were made billable again (cancelled or fully "
        "credited); it cannot be reopened.",
    )
    hie_hours_appendix = fields.Boolean(
        compute="_compute_hie_hours_appendix",
        help="Print the hours specification as an appendix.",
    )

    def _compute_hie_booking_line_ids(self):
        by_move = defaultdict(list)
        for line_id, _move_line_id, move_id in self.env["hie.billing.link"]._read_by_moves(
            self._origin.ids
        ):
            by_move[move_id].append(line_id)
        for move in self:
            move.hie_booking_line_ids = [Command.set(by_move.get(move._origin.id, []))]

    @api.depends("amount_untaxed")
    def _compute_hie_booking_figures(self):
        data = self.env["hie.billing.link"]._read_move_figures(self._origin.ids)
        for move in self:
            count, value = data.get(move._origin.id, (0, 0.0))
            move.hie_booking_line_count = count
            move.hie_hours_value = value
            move.hie_hours_difference = move.amount_untaxed - value if count else 0.0

    @api.depends("hie_project_ids.invoice_hours_appendix")
    def _compute_hie_hours_appendix(self):
        for move in self:
            move.hie_hours_appendix = any(move.hie_project_ids.mapped("invoice_hours_appendix"))

    # ------------------------------------------------------------------
    # Release of billed booking lines (the rules: hie.billing.link)
    # ------------------------------------------------------------------
    def write(self, vals):
        self.env["hie.billing.link"]._check_released_write(self, vals)
        return super().write(vals)

    def unlink(self):
        self.env["hie.billing.link"]._release_moves(self, mark=False)
        return super().unlink()

    def button_cancel(self):
        res = super().button_cancel()
        self.env["hie.billing.link"]._release_moves(
            self.filtered(lambda move: move.state == "cancel"))
        return res

    def button_draft(self):
        self.env["hie.billing.link"]._check_can_reopen(self)
        return super().button_draft()

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        self.env["hie.billing.link"]._release_credited(posted)
        return posted

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_hie_view_booking_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_booking_lines"
        )
        action["domain"] = [("invoice_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_hie_link_hours(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Link Hours"),
            "res_model": "hie.invoice.link.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_id": self.id},
        }
