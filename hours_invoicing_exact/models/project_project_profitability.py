# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
from collections import defaultdict

from odoo import api, fields, models


class ProjectProject(models.Model):
    """Billed and unbilled figures of the booking lines: smart buttons and sections of
    Odoo's project profitability panel. Read with one ``_read_group`` per batch."""

    _inherit = "project.project"  # pylint: disable=consider-merging-classes-inherited

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

    @api.depends_context("allowed_company_ids")
    def _compute_hie_booking_figures(self):
        figures = self._hie_get_booking_figures()
        for project in self:
            values = figures.get(project.id, {})
            project.hie_billed_revenue = values.get("billed_revenue", 0.0)
            project.hie_unbilled_revenue = values.get("unbilled_revenue", 0.0)

    def _hie_get_booking_figures(self):
        """Per project id: hours, hours_cost, other_cost, billed_revenue, unbilled_revenue
        of its booking lines, in company currency (one grouped query)."""
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return {}
        groups = self.env["account.analytic.line"].sudo()._read_group(
            # the lines of the companies the user works in (a project without a company
            # has lines of several)
            [("booking_project_id", "in", ids), ("company_id", "in", self.env.companies.ids)],
            ["booking_project_id", "booking_kind", "billing_status"],
            ["unit_amount:sum", "cost_amount:sum", "revenue_amount:sum"],
        )
        result = defaultdict(lambda: dict.fromkeys(
            ("hours", "hours_cost", "other_cost", "billed_revenue", "unbilled_revenue"), 0.0
        ))
        for project, kind, status, hours, cost, revenue in groups:
            values = result[project.id]
            if kind == "hours":
                values["hours"] += hours
                values["hours_cost"] += cost
            else:
                values["other_cost"] += cost
            if status == "invoiced":
                values["billed_revenue"] += revenue
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
        }

    def _get_profitability_sequence_per_invoice_type(self):
        return {
            **super()._get_profitability_sequence_per_invoice_type(),
            "hie_booking_revenue": 1,
            "hie_installments": 2,
            "hie_hours_cost": 3,
            "hie_other_costs": 4,
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
        return items

    def action_profitability_items(self, section_name, domain=None, res_id=False):
        if section_name in ("hie_booking_revenue", "hie_hours_cost", "hie_other_costs"):
            kind = {"hie_hours_cost": [("booking_kind", "=", "hours")],
                    "hie_other_costs": [("booking_kind", "=", "cost")]}.get(section_name, [])
            return self._hie_analysis_action(kind)
        if section_name == "hie_installments":
            return self.action_view_installment_invoices()
        return super().action_profitability_items(section_name, domain, res_id)
