# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ProjectProject(models.Model):
    """Fixed-price projects: the installment schedule and its invoices, post-calculation."""

    _inherit = "project.project"  # pylint: disable=consider-merging-classes-inherited

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
