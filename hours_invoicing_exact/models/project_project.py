# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import RedirectWarning, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import float_round, format_duration, mute_logger
from odoo.tools.misc import formatLang

_logger = logging.getLogger(__name__)
INVOICEABLE_STATUSES = ("quoted", "order")


class ProjectProject(models.Model):
    """All our overrides of ``project.project``, in one place:

    - Project kind, status, principal and debtor, and the booking rule;
    - Invoicing of time & material projects from their booking lines;
    - Fixed-price projects: installment schedule and invoices, post-calculation;
    - Billed and unbilled figures: smart buttons and Odoo's profitability panel;
    """

    _inherit = "project.project"

    # ------------------------------------------------------------------
    # Fields: Project kind, status, principal and debtor, and the booking rule
    # ------------------------------------------------------------------
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
    hie_contract_count = fields.Integer(
        string="Recurring Contracts",
        compute="_compute_hie_contract_count",
        groups="account.group_account_invoice",
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

    # ------------------------------------------------------------------
    # Fields: Invoicing of time & material projects from their booking lines
    # ------------------------------------------------------------------
    invoice_detail_level = fields.Selection(
        selection=[
            ("activity", "Summary per activity and rate"),
            ("summary", "Summary per activity, employee and rate"),
            ("line", "One invoice line per booking line"),
        ],
        default="activity",
        help="How booking lines become invoice lines: summarized per activity (service "
        "product) and rate, per activity, employee and rate, or one invoice line per booking "
        "line.",
    )
    invoice_hours_appendix = fields.Boolean(
        string="Hours Specification on Invoice",
        help="Print the billed booking lines (date, employee, description, hours) as an "
        "appendix of the invoice.",
    )
    hie_last_billed = fields.Datetime(
        string="Hours Last Billed",
        readonly=True,
        copy=False,
        help="When hours of this project were last invoiced or linked to an invoice.",
    )
    invoicing_frequency = fields.Selection(
        selection=[("manual", "Manual"), ("weekly", "Weekly"), ("monthly", "Monthly")],
        default="manual",
        help="Weekly or monthly: a scheduled action invoices the hours of the closed week or "
        "month of this time & material project.",
    )

    # ------------------------------------------------------------------
    # Fields: Fixed-price projects: installment schedule and invoices, post-calculation
    # ------------------------------------------------------------------
    installment_ids = fields.One2many(
        comodel_name="project.installment",
        inverse_name="project_id",
        string="Installment Schedule",
        copy=False,
    )
    installment_total = fields.Monetary(
        string="Scheduled",
        compute="_compute_installment_figures",
        currency_field="currency_id",
        help="Sum of the terms of the installment schedule.",
    )
    installment_unscheduled = fields.Monetary(
        string="Not Scheduled",
        compute="_compute_installment_figures",
        currency_field="currency_id",
        help="Contract sum not yet covered by a term.",
    )
    installment_invoiced = fields.Monetary(
        string="Invoiced Installments",
        compute="_compute_installment_figures",
        currency_field="currency_id",
        help="Untaxed amount of the posted installment invoices, less their posted credit "
        "notes: the revenue of a fixed-price project.",
    )
    installment_invoice_count = fields.Integer(compute="_compute_installment_figures")

    # ------------------------------------------------------------------
    # Fields: Billed and unbilled figures: smart buttons and Odoo's profitability panel
    # ------------------------------------------------------------------
    hie_billed_revenue = fields.Monetary(
        string="Billed Revenue",
        compute="_compute_hie_booking_figures",
        currency_field="currency_id",
        groups="project.group_project_manager,hr_timesheet.group_hr_timesheet_approver",
        help="Revenue of the booking lines that are on an invoice.",
    )
    hie_unbilled_revenue = fields.Monetary(
        string="Unbilled Value",
        compute="_compute_hie_booking_figures",
        currency_field="currency_id",
        groups="project.group_project_manager,hr_timesheet.group_hr_timesheet_approver",
        help="Revenue of the booking lines still to invoice.",
    )

    hie_awaiting_approval_revenue = fields.Monetary(
        string="Awaiting Approval",
        compute="_compute_hie_booking_figures",
        currency_field="currency_id",
        groups="project.group_project_manager,hr_timesheet.group_hr_timesheet_approver",
        help="Value of the hours to invoice that wait for the approval of their week (not "
        "in the unbilled value).",
    )
    hie_awaiting_approval_count = fields.Integer(
        string="Lines Awaiting Approval",
        compute="_compute_hie_booking_figures",
        groups="project.group_project_manager,hr_timesheet.group_hr_timesheet_approver",
    )

    # ==================================================================
    # Project kind, status, principal and debtor, and the booking rule
    # ==================================================================

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

    # ==================================================================
    # Invoicing of time & material projects from their booking lines
    # ==================================================================

    # ------------------------------------------------------------------
    # The invoicing service
    # ------------------------------------------------------------------
    @api.model
    def _hie_billable_domain(self, approved_only=True):
        """The rule: only direct lines of time & material projects whose status allows
        invoicing (quoted/tendered or order), only approved hours where the company
        invoices approved hours only, and only once (see :meth:`_hie_invoiceable_domain`).
        """
        domain = self.env["hie.billing.link"]._billable_domain() + [
            ("booking_project_id.project_status", "in", INVOICEABLE_STATUSES),
        ]
        if approved_only:
            domain += self._hie_approved_domain()
        return domain

    @api.model
    def _hie_approved_domain(self):
        """Lines that approval does not hold back: other costs, approved hours, and the
        hours of companies that invoice without approval."""
        return ["|", "|", ("booking_kind", "!=", "hours"),
                ("hie_approval_state", "=", "approved"),
                ("company_id.hie_invoice_approved_only", "=", False)]

    @api.model
    def _hie_awaiting_approval_domain(self):
        """Hours that would be invoiced but wait for their approval."""
        return self._hie_billable_domain(approved_only=False) + [
            ("billing_status", "=", "to_invoice"),
            ("booking_kind", "=", "hours"),
            ("hie_approval_state", "!=", "approved"),
            ("company_id.hie_invoice_approved_only", "=", True),
        ]

    @api.model
    def _hie_invoiceable_domain(self):
        """The billable lines that are not billed yet."""
        return self._hie_billable_domain() + [("billing_status", "=", "to_invoice")]

    def _hie_create_invoices(self, date_to, grouping="project", invoice_date=None,
                             journal=None, *, line_ids=None):
        """Create draft customer invoices for the unbilled booking lines of these projects up
        to ``date_to`` (included), of the company this runs in (``self.env.company``) only:
        a line is invoiced in its own company, never on another company's invoice (a project
        without a company has lines of several companies; each company invoices its own).

        :param grouping: ``"project"`` (one invoice per project) or ``"debtor"`` (one invoice
            per invoice debtor, across projects)
        :param line_ids: optionally, only these booking lines
        :return: the created ``account.move`` records (draft)
        """
        if grouping not in ("project", "debtor"):
            raise UserError(_("Unknown grouping “%s”.", grouping))
        date_to = fields.Date.to_date(date_to)
        domain = self._hie_billable_domain() + [
            ("booking_project_id", "in", self.ids),
            ("company_id", "=", self.env.company.id),
            ("date", "<=", date_to),
        ]
        if line_ids is not None:
            domain.append(("id", "in", list(line_ids)))
        groups = self.env["hie.billing.link"].sudo()._read_unbilled_groups(domain)
        if not groups:
            return self.env["account.move"]
        self.browse({group[0].id for group in groups})._hie_lock_for_billing()
        return self._hie_invoice_groups(groups, grouping, invoice_date, journal)

    def _hie_lock_for_billing(self):
        """Take the rows of these projects for a billing of their lines, and mark them billed
        now.

        Of two users billing hours of the same project at the same moment, one wins and the
        other gets a clear error at once; a billing whose snapshot predates another billing
        of the project that committed since fails the same way (the marked rows are a
        concurrent update). Changes of booking lines wait for these rows (see
        :meth:`hie.billing.link._wait_for_billing`). The booking lines themselves
        are not locked: their rows, and the many indexes of their table, are not written by
        a billing. The unique link per booking line is the database's last word.
        """
        if not self:
            return
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    UPDATE project_project p
                       SET hie_last_billed = (now() AT TIME ZONE 'UTC')
                      FROM (SELECT id FROM project_project WHERE id = ANY(%s)
                             ORDER BY id FOR NO KEY UPDATE NOWAIT) locked
                     WHERE p.id = locked.id
                    """,
                    (self.ids,),
                )
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure) as exc:
            raise UserError(_(
                "Some of these hours are being invoiced by someone else at this moment. Nothing "
                "was invoiced; try again in a moment: hours that are billed by then are left out."
            )) from exc
        self.invalidate_recordset(["hie_last_billed"])

    @api.model
    def _hie_invoice_groups(self, groups, grouping, invoice_date, journal):
        """Build and create the invoices of grouped invoiceable booking lines (the rows of
        :meth:`_hie_create_invoices`'s grouped query), and link the lines."""
        invoice_date = fields.Date.to_date(invoice_date) if invoice_date else False
        lines = self.env["account.analytic.line"].sudo()
        projects = self.browse({group[0].id for group in groups})
        level = {project.id: project.invoice_detail_level or "activity" for project in projects}
        by_invoice = defaultdict(list)  # invoice key -> [line spec]
        detail_ids = []
        # per activity and rate: the groups of the employees of one activity and rate merged
        merged = {}
        for project, product, employee, rate, uom, kind, qty, revenue, ids in groups:
            if level[project.id] == "line":
                detail_ids.extend(ids)
                continue
            if level[project.id] == "activity":
                employee = employee.browse()
            group = merged.setdefault((project, product, employee, rate, uom, kind),
                                      [0.0, 0.0, []])
            group[0] += qty
            group[1] += revenue
            group[2].extend(ids)
        for (project, product, employee, rate, uom, kind), (qty, revenue, ids) in merged.items():
            key = self._hie_invoice_key(project, grouping)
            # labels in the language of the invoice debtor, as Odoo prints its documents
            by_invoice[key].extend(self._hie_debtor_lang(key[1])._hie_line_specs(
                project, product, employee, rate, uom, kind, qty, revenue, sorted(ids), lines,
            ))
        if detail_ids:
            for line in lines.browse(sorted(detail_ids)):
                key = self._hie_invoice_key(line.booking_project_id, grouping)
                by_invoice[key].extend(self._hie_debtor_lang(key[1])._hie_line_specs(
                    line.booking_project_id, line.product_id, line.employee_id,
                    line.revenue_unit_rate, line.product_uom_id, line.booking_kind,
                    line.unit_amount, line.revenue_amount, [line.id], lines, detail=line,
                ))
        vals_list, specs_list = [], []
        for (company, debtor, currency), specs in by_invoice.items():
            specs.sort(key=lambda spec: (spec["project"].name or "", spec["project"].id,
                                         spec["sequence_key"]))
            vals_list.append(self._hie_debtor_lang(debtor)._hie_prepare_invoice_vals(
                company, debtor, currency, specs, invoice_date, journal,
            ))
            specs_list.append(specs)
        self._hie_set_default_journals(vals_list)
        moves = self.env["account.move"].with_company(self.env.company).create(vals_list)
        links = []
        for move, specs in zip(moves, specs_list, strict=True):
            product_lines = move.invoice_line_ids.filtered(
                lambda aml: aml.display_type == "product"
            ).sorted("sequence")
            for aml, spec in zip(product_lines, specs, strict=True):
                links.extend((line_id, aml.id, move.id) for line_id in spec["ids"])
        self.env["hie.billing.link"]._link(links)
        return moves

    @api.model
    def _hie_set_default_journals(self, vals_list):
        """Give the new invoices without a journal the sales journal Odoo would give them
        (its own search, ``account.move._search_default_journal``), searched once per company
        and currency instead of once per invoice. A default journal in the context is left to
        Odoo."""
        if self.env.context.get("default_journal_id"):
            return
        journals = {}
        Move = self.env["account.move"]
        for vals in vals_list:
            if vals.get("journal_id"):
                continue
            key = (vals["company_id"], vals["currency_id"])
            if key not in journals:
                company = self.env["res.company"].browse(vals["company_id"])
                journals[key] = Move.with_company(company).new({
                    "move_type": vals["move_type"],
                    "company_id": company.id,
                    "currency_id": vals["currency_id"],
                })._search_default_journal()
            vals["journal_id"] = journals[key].id

    @api.model
    def _hie_invoice_key(self, project, grouping):
        partner = project.invoice_partner_id or project.partner_id
        if not partner:
            raise UserError(_("Project “%s” has no invoice debtor.", project.display_name))
        # the lines invoiced are those of the company invoicing (see _hie_create_invoices)
        if grouping == "project":
            return (self.env.company, partner, project)
        return (self.env.company, partner, project.currency_id)

    @api.model
    def _hie_debtor_lang(self, debtor):
        """This model in the language of the invoice debtor: the texts of its invoice lines
        (``partner.lang``, else the current language)."""
        return self.with_context(lang=debtor.lang or self.env.lang)

    @api.model
    def _hie_line_specs(self, project, product, employee, rate, uom, kind, qty, revenue, ids,
                        lines, detail=None):
        """Invoice line specifications of one group of booking lines.

        The invoice line's subtotal must equal the billed revenue exactly. When quantity ×
        rate (rounded) does not give it (manual revenue, discounts, markups), the group is
        split per booking line, and a line that still does not fit is invoiced as quantity 1
        at its revenue (the hours stay in its description).
        """
        currency = project.currency_id or self.env.company.currency_id
        if currency.is_zero(currency.round(qty * rate) - revenue):
            return [self._hie_line_spec(project, product, employee, rate, uom, kind, qty,
                                        revenue, ids, detail)]
        if len(ids) > 1:
            specs = []
            for line in lines.browse(sorted(ids)):
                specs.extend(self._hie_line_specs(
                    project, product, employee, line.revenue_unit_rate, uom, kind,
                    line.unit_amount, line.revenue_amount, [line.id], lines, detail=line,
                ))
            return specs
        spec = self._hie_line_spec(project, product, employee, revenue, uom, kind, qty,
                                   revenue, ids, detail)
        spec["quantity"] = 1.0
        spec["uom"] = self.env.ref("uom.product_uom_unit")
        spec["name"] += " " + self.env._(
            "(%(qty)s %(uom)s)", qty=float_round(qty, 2),
            uom=uom.with_context(lang=self.env.lang).name or "",
        )
        return [spec]

    @api.model
    def _hie_line_spec(self, project, product, employee, rate, uom, kind, qty, revenue, ids,
                       detail):
        product = product.with_context(lang=self.env.lang)
        parts = [product.display_name
                 or (self.env._("Hours") if kind == "hours" else self.env._("Costs"))]
        if employee:
            parts.append(employee.name)
        if detail:
            parts.append(fields.Date.to_string(detail.date))
            if detail.name and detail.name != "/":
                parts.append(detail.name)
        return {
            "project": project,
            "product": product,
            "kind": kind,
            "uom": uom,
            "name": " - ".join(parts),
            "quantity": qty,
            "price_unit": rate,
            "revenue": revenue,
            "ids": ids,
            "sequence_key": (product.display_name or "", employee.name or "",
                             detail.date if detail else fields.Date.today(), ids[0]),
        }

    @api.model
    def _hie_prepare_invoice_vals(self, company, debtor, currency_or_project, specs,
                                  invoice_date, journal):
        """Values of one invoice (hookable)."""
        projects = self.browse()
        for spec in specs:
            projects |= spec["project"]
        principals = projects.partner_id.commercial_partner_id
        reference = "; ".join(
            self.env._("%(project)s (principal: %(principal)s)", project=project.name,
              principal=project.partner_id.commercial_partner_id.name or "-")
            for project in projects
        )
        currency = projects[:1].currency_id or company.currency_id
        fiscal_position = self.env["account.fiscal.position"].with_company(
            company)._get_fiscal_position(debtor)
        # lines ordered per project; on an invoice of several projects each line names its
        # project (section lines would double the lines Odoo computes on create and post)
        lines_vals = []
        for sequence, spec in enumerate(specs, start=10):
            line_vals = self._hie_prepare_invoice_line_vals(
                spec, sequence, company=company, fiscal_position=fiscal_position,
            )
            if len(projects) > 1:
                line_vals["name"] = f"{spec['project'].name} - {line_vals['name']}"
            lines_vals.append(line_vals)
        self._hie_add_line_amounts(company, currency, lines_vals)
        vals = {
            "move_type": "out_invoice",
            "company_id": company.id,
            "partner_id": debtor.id,
            "currency_id": currency.id,
            "invoice_origin": ", ".join(projects.mapped("name"))[:250],
            "ref": reference[:250],
            "hie_principal_id": principals.id if len(principals) == 1 else False,
            "hie_project_ids": [Command.set(projects.ids)],
            "fiscal_position_id": fiscal_position.id,
            "invoice_line_ids": [Command.create(line_vals) for line_vals in lines_vals],
        }
        if invoice_date:
            vals["invoice_date"] = invoice_date
        if journal:
            if journal.company_id != company or journal.type != "sale":
                raise UserError(_(
                    "The journal “%(journal)s” is not a sales journal of %(company)s.",
                    journal=journal.display_name, company=company.name,
                ))
            vals["journal_id"] = journal.id
        return vals

    @api.model
    def _hie_add_line_amounts(self, company, currency, lines_vals):
        """Give the product lines of a new customer invoice (``lines_vals``, all its lines)
        the amounts and tax tags that Odoo's tax sync (``account.move._sync_tax_lines``)
        gives them right after they are created, computed here by Odoo's own tax engine the
        same way. Otherwise Odoo writes every new line twice (balance, then amounts and tax
        tags): most of the time of creating an invoice. This only saves those writes and
        decides nothing: Odoo still computes the taxes of the invoice and writes its own
        values on any line where they differ. Lines in a currency other than the company's
        (a rate) or with values this does not read are left to Odoo."""
        if currency != company.currency_id or not lines_vals:
            return
        AccountTax, Product = self.env["account.tax"], self.env["product.product"]
        base_lines = []
        for line_vals in lines_vals:
            tax_commands = line_vals.get("tax_ids") or []
            if (line_vals.get("display_type", "product") != "product"
                    or line_vals.get("discount")
                    or len(tax_commands) != 1 or tax_commands[0][0] != Command.SET):
                return
            base_lines.append(AccountTax._prepare_base_line_for_taxes_computation(
                None,
                product_id=Product.browse(line_vals.get("product_id")),
                tax_ids=AccountTax.browse(tax_commands[0][2]),
                price_unit=line_vals["price_unit"],
                quantity=line_vals["quantity"],
                currency_id=currency,
                rate=1.0,
                sign=-1,  # a customer invoice (account.move.direction_sign)
                is_refund=False,
            ))
        AccountTax._add_tax_details_in_base_lines(base_lines, company)
        AccountTax._round_base_lines_tax_details(base_lines, company)
        AccountTax._add_accounting_data_in_base_lines_tax_details(base_lines, company)
        for line_vals, base_line in zip(lines_vals, base_lines, strict=True):
            details, sign = base_line["tax_details"], base_line["sign"]
            line_vals["amount_currency"] = sign * (details["total_excluded_currency"]
                                                   + details["delta_total_excluded_currency"])
            line_vals["balance"] = sign * (details["total_excluded"]
                                           + details["delta_total_excluded"])
            line_vals["tax_tag_ids"] = [Command.set(base_line["tax_tag_ids"].ids)]

    @api.model
    def _hie_get_sale_taxes(self, company, product):
        """The sales taxes of a line of ``product`` (may be empty): the product's taxes of
        ``company``, else the company's default sales tax, before any fiscal position."""
        taxes = product.sudo().taxes_id.filtered_domain(
            self.env["account.tax"]._check_company_domain(company)
        ) if product else self.env["account.tax"]
        return taxes or company.sudo().account_sale_tax_id

    @api.model
    def _hie_get_invoice_issues(self, domain, company):
        """The booking lines of ``domain`` that cannot be invoiced as they are: without a
        rate (revenue 0), without a sales tax (:meth:`_hie_get_sale_taxes`) or without an
        activity (product). Returns {line id: [reason, ...]}, in date order; a few queries
        whatever the number of lines."""
        Line = self.env["account.analytic.line"].sudo()
        taxless = set()
        for line_company, product in Line._read_group(domain, ["company_id", "product_id"]):
            if not self._hie_get_sale_taxes(line_company or company, product):
                taxless.add((line_company.id, product.id))
        problems = [[("revenue_amount", "=", 0.0)], [("product_id", "=", False)]]
        problems += [[("company_id", "=", company_id), ("product_id", "=", product_id)]
                     for company_id, product_id in taxless]
        issues = {}
        for line in Line.search(expression.AND([domain, expression.OR(problems)]),
                                order="date, id"):
            reasons = []
            if line.currency_id.is_zero(line.revenue_amount):
                reasons.append(self.env._("no rate"))
            if (line.company_id.id, line.product_id.id) in taxless:
                reasons.append(self.env._("no sales tax"))
            if not line.product_id:
                reasons.append(self.env._("no activity"))
            issues[line.id] = reasons
        return issues

    @api.model
    def _hie_prepare_invoice_line_vals(self, spec, sequence, company=None, fiscal_position=None):
        """Values of one invoice line (hookable). Every line carries its sales tax: see
        :meth:`_hie_get_sale_taxes`, mapped by the debtor's ``fiscal_position``."""
        project = spec["project"]
        company = company or project.company_id or self.env.company
        taxes = self._hie_get_sale_taxes(company, spec["product"])
        if fiscal_position:
            taxes = fiscal_position.map_tax(taxes)
        vals = {
            "sequence": sequence,
            "name": spec["name"],
            "quantity": spec["quantity"],
            "price_unit": spec["price_unit"],
            "tax_ids": [Command.set(taxes.ids)],
            "hie_bills_hours": True,
        }
        if spec["product"]:
            vals["product_id"] = spec["product"].id
        if spec["uom"]:
            vals["product_uom_id"] = spec["uom"].id
        if project.account_id:
            vals["analytic_distribution"] = {str(project.account_id.id): 100.0}
        return vals

    # ------------------------------------------------------------------
    # Automatic invoicing
    # ------------------------------------------------------------------
    @api.model
    def _hie_closed_period_end(self, frequency, today):
        """Last day of the last closed week (Monday-Sunday) or month before ``today``."""
        if frequency == "weekly":
            return today - timedelta(days=today.weekday() + 1)
        return today.replace(day=1) - timedelta(days=1)

    @api.model
    def _cron_hie_invoice_projects(self):
        """Invoice the time & material projects whose invoicing frequency is due, for the
        closed period; post and e-mail the invoices when the company says so.

        Each company invoices the lines of its own company (the booking line's company, not
        the project's: a project without a company has lines of several companies), in
        that company, with that company's settings."""
        today = fields.Date.context_today(self)
        projects = self.search([
            ("invoicing_type", "=", "time_material"),
            ("project_status", "in", INVOICEABLE_STATUSES),
            ("invoicing_frequency", "in", ("weekly", "monthly")),
        ])
        for (company, frequency), group in self._hie_group_by_line_company(projects).items():
            date_to = self._hie_closed_period_end(frequency, today)
            group = group.with_company(company)
            # lines without a rate, tax or activity are no silent €0 or untaxed lines: they
            # stay unbilled, and the project says so
            domain = group._hie_invoiceable_domain() + [
                ("booking_project_id", "in", group.ids), ("date", "<=", date_to),
            ]
            issues = group._hie_get_invoice_issues(domain, company)
            line_ids = None
            if issues:
                line_ids = self.env["account.analytic.line"].sudo().search(
                    domain + [("id", "not in", list(issues))]).ids
                group._hie_note_left_out(issues)
            moves = group._hie_create_invoices(date_to, line_ids=line_ids)
            _logger.info("Automatic invoicing: %s invoices for %s projects (%s, up to %s)",
                         len(moves), len(group), frequency, date_to)
            if moves and company.hie_auto_post_invoices:
                moves.action_post()
                if company.hie_auto_send_invoices:
                    moves._generate_and_send(allow_fallback_pdf=True)

    @api.model
    def _hie_group_by_line_company(self, projects):
        """``{(company, invoicing frequency): projects}`` for the companies of the unbilled
        booking lines of ``projects`` (one grouped query)."""
        if not projects:
            return {}
        rows = self.env["account.analytic.line"].sudo()._read_group(
            self._hie_invoiceable_domain() + [("booking_project_id", "in", projects.ids)],
            ["company_id", "booking_project_id"],
        )
        result = defaultdict(lambda: self.browse())
        for company, project in rows:
            result[(company, project.invoicing_frequency)] |= project
        return dict(result)

    def _hie_note_left_out(self, issues):
        """Tell on each project (chatter, log) how many of its lines the automatic invoicing
        left out because they have no rate, sales tax or activity."""
        lines = self.env["account.analytic.line"].sudo().browse(list(issues))
        for project, project_lines in lines.grouped("booking_project_id").items():
            _logger.warning("Automatic invoicing left out %s lines of project %s: no rate, "
                            "sales tax or activity", len(project_lines), project.id)
            project.sudo().message_post(body=self.env._(
                "Automatic invoicing left out %(count)s booking lines (%(hours)s h) without a "
                "rate, a sales tax or an activity; they stay unbilled. Correct them and use "
                "Invoice Hours.",
                count=len(project_lines),
                hours=format_duration(sum(project_lines.filtered(
                    lambda line: line.booking_kind == "hours").mapped("unit_amount"))),
            ))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_hie_invoice_wizard(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_project_invoice_wizard"
        )
        action["context"] = {"active_model": "project.project", "active_ids": self.ids}
        return action

    # ==================================================================
    # Fixed-price projects: installment schedule and invoices, post-calculation
    # ==================================================================

    @api.depends("installment_ids.amount", "contract_sum", "installment_ids.invoice_id.state")
    @api.depends_context("allowed_company_ids")
    def _compute_installment_figures(self):
        invoiced = self._hie_get_installment_invoiced()
        for project in self:
            total = sum(project.installment_ids.mapped("amount"))
            project.installment_total = total
            project.installment_unscheduled = project.contract_sum - total
            figures = invoiced.get(project.id, {})
            project.installment_invoiced = figures.get("posted", 0.0)
            project.installment_invoice_count = figures.get("count", 0)

    def _hie_get_installment_invoiced(self):
        """Per project id: ``posted`` (untaxed, company currency, posted installment invoices
        less their posted credit notes), ``draft`` (the same for drafts) and ``count`` (the
        installment invoices and credit notes not cancelled). A fixed number of queries."""
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return {}
        terms = self.env["project.installment"].sudo().search_fetch(
            # the terms of the companies the user works in (their invoices are theirs)
            [("project_id", "in", ids), ("invoice_id", "!=", False),
             ("company_id", "in", self.env.companies.ids)],
            ["project_id", "invoice_id"],
        )
        project_by_move = {term.invoice_id.id: term.project_id.id for term in terms}
        if not project_by_move:
            return {}
        moves = self.env["account.move"].sudo().search_fetch(
            [
                "|", ("id", "in", list(project_by_move)),
                ("reversed_entry_id", "in", list(project_by_move)),
                ("state", "in", ("draft", "posted")),
            ],
            ["amount_untaxed_signed", "state", "reversed_entry_id"],
        )
        result = defaultdict(lambda: {"posted": 0.0, "draft": 0.0, "count": 0})
        for move in moves:
            project_id = project_by_move.get(move.id) or project_by_move.get(
                move.reversed_entry_id.id
            )
            figures = result[project_id]
            figures[move.state] += move.amount_untaxed_signed
            figures["count"] += 1
        return dict(result)

    def _hie_check_installment_schedule(self):
        """The terms of a project must not exceed its contract sum."""
        for project in self:
            if not project.installment_ids:
                continue
            if project.invoicing_type != "fixed_price":
                raise ValidationError(_(
                    "Project “%s” has an installment schedule: only fixed-price projects can "
                    "have one. Remove the terms first.",
                    project.display_name,
                ))
            total = sum(project.installment_ids.mapped("amount"))
            if project.currency_id.compare_amounts(total, project.contract_sum) > 0:
                raise ValidationError(_(
                    "The installment terms of project “%(project)s” add up to %(total)s, more "
                    "than its contract sum of %(contract)s.",
                    project=project.display_name,
                    total=project.currency_id.format(total),
                    contract=project.currency_id.format(project.contract_sum),
                ))

    @api.constrains("contract_sum", "invoicing_type")
    def _check_installments_contract_sum(self):
        self._hie_check_installment_schedule()

    def action_create_due_installment_invoices(self):
        """Button: create the installment invoices of the terms due today or earlier."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        due = self.installment_ids.filtered(
            lambda term: term.state == "planned" and term.planned_date <= today
        )
        if not due:
            raise ValidationError(_(
                "Project “%s” has no planned installment terms due today or earlier.",
                self.display_name,
            ))
        return due.action_create_invoice()

    def action_view_installment_invoices(self):
        self.ensure_one()
        moves = self.installment_ids.invoice_id
        moves |= self.env["account.move"].search([("reversed_entry_id", "in", moves.ids)])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"create": False}
        return action

    def action_open_post_calculation(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_project_post_calculation"
        )
        action.update(res_id=self.id, views=[(False, "form")], view_mode="form")
        return action

    # ==================================================================
    # Billed and unbilled figures: smart buttons and Odoo's profitability panel
    # ==================================================================

    @api.depends_context("allowed_company_ids")
    def _compute_hie_booking_figures(self):
        figures = self._hie_get_booking_figures()
        for project in self:
            values = figures.get(project.id, {})
            project.hie_billed_revenue = values.get("billed_revenue", 0.0)
            project.hie_unbilled_revenue = values.get("unbilled_revenue", 0.0)
            project.hie_awaiting_approval_revenue = values.get("awaiting_revenue", 0.0)
            project.hie_awaiting_approval_count = int(values.get("awaiting_count", 0))

    def _hie_get_booking_figures(self):
        """Per project id: hours, hours_cost, other_cost, billed_revenue, unbilled_revenue,
        awaiting_revenue and awaiting_count (hours to invoice that wait for approval, not in
        the unbilled revenue) of its booking lines, in company currency (one grouped
        query)."""
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return {}
        groups = self.env["account.analytic.line"].sudo()._read_group(
            # the lines of the companies the user works in (a project without a company
            # has lines of several)
            [("booking_project_id", "in", ids), ("company_id", "in", self.env.companies.ids)],
            ["booking_project_id", "booking_kind", "billing_status", "hie_approval_state",
             "company_id"],
            ["unit_amount:sum", "cost_amount:sum", "revenue_amount:sum", "__count"],
        )
        result = defaultdict(lambda: dict.fromkeys(
            ("hours", "hours_cost", "other_cost", "billed_revenue", "unbilled_revenue",
             "awaiting_revenue", "awaiting_count"), 0.0
        ))
        for project, kind, status, approval, company, hours, cost, revenue, count in groups:
            values = result[project.id]
            if kind == "hours":
                values["hours"] += hours
                values["hours_cost"] += cost
            else:
                values["other_cost"] += cost
            if status == "invoiced":
                values["billed_revenue"] += revenue
            elif status == "to_invoice" and kind == "hours" and approval != "approved" \
                    and company.hie_invoice_approved_only:
                values["awaiting_revenue"] += revenue
                values["awaiting_count"] += count
            elif status == "to_invoice":
                values["unbilled_revenue"] += revenue
        return dict(result)

    # ------------------------------------------------------------------
    # Smart buttons
    # ------------------------------------------------------------------
    def _hie_analysis_action(self, domain=None, context=None):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_booking_analysis"
        )
        action["domain"] = [("project_id", "in", self.ids)] + (domain or [])
        action["context"] = dict(context or {})
        return action

    def action_view_hie_billed_revenue(self):
        return self._hie_analysis_action(
            [("billing_status", "in", ("on_draft", "invoiced"))],
            {"pivot_measures": ["billed_revenue", "draft_revenue", "hours"]},
        )

    def action_view_hie_awaiting_approval(self):
        """The hours to invoice that wait for the approval of their week."""
        return self._hie_analysis_action(
            [("billing_status", "=", "to_invoice"), ("booking_kind", "=", "hours"),
             ("approval_state", "!=", "approved")],
            {"pivot_measures": ["unbilled_revenue", "unapproved_hours"],
             "pivot_row_groupby": ["employee_id"]},
        )

    def action_view_hie_unbilled_revenue(self):
        return self._hie_analysis_action(
            [("billing_status", "=", "to_invoice")],
            {"pivot_measures": ["unbilled_revenue", "hours"]},
        )

    # ------------------------------------------------------------------
    # Odoo's project profitability panel
    # ------------------------------------------------------------------
    def _get_profitability_labels(self):
        return {
            **super()._get_profitability_labels(),
            "hie_booking_revenue": self.env._("Hours & Costs"),
            "hie_installments": self.env._("Installment Invoices"),
            "hie_hours_cost": self.env._("Hours Cost"),
            "hie_other_costs": self.env._("Other Costs (Bookings)"),
            "hie_recurring": self.env._("Recurring Invoices"),
        }

    def _get_profitability_sequence_per_invoice_type(self):
        return {
            **super()._get_profitability_sequence_per_invoice_type(),
            "hie_booking_revenue": 1,
            "hie_installments": 2,
            "hie_hours_cost": 3,
            "hie_other_costs": 4,
            "hie_recurring": 5,
        }

    def _hie_own_profitability(self):
        """Whether our sections replace Odoo's for this project: not for projects invoiced
        through sale orders (sale_project's billable projects keep Odoo's panel as it is)."""
        return not ("allow_billable" in self._fields and any(self.mapped("allow_billable")))

    def _get_domain_aal_with_no_move_line(self):
        """project_account's "Other costs/revenues" must leave our booking lines to our own
        sections (only called when project_account, auto-installed, is there)."""
        domain = super()._get_domain_aal_with_no_move_line()
        if not self._hie_own_profitability():
            return domain
        return domain + [("booking_project_id", "=", False)]

    def _get_profitability_items(self, with_action=True):
        items = super()._get_profitability_items(with_action)
        if len(self) != 1 or not self._hie_own_profitability():
            return items
        items.setdefault("revenues", {"data": [], "total": {"invoiced": 0.0, "to_invoice": 0.0}})
        items.setdefault("costs", {"data": [], "total": {"billed": 0.0, "to_bill": 0.0}})
        sequence = self._get_profitability_sequence_per_invoice_type()
        with_action = with_action and (
            self.env.user.has_group("project.group_project_manager")
            or self.env.user.has_group("hr_timesheet.group_hr_timesheet_approver")
        )
        figures = self._hie_get_booking_figures().get(self.id)

        def add(kind, section, done, todo):
            done_key, todo_key = ("invoiced", "to_invoice") if kind == "revenues" else (
                "billed", "to_bill")
            if self.currency_id.is_zero(done) and self.currency_id.is_zero(todo):
                return
            data = {"id": section, "sequence": sequence[section], done_key: done, todo_key: todo}
            if with_action:
                data["action"] = {
                    "name": "action_profitability_items", "type": "object",
                    "args": json.dumps([section, [("project_id", "=", self.id)]]),
                }
            items[kind]["data"].append(data)
            items[kind]["total"][done_key] += done
            items[kind]["total"][todo_key] += todo

        if figures:
            add("revenues", "hie_booking_revenue",
                figures["billed_revenue"], figures["unbilled_revenue"])
            add("costs", "hie_hours_cost", -figures["hours_cost"], 0.0)
            add("costs", "hie_other_costs", -figures["other_cost"], 0.0)
        if self.invoicing_type == "fixed_price":
            invoiced = self._hie_get_installment_invoiced().get(self.id, {}).get("posted", 0.0)
            add("revenues", "hie_installments", invoiced, max(self.contract_sum - invoiced, 0.0))
        recurring = self._hie_get_recurring_invoiced().get(self.id)
        if recurring:
            add("revenues", "hie_recurring", recurring["posted"], recurring["draft"])
        return items

    def _hie_get_recurring_invoiced(self):
        """Per project id: untaxed amounts (company currency) of the recurring invoices of
        its contracts (OCA ``contract``), ``posted`` and ``draft``, credit notes deducted.
        One grouped query."""
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return {}
        groups = self.env["account.move.line"].sudo()._read_group(
            [("contract_line_id.hie_project_id", "in", ids), ("display_type", "=", "product"),
             ("parent_state", "in", ("draft", "posted")),
             ("company_id", "in", self.env.companies.ids)],
            ["contract_line_id", "parent_state"],
            ["balance:sum"],
        )
        result = defaultdict(lambda: {"posted": 0.0, "draft": 0.0})
        for line, state, balance in groups:
            result[line.sudo().hie_project_id.id][state] -= balance
        return dict(result)

    def _compute_hie_contract_count(self):
        counts = dict(self.env["contract.contract"]._read_group(
            [("hie_project_id", "in", self.ids)], ["hie_project_id"], ["__count"]))
        for project in self:
            project.hie_contract_count = counts.get(project, 0)

    def action_hie_view_contracts(self):
        """The project's recurring contracts; a new one belongs to the project."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "contract.action_customer_contract")
        action["domain"] = [("hie_project_id", "=", self.id)]
        action["context"] = {
            "default_hie_project_id": self.id, "default_contract_type": "sale",
            "default_partner_id": self.partner_id.id,
            "default_invoice_partner_id": (self.invoice_partner_id or self.partner_id).id,
        }
        return action

    def action_hie_view_recurring_invoices(self):
        self.ensure_one()
        moves = self.env["account.move.line"].search([
            ("contract_line_id.hie_project_id", "=", self.id),
            ("display_type", "=", "product"),
        ]).move_id
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", moves.ids)]
        action["context"] = {"create": False}
        return action

    def action_profitability_items(self, section_name, domain=None, res_id=False):
        if section_name in ("hie_booking_revenue", "hie_hours_cost", "hie_other_costs"):
            kind = {"hie_hours_cost": [("booking_kind", "=", "hours")],
                    "hie_other_costs": [("booking_kind", "=", "cost")]}.get(section_name, [])
            return self._hie_analysis_action(kind)
        if section_name == "hie_installments":
            return self.action_view_installment_invoices()
        if section_name == "hie_recurring":
            return self.action_hie_view_recurring_invoices()
        return super().action_profitability_items(section_name, domain, res_id)
