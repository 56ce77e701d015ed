# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools
from odoo.tools import SQL


class ProjectBookingAnalysis(models.Model):
    """Booking lines for analysis: hours, cost, revenue, billed and unbilled revenue by
    project, principal, invoice debtor, employee, month, direct/indirect and billing status.

    Only billable lines have revenue here (internal, indirect and fixed-price lines count
    their cost only), and billed is split into on a draft invoice and invoiced (posted).

    A plain SQL view, one row per booking line with the measures split by billing status,
    so that pivot and graph views are one grouped scan (``read_group``) of the lines.
    """

    _name = "project.booking.analysis"
    _description = "Booking Lines Analysis"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "name"
    # flushed before the view is read
    _depends = {
        "account.analytic.line": [
            "name", "date", "booking_project_id", "task_id", "employee_id", "product_id",
            "is_direct", "booking_kind", "company_id", "currency_id", "unit_amount",
            "cost_amount", "revenue_amount", "hie_approval_state",
        ],
        "hie.billing.link": ["booking_line_id", "move_id"],
        "project.project": ["partner_id", "invoice_partner_id", "invoicing_type"],
        "account.move": ["partner_id", "state"],
    }

    line_id = fields.Many2one("account.analytic.line", string="Booking Line", readonly=True)
    name = fields.Char(string="Description", readonly=True)
    date = fields.Date(readonly=True)
    project_id = fields.Many2one("project.project", string="Project", readonly=True)
    task_id = fields.Many2one("project.task", string="Task", readonly=True)
    principal_id = fields.Many2one("res.partner", string="Principal", readonly=True)
    invoice_partner_id = fields.Many2one(
        "res.partner",
        string="Invoice Debtor",
        readonly=True,
        help="The partner of the invoice for billed lines, the project's invoice debtor for "
        "the others.",
    )
    employee_id = fields.Many2one("hr.employee", string="Employee", readonly=True)
    product_id = fields.Many2one("product.product", string="Activity/Product", readonly=True)
    is_direct = fields.Boolean(string="Direct", readonly=True)
    billing_status = fields.Selection(
        selection=[
            ("not_billable", "Not billable"),
            ("to_invoice", "To invoice"),
            ("on_draft", "On draft invoice"),
            ("invoiced", "Invoiced (posted)"),
        ],
        readonly=True,
        help="Invoiced: on a posted invoice. Lines on a draft invoice are not invoiced yet.",
    )
    booking_kind = fields.Selection(
        selection=[("hours", "Hours"), ("cost", "Other costs")], string="Kind", readonly=True
    )
    approval_state = fields.Selection(
        selection=[("draft", "Not submitted"), ("submitted", "Submitted"),
                   ("approved", "Approved")],
        string="Approval",
        readonly=True,
        help="The approval of the hours' week (other costs have none).",
    )
    approved_hours = fields.Float(readonly=True, aggregator="sum",
                                  help="Hours whose week is approved.")
    unapproved_hours = fields.Float(readonly=True, aggregator="sum",
                                    help="Hours whose week is not approved (yet).")
    invoicing_type = fields.Selection(
        selection=[
            ("time_material", "Time & material"),
            ("fixed_price", "Fixed price"),
            ("internal", "Internal"),
        ],
        readonly=True,
    )
    invoice_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    hours = fields.Float(readonly=True, aggregator="sum")
    billed_hours = fields.Float(
        string="Invoiced Hours", readonly=True, aggregator="sum",
        help="Hours on a posted invoice.",
    )
    draft_hours = fields.Float(
        string="Hours On Draft Invoice", readonly=True, aggregator="sum",
        help="Hours on a draft invoice: not invoiced yet.",
    )
    unbilled_hours = fields.Float(
        readonly=True, aggregator="sum", help="Hours still to invoice."
    )
    cost_amount = fields.Monetary(string="Cost", readonly=True, aggregator="sum")
    revenue_amount = fields.Monetary(
        string="Billable Revenue", readonly=True, aggregator="sum",
        help="Revenue of the billable lines (to invoice, on a draft invoice, invoiced); "
        "internal, indirect and fixed-price lines have none.",
    )
    billed_revenue = fields.Monetary(
        string="Invoiced Revenue", readonly=True, aggregator="sum",
        help="Revenue of the lines on a posted invoice.",
    )
    draft_revenue = fields.Monetary(
        string="Revenue On Draft Invoice", readonly=True, aggregator="sum",
        help="Revenue of the lines on a draft invoice: not invoiced yet.",
    )
    unbilled_revenue = fields.Monetary(
        readonly=True, aggregator="sum", help="Revenue of the lines still to invoice."
    )

    def _view_query(self):
        return SQL(
            """
            SELECT l.id AS id,
                   l.id AS line_id,
                   l.name AS name,
                   l.date AS date,
                   l.booking_project_id AS project_id,
                   l.task_id AS task_id,
                   p.partner_id AS principal_id,
                   COALESCE(m.partner_id, p.invoice_partner_id) AS invoice_partner_id,
                   l.employee_id AS employee_id,
                   l.product_id AS product_id,
                   COALESCE(l.is_direct, FALSE) AS is_direct,
                   s.billing_status AS billing_status,
                   l.booking_kind AS booking_kind,
                   CASE WHEN l.booking_kind = 'hours'
                        THEN COALESCE(l.hie_approval_state, 'draft') END AS approval_state,
                   CASE WHEN l.booking_kind = 'hours' AND l.hie_approval_state = 'approved'
                        THEN l.unit_amount ELSE 0 END AS approved_hours,
                   CASE WHEN l.booking_kind = 'hours'
                             AND COALESCE(l.hie_approval_state, 'draft') != 'approved'
                        THEN l.unit_amount ELSE 0 END AS unapproved_hours,
                   p.invoicing_type AS invoicing_type,
                   k.move_id AS invoice_id,
                   l.company_id AS company_id,
                   l.currency_id AS currency_id,
                   CASE WHEN l.booking_kind = 'hours' THEN l.unit_amount ELSE 0 END AS hours,
                   CASE WHEN l.booking_kind = 'hours' AND s.billing_status = 'invoiced'
                        THEN l.unit_amount ELSE 0 END AS billed_hours,
                   CASE WHEN l.booking_kind = 'hours' AND s.billing_status = 'on_draft'
                        THEN l.unit_amount ELSE 0 END AS draft_hours,
                   CASE WHEN l.booking_kind = 'hours' AND s.billing_status = 'to_invoice'
                        THEN l.unit_amount ELSE 0 END AS unbilled_hours,
                   COALESCE(l.cost_amount, 0) AS cost_amount,
                   CASE WHEN s.billing_status != 'not_billable'
                        THEN COALESCE(l.revenue_amount, 0) ELSE 0 END AS revenue_amount,
                   CASE WHEN s.billing_status = 'invoiced'
                        THEN COALESCE(l.revenue_amount, 0) ELSE 0 END AS billed_revenue,
                   CASE WHEN s.billing_status = 'on_draft'
                        THEN COALESCE(l.revenue_amount, 0) ELSE 0 END AS draft_revenue,
                   CASE WHEN s.billing_status = 'to_invoice'
                        THEN COALESCE(l.revenue_amount, 0) ELSE 0 END AS unbilled_revenue
              FROM account_analytic_line l
              JOIN project_project p ON p.id = l.booking_project_id
              LEFT JOIN hie_billing_link k ON k.booking_line_id = l.id
              LEFT JOIN account_move m ON m.id = k.move_id
             CROSS JOIN LATERAL (SELECT %s AS billing_status) b
             CROSS JOIN LATERAL (
                   SELECT CASE WHEN b.billing_status = 'invoiced' AND m.state != 'posted'
                               THEN 'on_draft' ELSE b.billing_status END AS billing_status
             ) s
            """,
            # the booking line's status (the link model's rule), invoiced split by posting
            self.env["hie.billing.link"]._billing_status_sql(
                SQL("l.booking_project_id"), SQL("k.id"), SQL("p.invoicing_type"),
                SQL("l.is_direct"),
            ),
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL(
            "CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._view_query()
        ))
