# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_round

_logger = logging.getLogger(__name__)


class ProjectInstallment(models.Model):
    """A term (termijn) of the installment schedule of a fixed-price project.

    A term is a percentage of the contract sum or a fixed amount. Its installment invoice
    (termijnfactuur) is created by a button or, once the planned date is reached, by the
    scheduled action; the project's revenue is the sum of its installment invoices.
    """

    _name = "project.installment"
    _description = "Installment Term"
    _order = "project_id, sequence, planned_date, id"
    _check_company_auto = True

    # States of the project in which installment invoices may be made: the contract must be
    # quoted/tendered or ordered (not in acquisition, not closed) - the same rule as hours.
    INVOICEABLE_STATUSES = ("quoted", "order")
    # Fields fixed once the term is on an invoice.
    PROTECTED_FIELDS = ("project_id", "amount_type", "percentage", "fixed_amount", "name")

    project_id = fields.Many2one(
        comodel_name="project.project",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
        domain="[('invoicing_type', '=', 'fixed_price')]",
    )
    # The project's company, else the company the term was planned in: a term of a project
    # without a company is still one company's invoice (never the scheduled action's
    # company by chance).
    company_id = fields.Many2one(
        comodel_name="res.company",
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        index=True,
    )
    currency_id = fields.Many2one(related="project_id.currency_id")
    sequence = fields.Integer(default=10)
    name = fields.Char(
        string="Description",
        required=True,
        translate=False,
        help="Becomes the description of the installment invoice line.",
    )
    planned_date = fields.Date(
        required=True,
        default=fields.Date.context_today,
        help="From this date the scheduled action creates the installment invoice.",
    )
    amount_type = fields.Selection(
        selection=[("percentage", "Percentage of contract sum"), ("amount", "Amount")],
        string="Term Type",
        required=True,
        default="percentage",
    )
    percentage = fields.Float(digits=(16, 2), help="Percentage of the contract sum.")
    fixed_amount = fields.Monetary(string="Term Amount", currency_field="currency_id")
    amount = fields.Monetary(
        currency_field="currency_id",
        compute="_compute_amount",
        store=True,
        help="Amount to invoice: the percentage of the contract sum, or the amount.",
    )
    invoice_id = fields.Many2one(
        comodel_name="account.move",
        string="Installment Invoice",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    invoice_state = fields.Selection(related="invoice_id.state", string="Invoice Status")
    state = fields.Selection(
        selection=[("planned", "Planned"), ("invoiced", "Invoiced")],
        compute="_compute_state",
        store=True,
        index=True,
        help="Invoiced while the term is on a draft or posted invoice; deleting or cancelling "
        "the invoice makes the term planned again.",
    )

    # ------------------------------------------------------------------
    # Computes and constraints
    # ------------------------------------------------------------------
    @api.depends("project_id.company_id")
    def _compute_company_id(self):
        for term in self:
            term.company_id = (
                term.project_id.company_id or term.company_id or self.env.company
            )

    @api.depends("amount_type", "percentage", "fixed_amount", "project_id.contract_sum")
    def _compute_amount(self):
        for term in self:
            if term.state == "invoiced" and term._origin.id:
                continue  # an invoiced term keeps the amount it was invoiced at
            if term.amount_type == "percentage":
                term.amount = float_round(
                    term.project_id.contract_sum * term.percentage / 100.0,
                    precision_rounding=term.currency_id.rounding or 0.01,
                )
            else:
                term.amount = term.fixed_amount

    @api.depends("invoice_id", "invoice_id.state")
    def _compute_state(self):
        for term in self:
            invoiced = term.invoice_id and term.invoice_id.state != "cancel"
            term.state = "invoiced" if invoiced else "planned"

    @api.constrains("project_id")
    def _check_fixed_price_project(self):
        for term in self:
            if term.project_id.invoicing_type != "fixed_price":
                raise ValidationError(_(
                    "Project “%s” is not a fixed-price project: only fixed-price projects have "
                    "an installment schedule.",
                    term.project_id.display_name,
                ))

    @api.constrains("amount_type", "percentage", "fixed_amount")
    def _check_term_value(self):
        for term in self:
            if term.amount_type == "percentage" and not 0 < term.percentage <= 100:
                raise ValidationError(_(
                    "Term “%s”: the percentage must be more than 0 and at most 100.", term.name
                ))
            if term.amount_type == "amount" and term.currency_id.compare_amounts(
                term.fixed_amount, 0.0
            ) <= 0:
                raise ValidationError(_("Term “%s”: the amount must be positive.", term.name))

    @api.constrains("amount", "project_id")
    def _check_schedule_total(self):
        self._check_term_value()  # a wrong term is named before the schedule's total
        self.project_id._hie_check_installment_schedule()

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------
    def write(self, vals):
        protected = set(self.PROTECTED_FIELDS) & set(vals)
        if protected:
            for term in self.filtered(lambda t: t.state == "invoiced"):
                changed = [f for f in protected if term._fields[f].convert_to_write(
                    term[f], term) != vals[f]]
                if changed:
                    raise UserError(_(
                        "Term “%(term)s” is on invoice %(invoice)s and cannot be changed. "
                        "Cancel or delete the draft invoice first.",
                        term=term.name, invoice=term.invoice_id.display_name,
                    ))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced(self):
        for term in self.filtered(lambda t: t.state == "invoiced"):
            raise UserError(_(
                "Term “%(term)s” is on invoice %(invoice)s and cannot be deleted.",
                term=term.name, invoice=term.invoice_id.display_name,
            ))

    # ------------------------------------------------------------------
    # Invoicing
    # ------------------------------------------------------------------
    def _get_invoicing_blocked_reason(self):
        """Why an installment invoice cannot be made for this term now, or False."""
        self.ensure_one()
        project = self.project_id
        if self.state == "invoiced":
            return _("it is already on invoice %s", self.invoice_id.display_name)
        if project.invoicing_type != "fixed_price":
            return _("its project is not a fixed-price project")
        if project.project_status not in self.INVOICEABLE_STATUSES:
            return _(
                "its project's status is %s; installment invoices are made only in the "
                "statuses Quoted/Tendered and Order",
                dict(project._fields["project_status"]._description_selection(self.env))[
                    project.project_status
                ],
            )
        if not project.invoice_partner_id:
            return _("its project has no invoice debtor")
        if self.currency_id.is_zero(self.amount):
            return _("its amount is zero")
        return False

    @api.model
    def _get_installment_product(self):
        """The service product of installment invoice lines: the addon's "Installment"
        product. Its income account (or the sales journal's default account) books the
        revenue; its sales taxes apply, else the company's default sales tax."""
        return self.env.ref(
            "hours_invoicing_exact.product_installment", raise_if_not_found=False
        ) or self.env["product.product"]

    def _prepare_invoice_line_vals(self):
        self.ensure_one()
        project = self.project_id
        vals = {
            "name": self.name,
            "quantity": 1.0,
            "price_unit": self.amount,
            "analytic_distribution": {str(project.account_id.id): 100}
            if project.account_id else False,
        }
        product = self._get_installment_product()
        if product:
            vals["product_id"] = product.id
            vals["product_uom_id"] = product.uom_id.id
        return vals

    def _prepare_invoice_vals(self):
        self.ensure_one()
        project = self.project_id
        return {
            "move_type": "out_invoice",
            "company_id": self.company_id.id,
            "partner_id": project.invoice_partner_id.id,
            "invoice_date": fields.Date.context_today(self),
            "invoice_origin": project.display_name,
            "currency_id": self.currency_id.id,
            "invoice_line_ids": [fields.Command.create(self._prepare_invoice_line_vals())],
        }

    def _create_invoices(self):
        """Create one draft installment invoice per term; return the invoices."""
        moves = self.env["account.move"]
        for term in self:
            reason = term._get_invoicing_blocked_reason()
            if reason:
                raise UserError(_(
                    "No installment invoice can be made for term “%(term)s” of project "
                    "“%(project)s”: %(reason)s.",
                    term=term.name, project=term.project_id.display_name, reason=reason,
                ))
            move = self.env["account.move"].with_company(term.company_id).create(
                term._prepare_invoice_vals()
            )
            term._hie_ensure_tax(move)
            term.invoice_id = move
            moves |= move
        return moves

    def _hie_ensure_tax(self, move):
        """Lines whose product has no sales tax in the invoice's company get the company's
        default sales tax (mapped by the fiscal position), as a hand-made line would."""
        default_tax = move.company_id.account_sale_tax_id
        if not default_tax:
            return
        lines = move.invoice_line_ids.filtered(lambda line: not line.tax_ids)
        if lines:
            lines.tax_ids = move.fiscal_position_id.map_tax(default_tax)

    def action_create_invoice(self):
        moves = self._create_invoices()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        if len(moves) == 1:
            action.update(views=[(False, "form")], res_id=moves.id)
        else:
            action["domain"] = [("id", "in", moves.ids)]
        return action

    def action_view_invoice(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.invoice_id.id,
            "views": [(False, "form")],
        }

    @api.model
    def _get_due_domain(self, date):
        return [
            ("state", "=", "planned"),
            ("planned_date", "<=", date),
            ("project_id.invoicing_type", "=", "fixed_price"),
            ("project_id.project_status", "in", list(self.INVOICEABLE_STATUSES)),
        ]

    @api.model
    def _cron_create_due_invoices(self):
        """Scheduled action: create the installment invoices of all due terms, in every
        company. A term that cannot be invoiced is logged and skipped, the others go on."""
        today = fields.Date.context_today(self)
        terms = self.sudo().with_context(active_test=False).search(self._get_due_domain(today))
        done = self.env["account.move"]
        for term in terms:
            try:
                with self.env.cr.savepoint():
                    done |= term.with_company(term.company_id)._create_invoices()
            except (UserError, ValidationError) as error:
                _logger.warning(
                    "Installment term %s (project %s) not invoiced: %s",
                    term.id, term.project_id.id, error,
                )
        return done
