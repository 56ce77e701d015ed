# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..services import rates
from .hie_timesheet_week import APPROVAL_WRITE, LOCKED_LINE_STATES, week_start

AGREEMENTS_MEMO = "hours_invoicing_exact.rate_agreements"
# The values derived by the addon are read together, and only when one of them is needed:
# plain reads of analytic lines (and hr_timesheet's own reads while it creates timesheets)
# do not load them, so that computing them on new lines finds nothing to compare with.
BOOKING_PREFETCH = "hie_booking"
# While create() runs: ids of the lines whose amount was written (see _hie_set_cost_amount)
COST_PENDING = "hours_invoicing_exact.cost_pending"
#: What the employee can no longer change once the hours are submitted or approved
APPROVAL_LOCKED_FIELDS = (
    "date", "project_id", "task_id", "employee_id", "product_id", "unit_amount",
    "product_uom_id", "name", "is_direct", "revenue_override", "revenue_manual",
)


class AccountAnalyticLine(models.Model):
    """Booking lines (boekingsregels): hours and other costs on a project.

    Hours are Odoo's timesheet lines (``project_id`` set). Other costs are analytic lines on a
    project's analytic account without ``project_id`` (materials, subcontracting, travel, and
    the lines vendor bills create through their analytic distribution).
    """

    _inherit = "account.analytic.line"

    booking_project_id = fields.Many2one(
        comodel_name="project.project",
        string="Booked On",
        compute="_compute_booking_project_id",
        store=True,
        index="btree_not_null",
        prefetch=BOOKING_PREFETCH,
        help="The project this line is booked on: the timesheet's project, or for other costs "
        "the project of the analytic account.",
    )
    booking_kind = fields.Selection(
        selection=[("hours", "Hours"), ("cost", "Other costs")],
        compute="_compute_booking_project_id",
        store=True,
        prefetch=BOOKING_PREFETCH,
    )
    invoicing_type = fields.Selection(related="booking_project_id.invoicing_type")
    principal_id = fields.Many2one(related="booking_project_id.partner_id", string="Principal")
    cost_unit_price = fields.Float(
        string="Unit Cost",
        digits="Product Price",
        help="For other costs entered by hand: the cost per unit; the line's cost is "
        "quantity × unit cost.",
    )
    # Minus the amount: written with the amount (same statement), or for the lines of a
    # create() in one assignment per distinct amount at its end, see _hie_set_cost_amount.
    cost_amount = fields.Monetary(
        string="Cost",
        readonly=True,
        copy=False,
        prefetch=BOOKING_PREFETCH,
        help="Cost of the line (positive): hours × the employee's hourly cost, or the cost of "
        "the goods or services.",
    )
    revenue_amount = fields.Monetary(
        string="Revenue",
        compute="_compute_revenue",
        store=True,
        prefetch=BOOKING_PREFETCH,
        help="Sales value of the line from the rate agreements (or the manual value).",
    )
    revenue_unit_rate = fields.Monetary(
        string="Sales Rate",
        compute="_compute_revenue",
        store=True,
        prefetch=BOOKING_PREFETCH,
    )
    revenue_source = fields.Selection(
        selection=[
            (rates.SOURCE_OVERRIDE, "Manual"),
            (rates.SOURCE_PROJECT, "Project agreement"),
            (rates.SOURCE_PRINCIPAL, "Customer agreement"),
            (rates.SOURCE_EMPLOYEE, "Employee rate"),
            (rates.SOURCE_PRODUCT, "Product price"),
            (rates.SOURCE_COST, "At cost"),
            (rates.SOURCE_NONE, "No rate"),
        ],
        string="Rate From",
        compute="_compute_revenue",
        store=True,
        prefetch=BOOKING_PREFETCH,
    )
    revenue_agreement_id = fields.Many2one(
        comodel_name="project.rate.agreement",
        string="Agreement",
        compute="_compute_revenue",
        store=True,
        prefetch=BOOKING_PREFETCH,
    )
    revenue_override = fields.Boolean(
        string="Manual Revenue",
        copy=False,
        help="Keep the revenue entered on this line instead of the rate agreements.",
    )
    revenue_manual = fields.Monetary(string="Manual Revenue Amount", copy=False)
    is_direct = fields.Boolean(
        string="Direct",
        compute="_compute_is_direct",
        store=True,
        readonly=False,
        prefetch=BOOKING_PREFETCH,
        help="Direct hours are billable work for a customer; indirect hours are internal "
        "(training, sales, overhead).",
    )
    hie_approval_state = fields.Selection(
        selection=[("draft", "Not submitted"), ("submitted", "Submitted"),
                   ("approved", "Approved")],
        string="Approval",
        default="draft",
        readonly=True,
        copy=False,
        index=True,
        help="Hours are submitted with their week and approved by its reviewer; only "
        "approved hours are invoiced when the company says so.",
    )
    # The billing link lives in hie.billing.link (one narrow row per billed line), which owns
    # billing: the three fields below are read from it, searched and grouped in SQL, never
    # stored on the line nor written (only invoicing, Link Hours and releases change a link).
    billing_status = fields.Selection(
        selection=[
            ("not_billable", "Not billable"),
            ("to_invoice", "To invoice"),
            ("invoiced", "Invoiced"),
        ],
        compute="_compute_billing_status",
        search="_search_billing_status",
    )
    invoice_line_id = fields.Many2one(
        comodel_name="account.move.line",
        string="Invoice Line",
        compute="_compute_billing_link",
        search="_search_invoice_line_id",
        readonly=True,
        help="The invoice line that bills this booking line.",
    )
    invoice_id = fields.Many2one(
        comodel_name="account.move",
        string="Billed on Invoice",
        compute="_compute_billing_link",
        search="_search_invoice_id",
        readonly=True,
        help="The invoice that bills this booking line (also set when an existing invoice "
        "was linked to the line).",
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _hie_assign(self, fnames, values_by_line):
        """Assign computed values grouped by equal values: one assignment per distinct value
        instead of one per line, which keeps the computes of large batches cheap.

        :param fnames: the names of the fields assigned
        :param values_by_line: iterable of (line, tuple of the values of ``fnames``)
        """
        groups = defaultdict(list)
        for line, values in values_by_line:
            groups[values].append(line.id)
        for values, ids in groups.items():
            self.browse(ids).update(dict(zip(fnames, values, strict=True)))

    @api.depends("project_id", "account_id", "move_line_id")
    def _compute_booking_project_id(self):
        """Timesheets are booked on their project; other analytic lines on the project of
        their analytic account. Lines of customer invoices and credit notes carry the
        project's revenue, not a cost: they are no booking lines."""
        values = []
        other_ids = []
        for line in self:
            project = line.project_id
            if project:
                values.append((line, (project.id, "hours")))
            else:
                other_ids.append(line.id)
        not_timesheets = self.browse(other_ids)
        others = not_timesheets.filtered(
            lambda line: not line.move_line_id.move_id.is_sale_document(include_receipts=True)
        )
        project_by_account = {}
        if others.account_id:
            projects = self.env["project.project"].sudo().with_context(active_test=False).search(
                [("account_id", "in", others.account_id.ids)], order="id"
            )
            for project in projects:
                project_by_account.setdefault(project.account_id.id, project.id)
        for line in others:
            project_id = project_by_account.get(line.account_id.id, False)
            values.append((line, (project_id, "cost" if project_id else False)))
        # the revenue of customer invoices
        values.extend((line, (False, False)) for line in not_timesheets - others)
        self._hie_assign(("booking_project_id", "booking_kind"), values)

    @api.depends("booking_project_id.invoicing_type", "product_id")
    def _compute_is_direct(self):
        direct_projects = set(self.booking_project_id.filtered(
            lambda project: project.invoicing_type != "internal"
        ).ids)
        indirect_products = set(self.product_id.filtered(
            lambda product: product.hours_kind == "indirect"
        ).ids)
        self._hie_assign(("is_direct",), (
            (line, (line.booking_project_id.id in direct_projects
                    and line.product_id.id not in indirect_products,))
            for line in self
            if not line.invoice_id  # billed lines keep what they were billed as
        ))

    def _compute_billing_link(self):
        links = self.env["hie.billing.link"]._read_by_booking_lines(
            [line_id for line_id in self._origin.ids if line_id]
        )
        for line in self:
            move_id, move_line_id = links.get(line._origin.id, (None, None))
            line.invoice_id = move_id
            line.invoice_line_id = move_line_id

    @api.depends("booking_project_id.invoicing_type", "is_direct", "invoice_id")
    def _compute_billing_status(self):
        status = self.env["hie.billing.link"]._billing_status
        for line in self:
            project = line.booking_project_id
            line.billing_status = status(
                bool(project), bool(line.invoice_id), project.invoicing_type, line.is_direct
            )

    # ------------------------------------------------------------------
    # The billing link in SQL: search and group by (the link model's domains)
    # ------------------------------------------------------------------
    def _search_invoice_id(self, operator, value):
        return self.env["hie.billing.link"]._search_link("move_id", "account.move", operator,
                                                         value)

    def _search_invoice_line_id(self, operator, value):
        return self.env["hie.billing.link"]._search_link("move_line_id", "account.move.line",
                                                         operator, value)

    def _search_billing_status(self, operator, value):
        return self.env["hie.billing.link"]._search_billing_status(operator, value)

    def _read_group_groupby(self, groupby_spec, query):
        if groupby_spec != "billing_status":
            return super()._read_group_groupby(groupby_spec, query)
        return self.env["hie.billing.link"]._group_by_billing_status(self, query)

    @api.depends(
        "booking_project_id", "booking_kind", "unit_amount", "employee_id",
        "product_id", "revenue_override", "revenue_manual", "company_id",
    )
    def _compute_revenue(self):
        """Resolve revenue for the whole batch with a fixed number of queries.

        The revenue of other costs also follows their cost (markups); that dependency is
        declared in :meth:`write` for cost lines only, so that the per-line write of the cost
        that hr_timesheet does on every new timesheet does not schedule the revenue again.
        """
        fnames = ("revenue_amount", "revenue_unit_rate", "revenue_source",
                  "revenue_agreement_id")
        booked = self.booking_project_id
        if not booked:
            self._hie_assign(fnames, ((line, (0.0, 0.0, False, False)) for line in self))
            return
        agreements_by_scope = self._hie_load_agreements(booked)
        principals = {project.id: project.partner_id.commercial_partner_id.id
                      for project in booked}

        def scope(project_id, company_id):
            # only the agreements of the line's own company price it
            return (
                agreements_by_scope.get(("project", project_id), {}).get(company_id, ()),
                agreements_by_scope.get(
                    ("partner", principals[project_id]), {}).get(company_id, ()),
            )

        facts_key, facts = self._hie_facts_builder()
        resolved = {}  # lines of a batch mostly repeat a few (project, company, facts) keys
        values = []
        for line in self:
            project_id = line.booking_project_id.id
            if not project_id:
                values.append((line, (0.0, 0.0, False, False)))
                continue
            if line.invoice_id:
                continue  # invoiced lines keep the revenue they were invoiced at
            key = (project_id, line.company_id.id, facts_key(line))
            if key not in resolved:
                resolution = rates.resolve(facts(key[2]), *scope(project_id, key[1]))
                resolved[key] = (resolution.revenue, resolution.unit_rate, resolution.source,
                                 resolution.agreement_id or False)
            values.append((line, resolved[key]))
        self._hie_assign(fnames, values)

    @api.model
    def _hie_load_agreements(self, projects):
        """Active agreements of the projects and their principals, as plain data, keyed by
        ``("project", id)`` and ``("partner", id)``, then by the agreement's company id: a
        line is priced only by the agreements of its own company.

        They are kept for the rest of the transaction (dropped on any change of an
        agreement, and on rollback), so that computing the revenue of a large batch, which
        the ORM does in chunks, reads them once and not once per chunk.
        """
        memo = self.env.cr.precommit.data.setdefault(AGREEMENTS_MEMO, {})
        projects = projects.sudo()
        principals = projects.partner_id.commercial_partner_id
        project_ids = [pid for pid in projects.ids if ("project", pid) not in memo]
        partner_ids = [pid for pid in principals.ids if ("partner", pid) not in memo]
        if project_ids or partner_ids:
            memo.update({("project", pid): {} for pid in project_ids})
            memo.update({("partner", pid): {} for pid in partner_ids})
            agreements = self.env["project.rate.agreement"].sudo().search([
                "|", ("project_id", "in", project_ids), ("partner_id", "in", partner_ids),
            ])
            for agreement in agreements:
                key = (
                    ("project", agreement.project_id.id) if agreement.project_id
                    else ("partner", agreement.partner_id.id)
                )
                memo[key].setdefault(agreement.company_id.id, []).append(
                    agreement._to_rate_agreement()
                )
        return memo

    def _hie_facts_builder(self):
        """Read what the resolver needs of the products and employees of these lines once.

        Return two functions: one that reads the few values of one line that its revenue
        depends on (a plain tuple, cheap to compare: a batch mostly repeats a few of them),
        and one that turns such a tuple into the resolver's plain data.
        """
        products = {
            product.id: (
                product.lst_price,
                tuple(int(cid) for cid in reversed(
                    (product.categ_id.parent_path or "").strip("/").split("/")) if cid),
            )
            for product in self.product_id
        }
        employee_rates = {
            employee.id: employee.timesheet_sale_rate for employee in self.employee_id.sudo()
        }
        digits = {currency.id: currency.decimal_places for currency in self.currency_id}

        def facts_key(line):
            hours = line.booking_kind == "hours"
            return (
                hours,
                line.unit_amount,
                0.0 if hours else -line.amount,  # the cost matters to other costs only
                line.employee_id.id,
                line.product_id.id,
                line.revenue_manual if line.revenue_override else None,
                line.currency_id.id,
            )

        def facts(key):
            hours, quantity, cost, employee_id, product_id, override, currency_id = key
            price, categ_path = products.get(product_id, (0.0, ()))
            return rates.LineFacts(
                kind=rates.HOURS if hours else rates.COST,
                quantity=quantity,
                cost=cost,
                employee_id=employee_id or None,
                product_id=product_id or None,
                categ_path=categ_path,
                employee_rate=employee_rates.get(employee_id, 0.0),
                product_price=price,
                override=override,
                digits=digits.get(currency_id, 2),
            )

        return facts_key, facts

    def _hie_mark_revenue_to_recompute(self):
        """Recompute the revenue of these lines (when agreements or costs change)."""
        lines = self.filtered(lambda line: not line.invoice_id)
        if not lines:
            return
        self.env["hie.billing.link"]._wait_for_billing(lines)
        for fname in ("revenue_amount", "revenue_unit_rate", "revenue_source",
                      "revenue_agreement_id"):
            self.env.add_to_compute(self._fields[fname], lines)

    # ------------------------------------------------------------------
    # The booking gate: one rule, on every path (form, list, import, RPC)
    # ------------------------------------------------------------------
    def _hie_check_booking_allowed(self):
        projects = self.sudo().booking_project_id
        for project in projects:
            reason = project._get_booking_blocked_reason()
            if reason:
                raise ValidationError(_(
                    "You cannot book hours or costs on project “%(project)s”: %(reason)s.",
                    project=project.display_name,
                    reason=reason,
                ))

    def _check_can_create(self):
        res = super()._check_can_create()
        self._hie_check_booking_allowed()
        return res

    def _hie_sync_cost_amount(self):
        """Other costs entered by hand cost quantity × unit cost (one write per distinct
        amount)."""
        lines_by_amount = defaultdict(list)
        for line in self:
            if line.project_id or line.move_line_id or not line.cost_unit_price:
                continue
            amount = line.currency_id.round(-line.unit_amount * line.cost_unit_price)
            if line.currency_id.compare_amounts(line.amount, amount):
                lines_by_amount[amount].append(line.id)
        for amount, ids in lines_by_amount.items():
            self.browse(ids).write({"amount": amount})

    def _hie_check_override_rights(self, vals):
        if not vals.keys().isdisjoint(("revenue_override", "revenue_manual")) and not (
            self.env.su
            or self.env.user.has_group("hr_timesheet.group_hr_timesheet_approver")
            or self.env.user.has_group("project.group_project_manager")
        ):
            raise AccessError(_(
                "Only timesheet approvers and project managers may set the revenue of a booking "
                "line by hand."
            ))

    def _hie_set_cost_amount(self):
        """Set the cost of these lines to minus their amount, in one assignment per distinct
        amount, the way the ORM assigns computed values (no write() per line).

        create() does this at its end for the lines it created and for the lines whose
        amount was written while it ran: hr_timesheet writes the cost of every new timesheet
        with one write() per line, and converting a monetary value next to each of those
        writes (or in the INSERT) is what made booking lines slow to create in bulk.
        """
        lines_by_cost = defaultdict(list)
        for line in self:
            lines_by_cost[-line.amount].append(line.id)
        # a new line holds the empty default in cache: nothing worth comparing with
        self.invalidate_recordset(["cost_amount"])
        with self.env.protecting([self._fields["cost_amount"]], self):
            for cost, ids in lines_by_cost.items():
                self.browse(ids).cost_amount = cost
        self.modified(["cost_amount"])

    @api.model_create_multi
    def create(self, vals_list):
        Link = self.env["hie.billing.link"]
        vals_list = Link._check_link_create(vals_list)
        default_products = {}  # project id → its default service product id
        for vals in vals_list:
            self._hie_check_override_rights(vals)
            if not self.env.context.get(APPROVAL_WRITE) and \
                    vals.get("hie_approval_state", "draft") != "draft":
                raise UserError(_(
                    "New hours are not approved yet: they are submitted and approved with "
                    "their week."
                ))
            vals.pop("hie_approval_state", None)
            project_id = vals.get("project_id")
            if project_id and not vals.get("product_id"):
                if project_id not in default_products:
                    default_products[project_id] = self.env["project.project"].sudo().browse(
                        project_id).default_service_product_id.id
                if default_products[project_id]:
                    vals["product_id"] = default_products[project_id]
            elif (vals.get("cost_unit_price") and not project_id and not vals.get("task_id")
                  and not vals.get("move_line_id")):
                # other costs entered by hand: their amount goes into the INSERT
                vals["amount"] = -(vals.get("unit_amount") or 0.0) * vals["cost_unit_price"]
        transaction_data = self.env.cr.precommit.data
        outermost = COST_PENDING not in transaction_data
        if outermost:
            transaction_data[COST_PENDING] = set()
        try:
            lines = super().create(vals_list)
        finally:
            pending = transaction_data.pop(COST_PENDING) if outermost else ()
        # new lines have no billing link: known without a query (else the computes below
        # read the link table once per 1,000 lines)
        Link._set_cache(lines)
        # the cost of lines whose amount was written meanwhile (by hr_timesheet, or another
        # create nested in this one) follows here, with the cost of the new lines
        others = self.browse(set(pending).difference(lines.ids)).exists()
        (lines | others).sudo()._hie_set_cost_amount()
        lines._hie_follow_week(added=True)
        return lines

    @api.model
    def load(self, fields, data):
        fields, data = self.env["hie.billing.link"]._import_fields_and_data(fields, data)
        return super().load(fields, data)

    def write(self, vals):
        # hr_timesheet writes the cost of every new timesheet line by line: keep that path
        # free of checks that cannot apply to it
        Link = self.env["hie.billing.link"]
        vals = Link._check_link_write(self, vals)
        if not vals.keys().isdisjoint(Link._get_protected_fields()):
            Link._check_lock(self, vals)
        self._hie_check_override_rights(vals)
        vals, corrections = self._hie_check_approval_lock(vals)
        if "amount" in vals:
            pending = self.env.cr.precommit.data.get(COST_PENDING)
            if pending is None:
                vals = dict(vals, cost_amount=-vals["amount"])
            else:  # a create() is running: it sets the cost at its end, see there
                pending.update(self.ids)
        moving = not vals.keys().isdisjoint(("project_id", "account_id", "task_id"))
        projects_before = self.booking_project_id if moving else None
        if corrections and len(corrections) == len(self) and not self.env.su:
            # the reviewer corrects the hours he reviews, also without the right to write
            # other employees' timesheets (checked in _hie_check_approval_lock)
            res = super(AccountAnalyticLine, self.sudo()).write(vals)
        else:
            res = super().write(vals)
        if not vals.keys().isdisjoint(("cost_unit_price", "unit_amount")):
            self._hie_sync_cost_amount()
        if "amount" in vals:
            cost_lines = self.filtered(
                lambda line: not line.project_id and line.booking_kind == "cost"
            )
            if cost_lines:
                cost_lines._hie_mark_revenue_to_recompute()
        if moving:
            moved = self.filtered(
                lambda line: line.booking_project_id
                and line.booking_project_id not in projects_before
            )
            # A line moved onto a project must meet the booking rule of its new project.
            moved._hie_check_booking_allowed()
        if not vals.keys().isdisjoint(("date", "employee_id", "project_id")):
            self._hie_follow_week()
        if corrections:
            self.env["hie.timesheet.week"]._hie_track_corrections(corrections)
        return res

    @api.onchange("project_id")
    def _onchange_project_id_hie_activity(self):
        """Hours booked in the timesheet views propose the project's default activity (the
        same default create() applies when no activity is given)."""
        for line in self:
            previous = line._origin.project_id.sudo().default_service_product_id
            if line.project_id and (not line.product_id or line.product_id == previous):
                line.product_id = (line.project_id.sudo().default_service_product_id
                                   or line.product_id)

    @api.onchange("product_id", "product_uom_id", "unit_amount", "currency_id")
    def on_change_unit_amount(self):
        """account's onchange prices a line at the product's cost: not for hours, whose cost
        is the employee's (hr_timesheet), nor their unit, which the activity must not
        change."""
        if self.project_id:
            return {}
        return super().on_change_unit_amount()

    @api.onchange("cost_unit_price", "unit_amount")
    def _onchange_cost_unit_price(self):
        for line in self:
            if line.cost_unit_price and not line.project_id and not line.move_line_id:
                line.amount = -line.unit_amount * line.cost_unit_price

    @api.constrains("is_direct", "booking_project_id")
    def _check_is_direct(self):
        internal = self.booking_project_id.filtered(
            lambda project: project.invoicing_type == "internal"
        )
        if not internal:
            return
        for line in self.filtered("is_direct"):
            if line.booking_project_id in internal:
                raise ValidationError(_(
                    "Hours on the internal project “%s” are indirect.",
                    line.booking_project_id.display_name,
                ))

    # ------------------------------------------------------------------
    # The billing lock: held by the link model (protected fields, guard, link fields)
    # ------------------------------------------------------------------
    def unlink(self):
        self.env["hie.billing.link"]._check_lock(self)
        _vals, corrections = self._hie_check_approval_lock(None)
        if corrections:
            self.env["hie.timesheet.week"]._hie_track_corrections(corrections)
            if len(corrections) == len(self) and not self.env.su:
                # the reviewer removes hours he reviews (checked above)
                return super(AccountAnalyticLine, self.sudo()).unlink()
        return super().unlink()

    # ------------------------------------------------------------------
    # The approval lock: submitted and approved hours change only by their reviewer
    # ------------------------------------------------------------------
    def _hie_reviewer(self):
        """The users who review this booking line: by the company's setting the project
        manager of the project, or the employee's manager (also when the project has no
        manager or the employee manages it); a timesheet administrator when neither
        exists. Nobody reviews their own hours."""
        self.ensure_one()
        line = self.sudo()
        Users = self.env["res.users"]
        own = line.employee_id.user_id
        reviewer = Users
        if line.company_id.hie_timesheet_reviewer != "employee_manager":
            manager = line.project_id.user_id
            if manager and manager != own:
                reviewer = manager
        if not reviewer:
            manager = line.employee_id.parent_id.user_id
            if manager and manager != own:
                reviewer = manager
        return reviewer

    def _hie_filter_reviewable(self, user=None):
        """The lines of these that ``user`` (the current user) reviews."""
        user = user or self.env.user
        is_admin = None

        def reviews(line):
            nonlocal is_admin
            reviewer = line._hie_reviewer()
            if reviewer:
                return reviewer == user
            if line.sudo().employee_id.user_id == user:
                return False
            if is_admin is None:
                is_admin = user.has_group("hr_timesheet.group_timesheet_manager")
            return is_admin

        return self.filtered(reviews)

    def _hie_check_approval_lock(self, vals):
        """Submitted and approved hours: their employee (anyone but their reviewer) cannot
        change or delete them, on any path (form, list, grid, import, RPC); the approval
        state is written by the week's actions only. Return ``vals`` (without an unchanged
        approval state) and the changes of the reviewer to post on the weeks, as a list of
        ``(line, text)``."""
        if vals is not None and "hie_approval_state" in vals \
                and not self.env.context.get(APPROVAL_WRITE):
            if any(line.hie_approval_state != vals["hie_approval_state"]
                   for line in self.sudo()):
                raise UserError(_(
                    "Hours are submitted, approved and sent back with their week, not by "
                    "writing their approval state."
                ))
            vals = {key: value for key, value in vals.items() if key != "hie_approval_state"}
        if vals is not None and vals.keys().isdisjoint(APPROVAL_LOCKED_FIELDS):
            return vals, []
        locked = self.sudo().filtered(
            lambda line: line.hie_approval_state in LOCKED_LINE_STATES)
        if not locked:
            return vals, []
        changes = {}
        for line in locked:
            changed = list(APPROVAL_LOCKED_FIELDS) if vals is None else [
                fname for fname in APPROVAL_LOCKED_FIELDS if fname in vals
                and self._hie_value_changes(line, fname, vals[fname])
            ]
            if changed:
                changes[line] = changed
        if not changes:
            return vals, []
        if not self.env.su:
            changed_lines = self.browse([line.id for line in changes])
            refused = changed_lines - changed_lines._hie_filter_reviewable()
            if refused:
                line = refused[0].sudo()
                states = dict(self._fields["hie_approval_state"]._description_selection(
                    self.env))
                raise UserError(_(
                    "You cannot change or delete the hours of %(date)s on “%(project)s”: they "
                    "are %(state)s. Ask your reviewer to send the week back, or to correct "
                    "them.",
                    date=line.date, project=line.project_id.display_name,
                    state=states[line.hie_approval_state].lower(),
                ))
        Week = self.env["hie.timesheet.week"]
        corrections = []
        for line, changed in changes.items():
            before = Week._hie_describe_line(line)
            if vals is None:
                text = _("deleted: %s", before)
            else:
                text = _("%(line)s: %(fields)s changed", line=before, fields=", ".join(
                    f"{line._fields[fname].get_description(self.env)['string']} → "
                    f"{self._hie_display_value(line, fname, vals[fname])}"
                    for fname in changed
                ))
            corrections.append((line, text))
        return vals, corrections

    @api.model
    def _hie_value_changes(self, line, fname, value):
        field = line._fields[fname]
        new = field.convert_to_record(field.convert_to_cache(value, line), line)
        if field.type == "float":
            return field.convert_to_cache(line[fname], line) != field.convert_to_cache(new, line)
        return new != line[fname]

    @api.model
    def _hie_display_value(self, line, fname, value):
        field = line._fields[fname]
        new = field.convert_to_record(field.convert_to_cache(value, line), line)
        if field.type == "many2one":
            return new.display_name or ""
        return str(new if new not in (None, False) else "")

    def _hie_follow_week(self, added=False):
        """Hours added to (or moved into) a submitted or approved week take its state: only
        its reviewers may (tracked on the week); hours moved out of such a week are draft
        again."""
        if self.env.context.get(APPROVAL_WRITE):
            return
        hours = self.sudo().filtered(lambda line: line.project_id and line.employee_id)
        if not hours:
            return
        Week = self.env["hie.timesheet.week"].sudo()
        weeks = Week.search([
            ("employee_id", "in", hours.employee_id.ids),
            ("date_start", "in", list({week_start(line.date) for line in hours})),
            ("state", "in", ("submitted", "approved")),
        ])
        state_by_key = {(week.employee_id.id, week.date_start): week.state for week in weeks}
        by_state = defaultdict(list)
        for line in hours:
            state = state_by_key.get((line.employee_id.id, week_start(line.date)), "draft")
            if state != line.hie_approval_state:
                by_state[state].append(line.id)
        into_locked = self.browse(by_state.get("submitted", []) + by_state.get("approved", []))
        if into_locked and not self.env.su:
            refused = into_locked - into_locked._hie_filter_reviewable()
            if refused:
                line = refused[0].sudo()
                raise UserError(_(
                    "You cannot book hours on %(date)s: the week of %(employee)s is submitted "
                    "or approved. Ask the reviewer to send it back.",
                    date=line.date, employee=line.employee_id.name,
                ))
        for state, ids in by_state.items():
            self.browse(ids).sudo().with_context(**{APPROVAL_WRITE: True}).write(
                {"hie_approval_state": state})
        if into_locked:
            Week = self.env["hie.timesheet.week"]
            Week._hie_track_corrections([
                (line, (_("added: %s", Week._hie_describe_line(line)) if added
                        else _("moved: %s", Week._hie_describe_line(line))))
                for line in into_locked.sudo()
            ])
