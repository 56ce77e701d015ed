# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, mute_logger

from ..services import rates

AGREEMENTS_MEMO = "hours_invoicing_exact.rate_agreements"
# The values derived by the addon are read together, and only when one of them is needed:
# plain reads of analytic lines (and hr_timesheet's own reads while it creates timesheets)
# do not load them, so that computing them on new lines finds nothing to compare with.
BOOKING_PREFETCH = "hie_booking"
# While create() runs: ids of the lines whose amount was written (see _hie_set_cost_amount)
COST_PENDING = "hours_invoicing_exact.cost_pending"


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
    # The billing link lives in hie.billing.link (one narrow row per billed line): the three
    # fields below are read from it, searched and grouped in SQL, never stored on the line.
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
        inverse="_inverse_billing_link",
        search="_search_invoice_line_id",
        readonly=True,
        help="The invoice line that bills this booking line.",
    )
    invoice_id = fields.Many2one(
        comodel_name="account.move",
        string="Billed on Invoice",
        compute="_compute_billing_link",
        inverse="_inverse_billing_link",
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
        ids = [line_id for line_id in self._origin.ids if line_id]
        links = {}
        if ids:
            self.env["hie.billing.link"].flush_model()
            self.env.cr.execute(
                "SELECT booking_line_id, move_id, move_line_id FROM hie_billing_link"
                " WHERE booking_line_id = ANY(%s)",
                (ids,),
            )
            links = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for line in self:
            move_id, move_line_id = links.get(line._origin.id, (None, None))
            line.invoice_id = move_id
            line.invoice_line_id = move_line_id

    def _inverse_billing_link(self):
        """Writing the invoice (line) of booking lines links them, writing nothing releases
        them, by the same set-based path as invoicing."""
        links = []
        for line in self:
            move = line.invoice_id or line.invoice_line_id.move_id
            links.append((line.id, line.invoice_line_id.id, move.id))
        self._hie_release()
        self._hie_set_billing_links(link for link in links if link[2])

    @api.depends("booking_project_id.invoicing_type", "is_direct", "invoice_id")
    def _compute_billing_status(self):
        for line in self:
            project = line.booking_project_id
            if not project:
                line.billing_status = False
            elif line.invoice_id:
                line.billing_status = "invoiced"
            elif project.invoicing_type == "time_material" and line.is_direct:
                line.billing_status = "to_invoice"
            else:
                line.billing_status = "not_billable"

    # ------------------------------------------------------------------
    # The billing link in SQL: search and group by
    # ------------------------------------------------------------------
    @api.model
    def _hie_linked_domain(self, condition=None):
        """Lines with a billing link (that meets ``condition`` on link alias ``k``)."""
        return [("id", "in", SQL(
            "(SELECT k.booking_line_id FROM hie_billing_link k WHERE %s)",
            condition or SQL("TRUE"),
        ))]

    @api.model
    def _hie_unlinked_domain(self, condition=None):
        """Lines without a billing link (that meets ``condition`` on link alias ``k``);
        an anti-join, which stays linear on any number of billed lines (``NOT IN`` would not
        once the billed ids no longer fit in memory)."""
        return [("id", "in", SQL(
            "(SELECT l.id FROM account_analytic_line l WHERE NOT EXISTS ("
            "SELECT 1 FROM hie_billing_link k WHERE k.booking_line_id = l.id AND %s))",
            condition or SQL("TRUE"),
        ))]

    @api.model
    def _hie_read_unbilled_groups(self, domain):
        """The unbilled lines of ``domain`` summed per project, activity, employee, rate, unit
        and kind, in one query: rows of (project, product, employee, rate, uom, kind,
        quantity, revenue, line ids).

        The "not billed" condition is a ``NOT EXISTS`` on the link table correlated with the
        lines of the query (an anti-join), which a domain cannot express for a non-stored
        field.
        """
        query = self._search(domain)
        alias = query.table
        query.add_where(SQL(
            "NOT EXISTS (SELECT 1 FROM hie_billing_link k WHERE k.booking_line_id = %s)",
            SQL.identifier(alias, "id"),
        ))
        keys = ["booking_project_id", "product_id", "employee_id", "revenue_unit_rate",
                "product_uom_id", "booking_kind"]
        columns = [self._field_to_sql(alias, fname, query) for fname in keys]
        query.groupby = SQL(", ").join(columns)
        rows = self.env.execute_query(query.select(
            *columns,
            SQL("SUM(%s)", self._field_to_sql(alias, "unit_amount", query)),
            SQL("SUM(%s)", self._field_to_sql(alias, "revenue_amount", query)),
            SQL("ARRAY_AGG(%s ORDER BY %s)", SQL.identifier(alias, "id"),
                SQL.identifier(alias, "id")),
        ))
        Project, Product = self.env["project.project"], self.env["product.product"]
        Employee, Uom = self.env["hr.employee"], self.env["uom.uom"]
        return [
            (Project.browse(project_id), Product.browse(product_id),
             Employee.browse(employee_id), rate or 0.0, Uom.browse(uom_id), kind,
             qty or 0.0, revenue or 0.0, ids)
            for project_id, product_id, employee_id, rate, uom_id, kind, qty, revenue, ids
            in rows
        ]

    @api.model
    def _hie_search_link(self, column, comodel, operator, value):
        """Domain for ``(invoice_id|invoice_line_id, operator, value)`` over the links."""
        has = SQL("%s IS NOT NULL", SQL.identifier("k", column))
        if operator in ("any", "not any"):
            value = list(self.env[comodel]._search(value))
            operator = "in" if operator == "any" else "not in"
        elif operator not in ("=", "!=", "in", "not in"):
            negative = operator in expression.NEGATIVE_TERM_OPERATORS
            if negative:
                operator = expression.TERM_OPERATORS_NEGATION[operator]
            value = list(self.env[comodel]._search([("display_name", operator, value)]))
            operator = "not in" if negative else "in"
        if isinstance(value, models.BaseModel):
            value = value.ids or [False]
        elif operator in ("=", "!="):
            value = [value]
        if operator in ("=", "!="):
            operator = "in" if operator == "=" else "not in"
        ids = [int(v) for v in value if v]
        with_false = len(ids) < len(value)
        match = SQL("%s AND %s = ANY(%s)", has, SQL.identifier("k", column), ids)
        if operator == "in":
            domain = self._hie_linked_domain(match) if ids else [("id", "in", [])]
            if with_false:
                domain = expression.OR([domain, self._hie_unlinked_domain(has)])
            return domain
        if with_false:
            return self._hie_linked_domain(
                SQL("%s AND NOT %s = ANY(%s)", has, SQL.identifier("k", column), ids)
                if ids else has
            )
        return self._hie_unlinked_domain(match) if ids else []

    def _search_invoice_id(self, operator, value):
        return self._hie_search_link("move_id", "account.move", operator, value)

    def _search_invoice_line_id(self, operator, value):
        return self._hie_search_link("move_line_id", "account.move.line", operator, value)

    @api.model
    def _hie_billing_status_domains(self):
        billable = [("booking_project_id.invoicing_type", "=", "time_material"),
                    ("is_direct", "=", True)]
        return {
            False: [("booking_project_id", "=", False)],
            "invoiced": [("booking_project_id", "!=", False)] + self._hie_linked_domain(),
            "to_invoice": billable + self._hie_unlinked_domain(),
            "not_billable": expression.AND([
                [("booking_project_id", "!=", False)],
                expression.OR([[("booking_project_id.invoicing_type", "!=", "time_material")],
                               [("is_direct", "!=", True)]]),
                self._hie_unlinked_domain(),
            ]),
        }

    def _search_billing_status(self, operator, value):
        domains = self._hie_billing_status_domains()
        if operator in ("=", "!="):
            value = [value]
            operator = "in" if operator == "=" else "not in"
        if operator not in ("in", "not in"):
            raise UserError(_("Billing status cannot be searched with “%s”.", operator))
        wanted = {status or False for status in value}
        if operator == "not in":
            wanted = set(domains) - wanted
        return expression.OR([domains[status] for status in domains if status in wanted]) \
            if wanted else [("id", "in", [])]

    def _read_group_groupby(self, groupby_spec, query):
        if groupby_spec != "billing_status":
            return super()._read_group_groupby(groupby_spec, query)
        alias = query.table
        link = query.make_alias(alias, "hie_billing_link")
        query.add_join("LEFT JOIN", link, "hie_billing_link", SQL(
            "%s = %s", SQL.identifier(link, "booking_line_id"), SQL.identifier(alias, "id"),
        ))
        project = query.make_alias(alias, "hie_status_project")
        query.add_join("LEFT JOIN", project, "project_project", SQL(
            "%s = %s", SQL.identifier(project, "id"),
            SQL.identifier(alias, "booking_project_id"),
        ))
        return SQL(
            """CASE WHEN %(line)s IS NULL THEN NULL
                    WHEN %(link)s IS NOT NULL THEN 'invoiced'
                    WHEN %(direct)s AND %(type)s = 'time_material' THEN 'to_invoice'
                    ELSE 'not_billable' END""",
            line=self._field_to_sql(alias, "booking_project_id", query),
            link=SQL.identifier(link, "id"),
            direct=self._field_to_sql(alias, "is_direct", query),
            type=SQL.identifier(project, "invoicing_type"),
        )

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
        lines._hie_wait_for_billing()
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
        default_products = {}  # project id → its default service product id
        for vals in vals_list:
            self._hie_check_override_rights(vals)
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
        # new lines have no billing link unless their values link them: known without a
        # query (else the computes below read the link table once per 1,000 lines)
        unlinked = [
            line.id for line, vals in zip(lines, vals_list, strict=True)
            if not vals.get("invoice_id") and not vals.get("invoice_line_id")
        ]
        for fname in ("invoice_id", "invoice_line_id"):
            self.env.cache.update(self.browse(unlinked), self._fields[fname],
                                  [None] * len(unlinked))
        # the cost of lines whose amount was written meanwhile (by hr_timesheet, or another
        # create nested in this one) follows here, with the cost of the new lines
        others = self.browse(set(pending).difference(lines.ids)).exists()
        (lines | others).sudo()._hie_set_cost_amount()
        return lines

    def write(self, vals):
        # hr_timesheet writes the cost of every new timesheet line by line: keep that path
        # free of checks that cannot apply to it
        if not vals.keys().isdisjoint(self._get_protected_fields()):
            self._hie_check_billing_lock(vals)
        self._hie_check_override_rights(vals)
        if "amount" in vals:
            pending = self.env.cr.precommit.data.get(COST_PENDING)
            if pending is None:
                vals = dict(vals, cost_amount=-vals["amount"])
            else:  # a create() is running: it sets the cost at its end, see there
                pending.update(self.ids)
        if vals.get("invoice_id"):
            # lines are invoiced at the revenue they have now: settle pending computations
            self.mapped("revenue_amount")
        moving = not vals.keys().isdisjoint(("project_id", "account_id", "task_id"))
        projects_before = self.booking_project_id if moving else None
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
    # The billing lock: one list of fields, one guard for write and unlink
    # ------------------------------------------------------------------
    @api.model
    def _get_protected_fields(self):
        """Fields of a billed booking line that cannot change while it is on an invoice.

        Not protected: the description (``name``) and the cost side (``amount``,
        ``cost_amount``, ``cost_unit_price``): recomputing the cost of invoiced hours, e.g.
        after a retroactive change of an employee's hourly cost, does not change the invoice.
        """
        return [
            "date", "project_id", "task_id", "employee_id", "product_id", "unit_amount",
            "product_uom_id", "revenue_unit_rate", "revenue_amount", "is_direct",
            "revenue_override", "revenue_manual", "account_id",
        ]

    def _hie_changed_protected_fields(self, vals):
        """Names of the protected fields that ``vals`` really changes on this line."""
        self.ensure_one()
        changed = []
        for fname in set(self._get_protected_fields()) & set(vals):
            field = self._fields[fname]
            new = field.convert_to_record(field.convert_to_cache(vals[fname], self), self)
            if field.type == "float":
                if field.convert_to_cache(self[fname], self) != field.convert_to_cache(new, self):
                    changed.append(fname)
            elif new != self[fname]:
                changed.append(fname)
        return changed

    def _hie_check_billing_lock(self, vals=None):
        """Refuse changing protected fields (``vals``) or deleting (``vals`` is None) billed
        booking lines, naming the invoice. Every write of a protected field and every unlink
        passes here."""
        self._hie_wait_for_billing()
        billed = self.sudo().filtered("invoice_id")
        for line in billed:
            if vals is None:
                raise UserError(_(
                    "You cannot delete the booking line “%(line)s” of %(date)s: it is billed on "
                    "invoice %(invoice)s. Remove it from the draft invoice, or cancel or credit "
                    "the invoice first.",
                    line=line.name or "", date=line.date, invoice=line.invoice_id.display_name,
                ))
            changed = line._hie_changed_protected_fields(vals)
            if changed:
                raise UserError(_(
                    "You cannot change %(fields)s of the booking line “%(line)s” of %(date)s: it "
                    "is billed on invoice %(invoice)s. Only the description can still be "
                    "corrected. Remove the line from the draft invoice, or cancel or credit the "
                    "invoice first.",
                    fields=", ".join(
                        sorted(line._fields[fname].get_description(self.env)["string"]
                               for fname in changed)
                    ),
                    line=line.name or "", date=line.date, invoice=line.invoice_id.display_name,
                ))

    def _hie_wait_for_billing(self):
        """Serialize a change of these lines with the billing of their projects.

        Billing takes and marks the rows of the billed projects (see
        :meth:`project.project._hie_lock_for_billing`), not the booking lines. Taking a share
        lock on the same rows here waits for a billing in progress, and fails as a concurrent
        update (which Odoo retries, and the retry then sees the lines billed) when a billing
        committed after this transaction's snapshot, which still shows the lines unbilled.
        """
        projects = self.sudo().booking_project_id
        if projects:
            self.env.cr.execute(
                "SELECT id FROM project_project WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                (projects.ids,),
            )

    def unlink(self):
        self._hie_check_billing_lock()
        return super().unlink()

    # ------------------------------------------------------------------
    # Billing links, set-based (one query for any number of lines)
    # ------------------------------------------------------------------
    @api.model
    def _hie_set_billing_links(self, links):
        """Link unbilled booking lines to invoices.

        :param links: iterable of ``(booking line id, invoice line id or False, invoice id)``

        One INSERT into the narrow link table for the whole batch; the booking lines
        themselves are not written. The database refuses a line that is already linked
        (also by a concurrent transaction, committed or not): it becomes a clear error and
        nothing of the batch is linked.
        """
        links = [link for link in links if link[2]]
        if not links:
            return
        self._hie_check_link_companies(links)
        self.env["hie.billing.link"].flush_model()
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    INSERT INTO hie_billing_link (booking_line_id, move_line_id, move_id)
                    SELECT * FROM unnest(%s::int[], %s::int[], %s::int[])
                    """,
                    (
                        [link[0] for link in links],
                        [link[1] or None for link in links],
                        [link[2] for link in links],
                    ),
                )
        except (pg_errors.UniqueViolation, pg_errors.SerializationFailure,
                pg_errors.LockNotAvailable) as exc:
            raise UserError(_(
                "Some of these hours are already billed, or being invoiced by someone else at "
                "this moment. Nothing was invoiced; try again in a moment: hours that are "
                "billed by then are left out."
            )) from exc
        self._hie_billing_links_changed(links)

    @api.model
    def _hie_check_link_companies(self, links):
        """A booking line is billed only on an invoice of its own company: refuse links
        (``(booking line id, invoice line id, invoice id)``) that cross companies, whatever
        path makes them (one query for the batch)."""
        self.flush_model(["company_id"])
        self.env["account.move"].flush_model(["company_id"])
        self.env.cr.execute(
            """
            SELECT l.id, m.id
              FROM unnest(%s::int[], %s::int[]) AS k(line_id, move_id)
              JOIN account_analytic_line l ON l.id = k.line_id
              JOIN account_move m ON m.id = k.move_id
             WHERE l.company_id != m.company_id
             LIMIT 1
            """,
            ([link[0] for link in links], [link[2] for link in links]),
        )
        row = self.env.cr.fetchone()
        if row:
            line = self.sudo().browse(row[0])
            move = self.env["account.move"].sudo().browse(row[1])
            raise UserError(_(
                "The booking line “%(line)s” of %(date)s belongs to %(line_company)s and cannot "
                "be billed on invoice %(invoice)s of %(invoice_company)s: hours are invoiced "
                "in their own company.",
                line=line.name or "", date=line.date, line_company=line.company_id.name,
                invoice=move.display_name, invoice_company=move.company_id.name,
            ))

    def _hie_release(self):
        """Make these billed lines billable again."""
        if not self:
            return
        self.env["hie.billing.link"].flush_model()
        self.env.cr.execute(
            "DELETE FROM hie_billing_link WHERE booking_line_id = ANY(%s)", (self.ids,)
        )
        self._hie_billing_links_changed([(line_id, False, False) for line_id in self.ids])

    @api.model
    def _hie_billing_links_changed(self, links):
        """Tell the caches what the link table says now (no line was written)."""
        lines = self.browse([link[0] for link in links])
        cache = self.env.cache
        cache.update(lines, self._fields["invoice_line_id"], [link[1] or None for link in links])
        cache.update(lines, self._fields["invoice_id"], [link[2] or None for link in links])
        lines.invalidate_recordset(["billing_status"])
        self.env["hie.billing.link"].invalidate_model()
        self.env["account.move.line"].invalidate_model(["hie_booking_line_ids"])
        self.env["account.move"].invalidate_model([
            "hie_booking_line_ids", "hie_booking_line_count", "hie_hours_value",
            "hie_hours_difference",
        ])
        self.env["project.project"].invalidate_model(
            ["hie_billed_revenue", "hie_unbilled_revenue"]
        )
