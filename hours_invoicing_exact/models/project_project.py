# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import RedirectWarning
from odoo.tools.misc import formatLang


class ProjectProject(models.Model):
    _inherit = "project.project"

    invoicing_type = fields.Selection(
        selection=[
            ("time_material", "Time & material"),
            ("fixed_price", "Fixed price"),
            ("internal", "Internal"),
        ],
        compute="_compute_invoicing_type",
        store=True,
        readonly=False,
        index=True,
        tracking=True,
        help="Time & material (regie): booked hours and costs become invoice lines.\n"
        "Fixed price (aangenomen): costs are booked to watch the budget; revenue comes from "
        "installment invoices.\n"
        "Internal: no customer; hours on it are indirect.",
    )
    project_status = fields.Selection(
        selection=[
            ("acquisition", "Acquisition"),
            ("quoted", "Quoted/Tendered"),
            ("order", "Order"),
            ("closed", "Closed"),
        ],
        default="order",
        index=True,
        tracking=True,
        help="Hours and costs can be booked in Acquisition, Quoted/Tendered and Order, and on "
        "customer projects only when the principal is known.",
    )
    invoice_partner_id = fields.Many2one(
        comodel_name="res.partner",
        string="Invoice Debtor",
        compute="_compute_invoice_partner_id",
        store=True,
        readonly=False,
        tracking=True,
        index="btree_not_null",
        domain="['|', ('company_id', '=', False), ('company_id', '=?', company_id)]",
        help="Receives and pays the invoices of this project. Defaults to the invoice address "
        "of the principal (the customer).",
    )
    contract_sum = fields.Monetary(
        currency_field="currency_id",
        tracking=True,
        help="Fixed price agreed with the principal.",
    )
    cost_budget = fields.Monetary(
        currency_field="currency_id",
        tracking=True,
        help="Budgeted cost of a fixed-price project, for post-calculation.",
    )
    default_service_product_id = fields.Many2one(
        comodel_name="product.product",
        string="Default Activity",
        domain="[('type', '=', 'service'), '|', ('company_id', '=', False), "
        "('company_id', '=?', company_id)]",
        help="Service product (activity) proposed on new hours booked on this project.",
    )
    rate_agreement_ids = fields.One2many(
        comodel_name="project.rate.agreement",
        inverse_name="project_id",
        string="Rate Agreements",
        copy=True,
    )
    booking_blocked_reason = fields.Char(
        compute="_compute_booking_blocked_reason",
        help="Why hours and costs cannot be booked on this project now, if they cannot.",
    )

    @api.depends("partner_id")
    def _compute_invoicing_type(self):
        """Without a customer a project is internal; giving it one makes it time & material
        unless the user chose otherwise."""
        for project in self:
            if project.partner_id and project.invoicing_type in (False, "internal"):
                project.invoicing_type = "time_material"
            elif not project.invoicing_type:
                project.invoicing_type = "internal"

    @api.depends("partner_id")
    def _compute_invoice_partner_id(self):
        for project in self:
            partner = project.partner_id
            project.invoice_partner_id = (
                partner.browse(partner.address_get(["invoice"])["invoice"]) if partner else False
            )

    @api.depends("invoicing_type", "project_status", "partner_id")
    def _compute_booking_blocked_reason(self):
        for project in self:
            project.booking_blocked_reason = project._get_booking_blocked_reason()

    def _get_booking_blocked_reason(self):
        """Why nothing can be booked on this project now, or False. One rule, used everywhere."""
        self.ensure_one()
        if self.project_status == "closed":
            return _(
                "its status is %(status)s; bookings are allowed only in Acquisition, "
                "Quoted/Tendered and Order",
                status=dict(self._fields["project_status"]._description_selection(self.env))[
                    self.project_status
                ],
            )
        if self.invoicing_type != "internal" and not self.partner_id:
            return _("it has no principal (customer); set the customer first")
        return False

    def _hie_get_unbilled(self):
        """Per project id: (number of lines, hours, value) of its booking lines still to
        invoice (one grouped query); hours only, the quantities of other costs apart."""
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return {}
        result = {}
        for project, kind, count, qty, revenue in self.env["account.analytic.line"].sudo(
        )._read_group(
            [("booking_project_id", "in", ids), ("billing_status", "=", "to_invoice")],
            ["booking_project_id", "booking_kind"],
            ["__count", "unit_amount:sum", "revenue_amount:sum"],
        ):
            before = result.get(project.id, (0, 0.0, 0.0))
            result[project.id] = (before[0] + count,
                                  before[1] + (qty or 0.0 if kind == "hours" else 0.0),
                                  before[2] + (revenue or 0.0))
        return result

    def _hie_check_close(self):
        """Closing a project with hours and costs still to invoice needs a confirmation
        (context ``hie_confirm_close``): the lines of a closed project are no longer
        invoiced. Refused with the unbilled value and a way to confirm."""
        # data files (demo data) are loaded as they are written
        if self.env.context.get("hie_confirm_close") or self.env.context.get("install_module"):
            return
        to_close = self.filtered(lambda project: project.project_status != "closed")
        unbilled = to_close._hie_get_unbilled()
        if not unbilled:
            return
        projects = to_close.filtered(lambda project: project.id in unbilled)
        details = "\n".join(
            self.env._("%(project)s: %(count)s lines, value %(value)s",
                       project=project.display_name, count=unbilled[project.id][0],
                       value=formatLang(self.env, unbilled[project.id][2],
                                        currency_obj=project.currency_id))
            for project in projects
        )
        raise RedirectWarning(
            _("These projects still have hours or costs to invoice; once closed they are no "
              "longer invoiced:\n%s\nInvoice them first, or confirm that you close the "
              "projects anyway.", details),
            "hours_invoicing_exact.action_project_close_wizard",
            _("Review and close"),
            {"active_model": "project.project", "active_ids": projects.ids},
        )

    def write(self, vals):
        if vals.get("project_status") == "closed":
            self._hie_check_close()
        return super().write(vals)

    def _get_rate_agreements(self):
        """Active agreements of the project's own level and of its principal's level."""
        self.ensure_one()
        principal = self.partner_id.commercial_partner_id
        return self.rate_agreement_ids, principal.rate_agreement_ids

    def action_view_booking_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_booking_lines"
        )
        action["domain"] = [("booking_project_id", "=", self.id)]
        action["context"] = {"search_default_groupby_billing_status": 1}
        return action
