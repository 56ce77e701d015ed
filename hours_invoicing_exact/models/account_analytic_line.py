# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

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
    billing_status = fields.Selection(
        selection=[
            ("not_billable", "Not billable"),
            ("to_invoice", "To invoice"),
            ("invoiced", "Invoiced"),
        ],
        compute="_compute_billing_status",
        store=True,
        index="btree_not_null",
        prefetch=BOOKING_PREFETCH,
    )
    invoice_line_id = fields.Many2one(
        comodel_name="account.move.line",
        string="Invoice Line",
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The invoice line that bills this booking line.",
    )
    invoice_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice",
        copy=False,
        index="btree_not_null",
        ondelete="set null",
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

    @api.depends("booking_project_id.invoicing_type", "is_direct", "invoice_id")
    def _compute_billing_status(self):
        time_material = set(self.booking_project_id.filtered(
            lambda project: project.invoicing_type == "time_material"
        ).ids)

        def status(line):
            project_id = line.booking_project_id.id
            if not project_id:
                return False
            if line.invoice_id:
                return "invoiced"
            if project_id in time_material and line.is_direct:
                return "to_invoice"
            return "not_billable"

        self._hie_assign(("billing_status",), ((line, (status(line),)) for line in self))

    @api.depends(
        "booking_project_id", "booking_kind", "unit_amount", "employee_id",
        "product_id", "revenue_override", "revenue_manual",
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
        scopes = {
            project.id: (
                agreements_by_scope.get(("project", project.id), ()),
                agreements_by_scope.get(
                    ("partner", project.partner_id.commercial_partner_id.id), ()),
            )
            for project in booked
        }
        facts_key, facts = self._hie_facts_builder()
        resolved = {}  # lines of a batch mostly repeat a few (project, facts) pairs
        values = []
        for line in self:
            project_id = line.booking_project_id.id
            if not project_id:
                values.append((line, (0.0, 0.0, False, False)))
                continue
            if line.invoice_id:
                continue  # invoiced lines keep the revenue they were invoiced at
            key = (project_id, facts_key(line))
            if key not in resolved:
                resolution = rates.resolve(facts(key[1]), *scopes[project_id])
                resolved[key] = (resolution.revenue, resolution.unit_rate, resolution.source,
                                 resolution.agreement_id or False)
            values.append((line, resolved[key]))
        self._hie_assign(fnames, values)

    @api.model
    def _hie_load_agreements(self, projects):
        """Active agreements of the projects and their principals, as plain data, keyed by
        ``("project", id)`` and ``("partner", id)``.

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
            memo.update({("project", pid): [] for pid in project_ids})
            memo.update({("partner", pid): [] for pid in partner_ids})
            agreements = self.env["project.rate.agreement"].sudo().search([
                "|", ("project_id", "in", project_ids), ("partner_id", "in", partner_ids),
            ])
            for agreement in agreements:
                key = (
                    ("project", agreement.project_id.id) if agreement.project_id
                    else ("partner", agreement.partner_id.id)
                )
                memo[key].append(agreement._to_rate_agreement())
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

    def unlink(self):
        self._hie_check_billing_lock()
        return super().unlink()

    # ------------------------------------------------------------------
    # Billing links, set-based (one query for any number of lines)
    # ------------------------------------------------------------------
    @api.model
    def _hie_set_billing_links(self, links):
        """Link booking lines to invoices, or release them.

        :param links: iterable of ``(booking line id, invoice line id or False, invoice id or
            False)``; ``(id, False, False)`` releases the line.

        One UPDATE for the whole batch writes the links *and* the billing status that follows
        from them (the same rule as :meth:`_compute_billing_status`), so that every line is
        written once: the ORM's write would run the per-line timesheet write hooks, and
        recomputing the status after a raw link update would write every line a second time.
        The cache receives the written values and the dependents of the fields are notified
        (the billing status itself is protected: it is already right).
        """
        links = list(links)
        if not links:
            return
        fnames = ["invoice_id", "invoice_line_id", "billing_status"]
        lines = self.browse([link[0] for link in links])
        # the status is derived from these in SQL: settle pending writes and computations
        lines.flush_recordset([*fnames, "booking_project_id", "is_direct"])
        self.env["project.project"].flush_model(["invoicing_type"])
        # dependents of the current links (e.g. the booking figures of a released invoice);
        # the status is written below with the links, it is not to be recomputed
        status_field = self._fields["billing_status"]
        with self.env.protecting([status_field], lines):
            lines.modified(fnames, before=True)
        self.env.cr.execute(
            """
            UPDATE account_analytic_line aal
               SET invoice_line_id = v.line_id,
                   invoice_id = v.move_id,
                   billing_status = CASE
                       WHEN aal.booking_project_id IS NULL THEN NULL
                       WHEN v.move_id IS NOT NULL THEN 'invoiced'
                       WHEN aal.is_direct AND (
                           SELECT p.invoicing_type FROM project_project p
                            WHERE p.id = aal.booking_project_id
                       ) = 'time_material' THEN 'to_invoice'
                       ELSE 'not_billable'
                   END,
                   write_uid = %s,
                   write_date = (now() AT TIME ZONE 'UTC')
              FROM unnest(%s::int[], %s::int[], %s::int[]) AS v(id, line_id, move_id)
             WHERE aal.id = v.id
         RETURNING aal.id, aal.billing_status
            """,
            (
                self.env.uid,
                lines.ids,
                [link[1] or None for link in links],
                [link[2] or None for link in links],
            ),
        )
        status = dict(self.env.cr.fetchall())
        lines = lines.browse([line_id for line_id in lines.ids if line_id in status])
        if not lines:
            return
        link_by_id = {link[0]: link for link in links}
        cache = self.env.cache
        cache.update(lines, self._fields["invoice_line_id"],
                     [link_by_id[line_id][1] or None for line_id in lines.ids])
        cache.update(lines, self._fields["invoice_id"],
                     [link_by_id[line_id][2] or None for line_id in lines.ids])
        cache.update(lines, self._fields["billing_status"],
                     [status[line_id] for line_id in lines.ids])
        lines.invalidate_recordset(["write_uid", "write_date"])
        self.env["account.move.line"].invalidate_model(["hie_booking_line_ids"])
        self.env["account.move"].invalidate_model(["hie_booking_line_ids"])
        with self.env.protecting([status_field], lines):
            lines.modified(fnames)

    def _hie_release(self):
        """Make these billed lines billable again."""
        self._hie_set_billing_links((line_id, False, False) for line_id in self.ids)
