# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import float_round, format_duration, mute_logger

_logger = logging.getLogger(__name__)

INVOICEABLE_STATUSES = ("quoted", "order")


class ProjectProject(models.Model):
    """Invoicing of time & material projects from their booking lines."""

    _inherit = "project.project"  # pylint: disable=consider-merging-classes-inherited

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
    # The invoicing service
    # ------------------------------------------------------------------
    @api.model
    def _hie_billable_domain(self):
        """The rule: only direct lines of time & material projects whose status allows
        invoicing (quoted/tendered or order), and only once (see
        :meth:`_hie_invoiceable_domain`)."""
        return self.env["hie.billing.link"]._billable_domain() + [
            ("booking_project_id.project_status", "in", INVOICEABLE_STATUSES),
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
        line_commands = []
        for sequence, spec in enumerate(specs, start=10):
            line_vals = self._hie_prepare_invoice_line_vals(
                spec, sequence, company=company, fiscal_position=fiscal_position,
            )
            if len(projects) > 1:
                line_vals["name"] = f"{spec['project'].name} - {line_vals['name']}"
            line_commands.append(Command.create(line_vals))
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
            "invoice_line_ids": line_commands,
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
