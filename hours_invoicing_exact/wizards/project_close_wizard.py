# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, api, fields, models


class HieProjectCloseWizard(models.TransientModel):
    """Close projects that still have hours or costs to invoice, knowingly."""

    _name = "hie.project.close.wizard"
    _description = "Close Projects With Unbilled Hours"

    project_ids = fields.Many2many(comodel_name="project.project", string="Projects",
                                   required=True)
    line_count = fields.Integer(string="Lines To Invoice", compute="_compute_unbilled")
    hours = fields.Float(string="Hours To Invoice", compute="_compute_unbilled",
                         help="Hours only; the quantities of other costs are not added.")
    amount = fields.Monetary(string="Unbilled Value", compute="_compute_unbilled",
                             currency_field="currency_id")
    currency_id = fields.Many2one(comodel_name="res.currency", compute="_compute_unbilled")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "project.project":
            res["project_ids"] = [Command.set(self.env.context.get("active_ids") or [])]
        return res

    @api.depends("project_ids")
    def _compute_unbilled(self):
        for wizard in self:
            unbilled = wizard.project_ids._hie_get_unbilled()
            wizard.line_count = sum(values[0] for values in unbilled.values())
            wizard.hours = sum(values[1] for values in unbilled.values())
            wizard.amount = sum(values[2] for values in unbilled.values())
            wizard.currency_id = (wizard.project_ids[:1].currency_id
                                  or wizard.env.company.currency_id)

    def action_close(self):
        """Close the projects: their unbilled lines are no longer invoiced."""
        self.ensure_one()
        self.project_ids.with_context(hie_confirm_close=True).write({"project_status": "closed"})
        return {"type": "ir.actions.act_window_close"}

    def action_invoice_first(self):
        self.ensure_one()
        return self.project_ids.action_hie_invoice_wizard()
