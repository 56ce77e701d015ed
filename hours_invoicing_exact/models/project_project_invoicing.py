# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_round, mute_logger

_logger = logging.getLogger(__name__)

INVOICEABLE_STATUSES = ("quoted", "order")


class ProjectProject(models.Model):
    """Invoicing of time & material projects from their booking lines."""

    _inherit = "project.project"  # pylint: disable=consider-merging-classes-inherited

    invoice_detail_level = fields.Selection(
        selection=[
            ("summary", "Summary per activity, employee and rate"),
            ("line", "One invoice line per booking line"),
        ],
        default="summary",
        help="How booking lines become invoice lines: summarized per activity (service "
        "product), employee and rate, or one invoice line per booking line.",
    )
    invoice_hours_appendix = fields.Boolean(
        string="Hours Specification on Invoice",
        help="Print the billed booking lines (date, employee, description, hours) as an "
        "appendix of the invoice.",
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
    def _hie_invoiceable_domain(self):
        """The rule: only direct, to-invoice lines of time & material projects whose status
        allows invoicing (quoted/tendered or order)."""
        return [
            ("billing_status", "=", "to_invoice"),
            ("is_direct", "=", True),
            ("invoice_id", "=", False),
            ("booking_project_id.invoicing_type", "=", "time_material"),
            ("booking_project_id.project_status", "in", INVOICEABLE_STATUSES),
        ]

    def _hie_create_invoices(self, date_to, grouping="project", invoice_date=None,
                             journal=None, *, line_ids=None):
        """Create draft customer invoices for the unbilled booking lines of these projects up
        to ``date_to`` (included).

        :param grouping: ``"project"`` (one invoice per project) or ``"debtor"`` (one invoice
            per invoice debtor, across projects)
        :param line_ids: optionally, only these booking lines
        :return: the created ``account.move`` records (draft)
        """
        if grouping not in ("project", "debtor"):
            raise UserError(_("Unknown grouping “%s”.", grouping))
        date_to = fields.Date.to_date(date_to)
        Line = self.env["account.analytic.line"]
        domain = self._hie_invoiceable_domain() + [
            ("booking_project_id", "in", self.ids),
            ("date", "<=", date_to),
        ]
        if line_ids is not None:
            domain.append(("id", "in", list(line_ids)))
        candidates = Line.sudo().search(domain, order="id")
        if not candidates:
            return self.env["account.move"]
        lines = self._hie_lock_lines(candidates)
        if not lines:
            return self.env["account.move"]
        return self._hie_invoice_lines(lines, grouping, invoice_date, journal)

    @api.model
    def _hie_lock_lines(self, lines):
        """Take row locks on the booking lines and re-check, after the lock, that they are
        still unbilled: of two users invoicing the same hours at once, one wins; the other gets
        a clear error (and finds them billed when trying again)."""
        lines.flush_recordset()
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """
                    SELECT id FROM account_analytic_line
                     WHERE id = ANY(%s) AND invoice_id IS NULL AND billing_status = 'to_invoice'
                     ORDER BY id
                       FOR UPDATE NOWAIT
                    """,
                    (lines.ids,),
                )
                locked_ids = [row[0] for row in self.env.cr.fetchall()]
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure) as exc:
            raise UserError(_(
                "Some of these hours are being invoiced by someone else at this moment. Nothing "
                "was invoiced; try again in a moment: hours that are billed by then are left out."
            )) from exc
        locked = lines.browse(locked_ids)
        # the lock read the committed state: the locked lines are unbilled, the others are not
        # (any more); tell the cache instead of re-reading every line
        lines.invalidate_recordset(["invoice_id", "invoice_line_id", "billing_status"])
        cache = self.env.cache
        cache.update(locked, lines._fields["invoice_id"], [None] * len(locked))
        cache.update(locked, lines._fields["billing_status"], ["to_invoice"] * len(locked))
        return locked

    @api.model
    def _hie_invoice_lines(self, lines, grouping, invoice_date, journal):
        """Build and create the invoices of locked, invoiceable booking lines."""
        invoice_date = fields.Date.to_date(invoice_date) if invoice_date else False
        # settle pending recomputations of the revenue before reading it
        lines.flush_recordset()
        groups = lines._read_group(
            [("id", "in", lines.ids)],
            groupby=[
                "booking_project_id", "product_id", "employee_id", "revenue_unit_rate",
                "product_uom_id", "booking_kind",
            ],
            aggregates=["unit_amount:sum", "revenue_amount:sum", "id:array_agg"],
        )
        projects = self.browse({group[0].id for group in groups})
        detail_projects = projects.filtered(lambda p: p.invoice_detail_level == "line")
        by_invoice = defaultdict(list)  # invoice key -> [line spec]
        detail_ids = []
        for project, product, employee, rate, uom, kind, qty, revenue, ids in groups:
            if project in detail_projects:
                detail_ids.extend(ids)
                continue
            key = self._hie_invoice_key(project, grouping)
            by_invoice[key].extend(self._hie_line_specs(
                project, product, employee, rate, uom, kind, qty, revenue, ids, lines,
            ))
        if detail_ids:
            for line in lines.browse(sorted(detail_ids)):
                key = self._hie_invoice_key(line.booking_project_id, grouping)
                by_invoice[key].extend(self._hie_line_specs(
                    line.booking_project_id, line.product_id, line.employee_id,
                    line.revenue_unit_rate, line.product_uom_id, line.booking_kind,
                    line.unit_amount, line.revenue_amount, [line.id], lines, detail=line,
                ))
        vals_list, specs_list = [], []
        for (company, debtor, currency), specs in by_invoice.items():
            specs.sort(key=lambda spec: (spec["project"].name or "", spec["project"].id,
                                         spec["sequence_key"]))
            vals_list.append(self._hie_prepare_invoice_vals(
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
        self.env["account.analytic.line"]._hie_set_billing_links(links)
        return moves

    @api.model
    def _hie_invoice_key(self, project, grouping):
        partner = project.invoice_partner_id or project.partner_id
        if not partner:
            raise UserError(_("Project “%s” has no invoice debtor.", project.display_name))
        if grouping == "project":
            return (project.company_id or self.env.company, partner, project)
        return (project.company_id or self.env.company, partner, project.currency_id)

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
        spec["name"] += " " + _("(%(qty)s %(uom)s)", qty=float_round(qty, 2), uom=uom.name or "")
        return [spec]

    @api.model
    def _hie_line_spec(self, project, product, employee, rate, uom, kind, qty, revenue, ids,
                       detail):
        parts = [product.display_name or (_("Hours") if kind == "hours" else _("Costs"))]
        if employee:
            parts.append(employee.name)
        if detail:
            parts.append(fields.Date.to_string(detail.date))
            if detail.name and detail.name != "/":
                parts.append(detail.name)
        return {
            "project": project,
            "product": product,
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
        line_commands = []
        sequence = 10
        current_project = None
        for spec in specs:
            if len(projects) > 1 and spec["project"] != current_project:
                current_project = spec["project"]
                line_commands.append(Command.create({
                    "display_type": "line_section",
                    "name": _("Project %(project)s, principal %(principal)s",
                              project=current_project.name,
                              principal=current_project.partner_id.name or "-"),
                    "sequence": sequence,
                }))
                sequence += 1
            line_commands.append(Command.create(self._hie_prepare_invoice_line_vals(
                spec, sequence)))
            sequence += 1
        vals = {
            "move_type": "out_invoice",
            "company_id": company.id,
            "partner_id": debtor.id,
            "currency_id": currency.id,
            "invoice_origin": ", ".join(projects.mapped("name"))[:250],
            "ref": reference[:250],
            "hie_principal_id": principals.id if len(principals) == 1 else False,
            "hie_project_ids": [Command.set(projects.ids)],
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
    def _hie_prepare_invoice_line_vals(self, spec, sequence):
        project = spec["project"]
        vals = {
            "sequence": sequence,
            "name": spec["name"],
            "quantity": spec["quantity"],
            "price_unit": spec["price_unit"],
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
        closed period; post and e-mail the invoices when the company says so."""
        today = fields.Date.context_today(self)
        projects = self.search([
            ("invoicing_type", "=", "time_material"),
            ("project_status", "in", INVOICEABLE_STATUSES),
            ("invoicing_frequency", "in", ("weekly", "monthly")),
        ])
        for (company, frequency), group in projects.grouped(
            lambda p: (p.company_id or self.env.company, p.invoicing_frequency)
        ).items():
            date_to = self._hie_closed_period_end(frequency, today)
            moves = group.with_company(company)._hie_create_invoices(date_to)
            _logger.info("Automatic invoicing: %s invoices for %s projects (%s, up to %s)",
                         len(moves), len(group), frequency, date_to)
            if moves and company.hie_auto_post_invoices:
                moves.action_post()
                if company.hie_auto_send_invoices:
                    moves._generate_and_send(allow_fallback_pdf=True)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_hie_invoice_wizard(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_project_invoice_wizard"
        )
        action["context"] = {"active_model": "project.project", "active_ids": self.ids}
        return action
