# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError


class HieProjectBookCostWizard(models.TransientModel):
    """Book an other cost (material, subcontracting, travel) on a project, for project users
    without accounting rights: it makes the same booking line as a cost entered by hand, under
    the same booking rule."""

    _name = "hie.project.book.cost.wizard"
    _description = "Book Costs on a Project"

    project_id = fields.Many2one(comodel_name="project.project", string="Project",
                                 required=True)
    company_id = fields.Many2one(related="project_id.company_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    product_id = fields.Many2one(
        comodel_name="product.product",
        string="Product",
        required=True,
        domain="['|', ('company_id', '=', False), ('company_id', '=?', company_id)]",
    )
    quantity = fields.Float(required=True, default=1.0, digits="Product Unit of Measure")
    product_uom_id = fields.Many2one(
        comodel_name="uom.uom", string="Unit", compute="_compute_product_uom_id", store=True,
        readonly=False, help="Defaults to the product's unit of measure.",
    )
    unit_cost = fields.Float(
        digits="Product Price", compute="_compute_unit_cost", store=True,
        readonly=False, help="Cost per unit; the line's cost is quantity × unit cost.",
    )
    name = fields.Char(string="Description")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "project.project" and self.env.context.get(
                "active_id"):
            res["project_id"] = self.env.context["active_id"]
        return res

    @api.depends("product_id")
    def _compute_product_uom_id(self):
        for wizard in self:
            wizard.product_uom_id = wizard.product_id.uom_id

    @api.depends("product_id")
    def _compute_unit_cost(self):
        for wizard in self:
            wizard.unit_cost = wizard.product_id.sudo().standard_price

    def _prepare_booking_line_vals(self):
        self.ensure_one()
        project = self.project_id.sudo()
        if not project.account_id:
            project._create_analytic_account()
        return {
            "name": self.name or self.product_id.display_name,
            "date": self.date,
            "account_id": project.account_id.id,
            "company_id": (project.company_id or project.account_id.company_id
                           or self.env.company).id,
            "product_id": self.product_id.id,
            "product_uom_id": (self.product_uom_id or self.product_id.uom_id).id,
            "unit_amount": self.quantity,
            "cost_unit_price": self.unit_cost,
            "user_id": self.env.user.id,
        }

    def action_book(self):
        """Make the booking line. A project user may not write analytic lines that are no
        timesheets (Odoo keeps those for accountants): the line is made as superuser once the
        user has shown access to the project; the booking rule applies as on every line."""
        self.ensure_one()
        if self.quantity <= 0:
            raise UserError(_("Book a positive quantity."))
        if self.unit_cost < 0:
            raise UserError(_("The unit cost cannot be negative."))
        self.project_id.check_access("read")
        reason = self.project_id.sudo()._get_booking_blocked_reason()
        if reason:
            raise UserError(_(
                "You cannot book hours or costs on project “%(project)s”: %(reason)s.",
                project=self.project_id.display_name, reason=reason,
            ))
        line = self.env["account.analytic.line"].sudo().create(self._prepare_booking_line_vals())
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("Booked on %(project)s: %(product)s, cost %(cost)s.",
                             project=self.project_id.display_name,
                             product=line.product_id.display_name,
                             cost=line.cost_amount),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
