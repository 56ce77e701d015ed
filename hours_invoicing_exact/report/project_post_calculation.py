# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools
from odoo.tools import SQL

# Percentages are ratios of sums: in grouped rows they are recomputed from the group's sums.
RATIOS = {
    # field: (numerator, denominator)
    "budget_used_pct": ("actual_cost", "cost_budget"),
    "forecast_margin_pct": ("forecast_result", "contract_sum"),
}


class ProjectPostCalculation(models.Model):
    """Post-calculation (nacalculatie) of fixed-price projects, one row per project.

    - invoiced to date: untaxed amount of the posted installment invoices less their posted
      credit notes (the project's revenue);
    - actual cost: cost of the hours booked (hours × the employee's hourly cost) plus the
      other costs booked on the project;
    - forecast cost: the cost budget, or the actual cost once it exceeds the budget;
    - forecast result: contract sum - forecast cost; forecast margin: forecast result as a
      percentage of the contract sum;
    - budget used: actual cost as a percentage of the cost budget.
    """

    _name = "project.post.calculation"
    _description = "Project Post-calculation"
    _auto = False
    _order = "project_id"
    _rec_name = "project_id"
    # flushed before the rows are read
    _depends = {
        "account.analytic.line": [
            "booking_project_id", "booking_kind", "unit_amount", "cost_amount", "company_id",
        ],
        "project.installment": ["project_id", "amount", "invoice_id", "company_id"],
        "account.move": ["state", "amount_untaxed_signed", "reversed_entry_id"],
        "account.move.line": ["contract_line_id", "balance", "parent_state", "display_type"],
        "contract.line": ["hie_project_id"],
        "project.project": [
            "partner_id", "user_id", "project_status", "active", "company_id",
            "contract_sum", "cost_budget", "invoicing_type",
        ],
    }

    project_id = fields.Many2one("project.project", string="Project", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Principal", readonly=True)
    user_id = fields.Many2one("res.users", string="Project Manager", readonly=True)
    project_status = fields.Selection(
        selection=[
            ("acquisition", "Acquisition"),
            ("quoted", "Quoted/Tendered"),
            ("order", "Order"),
            ("closed", "Closed"),
        ],
        readonly=True,
    )
    active = fields.Boolean(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    contract_sum = fields.Monetary(readonly=True)
    scheduled_amount = fields.Monetary(string="Scheduled in Terms", readonly=True)
    invoiced_amount = fields.Monetary(string="Invoiced to Date", readonly=True)
    draft_invoiced_amount = fields.Monetary(string="Draft Installment Invoices", readonly=True)
    recurring_invoiced_amount = fields.Monetary(
        string="Recurring Invoices", readonly=True,
        help="Untaxed amount of the posted recurring invoices of the project's contracts, "
        "less their credit notes.",
    )
    to_invoice_amount = fields.Monetary(
        string="Contract Still to Invoice", readonly=True,
        help="Contract sum less invoiced to date.",
    )
    cost_budget = fields.Monetary(readonly=True)
    hours = fields.Float(readonly=True)
    hours_cost = fields.Monetary(readonly=True)
    other_cost = fields.Monetary(string="Other Costs", readonly=True)
    actual_cost = fields.Monetary(readonly=True, help="Hours cost plus other costs.")
    budget_remaining = fields.Monetary(readonly=True, help="Cost budget less actual cost.")
    budget_used_pct = fields.Float(
        string="Budget Used (%)", readonly=True, aggregator="avg", digits=(16, 1),
        help="Actual cost as a percentage of the cost budget.",
    )
    result_to_date = fields.Monetary(
        readonly=True, help="Invoiced to date plus recurring invoices less actual cost."
    )
    forecast_cost = fields.Monetary(
        readonly=True, help="The cost budget, or the actual cost once it exceeds the budget."
    )
    forecast_result = fields.Monetary(
        readonly=True, help="Contract sum less forecast cost."
    )
    forecast_margin_pct = fields.Float(
        string="Forecast Margin (%)", readonly=True, aggregator="avg", digits=(16, 1),
        help="Forecast result as a percentage of the contract sum.",
    )

    @property
    def _table_query(self):
        # read at query time, not a stored view: the figures of a project without a company
        # are those of the companies the user works in (see _view_query)
        return self._view_query(self.env.companies.ids)

    def _view_query(self, company_ids):
        """The rows; booking lines and terms of a project without a company count only when
        they belong to ``company_ids`` (such a project has lines and terms of several
        companies; each company sees its own)."""
        return SQL(
            """
            WITH bookings AS (
                SELECT l.booking_project_id AS project_id,
                       SUM(CASE WHEN l.booking_kind = 'hours' THEN l.unit_amount ELSE 0 END)
                           AS hours,
                       SUM(CASE WHEN l.booking_kind = 'hours' THEN l.cost_amount ELSE 0 END)
                           AS hours_cost,
                       SUM(CASE WHEN l.booking_kind = 'cost' THEN l.cost_amount ELSE 0 END)
                           AS other_cost
                  FROM account_analytic_line l
                  JOIN project_project lp ON lp.id = l.booking_project_id
                 WHERE lp.company_id IS NOT NULL OR l.company_id = ANY(%(companies)s)
                 GROUP BY l.booking_project_id
            ), own_terms AS (
                SELECT t.*
                  FROM project_installment t
                  JOIN project_project tp ON tp.id = t.project_id
                 WHERE tp.company_id IS NOT NULL OR t.company_id = ANY(%(companies)s)
            ), terms AS (
                SELECT project_id, SUM(amount) AS scheduled
                  FROM own_terms
                 GROUP BY project_id
            ), term_moves AS (
                SELECT t.project_id, t.invoice_id AS move_id
                  FROM own_terms t
                 WHERE t.invoice_id IS NOT NULL
                 UNION ALL
                SELECT t.project_id, m.id
                  FROM own_terms t
                  JOIN account_move m ON m.reversed_entry_id = t.invoice_id
            ), invoiced AS (
                SELECT tm.project_id,
                       SUM(CASE WHEN m.state = 'posted' THEN m.amount_untaxed_signed ELSE 0 END)
                           AS invoiced,
                       SUM(CASE WHEN m.state = 'draft' THEN m.amount_untaxed_signed ELSE 0 END)
                           AS draft
                  FROM term_moves tm
                  JOIN account_move m ON m.id = tm.move_id
                 GROUP BY tm.project_id
            ), recurring AS (
                SELECT cl.hie_project_id AS project_id,
                       SUM(-aml.balance) AS recurring
                  FROM account_move_line aml
                  JOIN contract_line cl ON cl.id = aml.contract_line_id
                  JOIN project_project rp ON rp.id = cl.hie_project_id
                 WHERE aml.display_type = 'product' AND aml.parent_state = 'posted'
                   AND (rp.company_id IS NOT NULL OR aml.company_id = ANY(%(companies)s))
                 GROUP BY cl.hie_project_id
            ), figures AS (
                SELECT p.id AS project_id,
                       p.partner_id, p.user_id, p.project_status, p.active, p.company_id,
                       COALESCE(c.currency_id, (
                           SELECT currency_id FROM res_company ORDER BY sequence, id LIMIT 1
                       )) AS currency_id,
                       COALESCE(p.contract_sum, 0) AS contract_sum,
                       COALESCE(p.cost_budget, 0) AS cost_budget,
                       COALESCE(t.scheduled, 0) AS scheduled_amount,
                       COALESCE(i.invoiced, 0) AS invoiced_amount,
                       COALESCE(i.draft, 0) AS draft_invoiced_amount,
                       COALESCE(r.recurring, 0) AS recurring_invoiced_amount,
                       COALESCE(b.hours, 0) AS hours,
                       COALESCE(b.hours_cost, 0) AS hours_cost,
                       COALESCE(b.other_cost, 0) AS other_cost,
                       COALESCE(b.hours_cost, 0) + COALESCE(b.other_cost, 0) AS actual_cost
                  FROM project_project p
                  LEFT JOIN res_company c ON c.id = p.company_id
                  LEFT JOIN bookings b ON b.project_id = p.id
                  LEFT JOIN terms t ON t.project_id = p.id
                  LEFT JOIN invoiced i ON i.project_id = p.id
                  LEFT JOIN recurring r ON r.project_id = p.id
                 WHERE p.invoicing_type = 'fixed_price'
            )
            SELECT f.project_id AS id, f.*,
                   f.contract_sum - f.invoiced_amount AS to_invoice_amount,
                   f.cost_budget - f.actual_cost AS budget_remaining,
                   CASE WHEN f.cost_budget <> 0
                        THEN 100.0 * f.actual_cost / f.cost_budget END AS budget_used_pct,
                   f.invoiced_amount + f.recurring_invoiced_amount - f.actual_cost
                       AS result_to_date,
                   GREATEST(f.cost_budget, f.actual_cost) AS forecast_cost,
                   f.contract_sum - GREATEST(f.cost_budget, f.actual_cost) AS forecast_result,
                   CASE WHEN f.contract_sum <> 0
                        THEN 100.0 * (f.contract_sum - GREATEST(f.cost_budget, f.actual_cost))
                             / f.contract_sum END AS forecast_margin_pct
              FROM figures f
            """,
            companies=list(company_ids),
        )

    def init(self):
        # the rows are a query (_table_query), no longer a stored view
        tools.drop_view_if_exists(self.env.cr, self._table)

    def read_group(self, domain, fields, groupby, offset=0, limit=None, orderby=False,
                   lazy=True):
        """Percentages of a group are the ratio of the group's sums, not an average."""
        fnames = {spec.split(":")[0] for spec in fields}
        wanted = [ratio for ratio in RATIOS if ratio in fnames]
        extra = [
            f"{fname}:sum" for ratio in wanted for fname in RATIOS[ratio] if fname not in fnames
        ]
        rows = super().read_group(
            domain, list(fields) + extra, groupby, offset=offset, limit=limit,
            orderby=orderby, lazy=lazy,
        )
        for row in rows:
            for ratio in wanted:
                numerator, denominator = (row.get(fname) or 0.0 for fname in RATIOS[ratio])
                row[ratio] = 100.0 * numerator / denominator if denominator else False
        return rows
