# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..services import rates
from .account_analytic_line import AGREEMENTS_MEMO


class ProjectRateAgreement(models.Model):
    """A rate agreement (afspraak) of a customer or of a project.

    For hours: an hourly sales rate per service product (activity) or per employee, optionally
    with a discount. For other costs: a markup on cost, or a discount on the sales price, per
    product or product category. How agreements combine is decided by
    :mod:`..services.rates`, the one resolver.
    """

    _name = "project.rate.agreement"
    _description = "Rate Agreement"
    _order = "sequence, id"
    _check_company_auto = True

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    project_id = fields.Many2one(
        comodel_name="project.project",
        ondelete="cascade",
        index="btree_not_null",
        check_company=True,
    )
    partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Customer",
        ondelete="cascade",
        index="btree_not_null",
        check_company=True,
        domain="[('is_company', '=', True)]",
        help="The principal (customer) whose projects this agreement applies to.",
    )
    # Required: an agreement is one company's terms with a customer. The booking line's
    # company decides which agreements price it (see account.analytic.line
    # _hie_load_agreements); an agreement without a company would price every company's
    # hours, so there is none.
    company_id = fields.Many2one(
        comodel_name="res.company",
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        index=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    kind = fields.Selection(
        selection=[("hours", "Hours"), ("cost", "Other costs")],
        string="Applies To",
        required=True,
        default="hours",
    )
    employee_id = fields.Many2one(
        comodel_name="hr.employee",
        check_company=True,
        help="Only hours of this employee. Empty: every employee.",
    )
    product_id = fields.Many2one(
        comodel_name="product.product",
        string="Product",
        check_company=True,
        help="Hours: only this service product (activity). Costs: only this product. "
        "Empty: all.",
    )
    categ_id = fields.Many2one(
        comodel_name="product.category",
        help="Costs of products in this category or its sub-categories.",
    )
    rate_type = fields.Selection(
        selection=[("fixed", "Hourly rate"), ("list", "List rate")],
        string="Rate",
        default="fixed",
        help="Hourly rate: the rate given here. List rate: the employee's default sales rate, "
        "else the activity's sales price.",
    )
    hourly_rate = fields.Monetary(currency_field="currency_id")
    cost_pricing = fields.Selection(
        selection=[("markup", "Markup on cost"), ("discount", "Discount on sales price")],
        default="markup",
    )
    markup = fields.Float(string="Markup (%)", digits=(16, 2))
    discount = fields.Float(string="Discount (%)", digits=(16, 2))
    summary = fields.Char(compute="_compute_summary")

    @api.depends("project_id.company_id", "partner_id.company_id")
    def _compute_company_id(self):
        """The project's company, else the customer's, else the current company: rates are
        one company's terms, so a second company never sees them nor prices with them."""
        for agreement in self:
            agreement.company_id = (
                agreement.project_id.company_id
                or agreement.partner_id.company_id
                or agreement.company_id
                or self.env.company
            )

    @api.depends("kind", "employee_id", "product_id", "categ_id", "rate_type", "hourly_rate",
                 "cost_pricing", "markup", "discount")
    def _compute_summary(self):
        for agreement in self:
            agreement.summary = agreement._describe()

    def _describe(self):
        self.ensure_one()
        if self.kind == "hours":
            rate = (
                self.currency_id.format(self.hourly_rate) if self.rate_type == "fixed"
                else _("list rate")
            )
            text = _("%(rate)s per hour", rate=rate)
        elif self.cost_pricing == "markup":
            text = _("cost + %(markup)s%%", markup=self.markup)
        else:
            text = _("sales price")
        if self.discount:
            text = _("%(text)s − %(discount)s%% discount", text=text, discount=self.discount)
        return text

    @api.constrains("kind", "employee_id", "categ_id", "product_id", "project_id", "partner_id",
                    "active", "discount", "markup")
    def _check_consistency(self):
        for agreement in self:
            if bool(agreement.project_id) == bool(agreement.partner_id):
                raise ValidationError(
                    _("An agreement belongs either to a customer or to a project.")
                )
            if not 0 <= agreement.discount <= 100:
                raise ValidationError(_("A discount lies between 0% and 100%."))
            if agreement.markup < -100:
                raise ValidationError(_("A markup cannot be below -100%."))
            if agreement.kind == "cost" and agreement.employee_id:
                raise ValidationError(_("An agreement on other costs cannot name an employee."))
            if agreement.kind == "hours" and agreement.categ_id:
                raise ValidationError(_("An agreement on hours cannot name a product category."))
            if agreement.product_id and agreement.categ_id:
                raise ValidationError(
                    _("Name either a product or a product category, not both.")
                )
            if agreement.kind == "hours" and agreement.product_id.type not in (False, "service"):
                raise ValidationError(
                    _("Hours agreements apply to service products (activities), not to %s.",
                      agreement.product_id.display_name)
                )
            if agreement.active and agreement._find_duplicates():
                raise ValidationError(
                    _("There is already an agreement for the same hours or costs on %s.",
                      (agreement.project_id or agreement.partner_id).display_name)
                )

    def _find_duplicates(self):
        self.ensure_one()
        return self.search_count([
            ("id", "!=", self.id),
            ("project_id", "=", self.project_id.id),
            ("partner_id", "=", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
            ("kind", "=", self.kind),
            ("employee_id", "=", self.employee_id.id),
            ("product_id", "=", self.product_id.id),
            ("categ_id", "=", self.categ_id.id),
        ], limit=1)

    @api.depends("summary", "employee_id", "product_id", "categ_id")
    def _compute_display_name(self):
        for agreement in self:
            scope = [
                record.display_name
                for record in (agreement.employee_id, agreement.product_id, agreement.categ_id)
                if record
            ]
            agreement.display_name = "%s: %s" % (
                ", ".join(scope) or dict(self._fields["kind"]._description_selection(
                    self.env))[agreement.kind],
                agreement.summary,
            )

    def _to_rate_agreement(self):
        """This record as the resolver's plain data."""
        self.ensure_one()
        return rates.Agreement(
            id=self.id,
            kind=rates.HOURS if self.kind == "hours" else rates.COST,
            employee_id=self.employee_id.id or None,
            product_id=self.product_id.id or None,
            categ_id=self.categ_id.id or None,
            hourly_rate=self.hourly_rate if self.rate_type == "fixed" else None,
            discount=self.discount,
            cost_pricing=self.cost_pricing or "markup",
            markup=self.markup,
            sequence=self.sequence,
        )

    # ------------------------------------------------------------------
    # Recomputation of the revenue of lines not yet invoiced
    # ------------------------------------------------------------------
    def _get_affected_lines(self):
        projects = self.project_id
        principals = self.partner_id.commercial_partner_id
        if principals:
            projects |= self.env["project.project"].with_context(active_test=False).search(
                [("partner_id", "child_of", principals.ids)]
            )
        if not projects:
            return self.env["account.analytic.line"]
        return self.env["account.analytic.line"].sudo().search([
            ("booking_project_id", "in", projects.ids),
            ("company_id", "in", self.company_id.ids),
            ("billing_status", "!=", "invoiced"),
        ])

    @api.model
    def _recompute_revenue(self, lines):
        self.env.cr.precommit.data.pop(AGREEMENTS_MEMO, None)
        if lines:
            lines._hie_mark_revenue_to_recompute()

    @api.model_create_multi
    def create(self, vals_list):
        agreements = super().create(vals_list)
        self._recompute_revenue(agreements._get_affected_lines())
        return agreements

    def write(self, vals):
        before = self._get_affected_lines()
        res = super().write(vals)
        self._recompute_revenue(before | self._get_affected_lines())
        return res

    def unlink(self):
        lines = self._get_affected_lines()
        res = super().unlink()
        self._recompute_revenue(lines.exists())
        return res
