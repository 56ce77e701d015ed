# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install hooks: give existing projects and booking lines their values in bulk.

The columns of the new stored fields are created and filled here with set-based SQL before
the ORM sees them, so that installing on a database with millions of timesheet lines does not
compute them record by record.
"""
import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

PROJECT_COLUMNS = {
    "invoicing_type": "varchar",
    "project_status": "varchar",
}
LINE_COLUMNS = {
    "booking_project_id": "int4",
    "booking_kind": "varchar",
    "cost_amount": "numeric",
    "revenue_amount": "numeric",
    "revenue_unit_rate": "numeric",
    "revenue_source": "varchar",
    "is_direct": "bool",
    "revenue_agreement_id": "int4",
}
MOVE_LINE_COLUMNS = {
    "hie_base_tax_id": "int4",
    "hie_base_tax_count": "int4",
}

MOVE_COLUMNS = {
    "hie_reminder_level": "int4",
    "hie_reminder_level_id": "int4",
    "hie_open_amount": "numeric",
}


def _add_columns(cr, table, columns):
    for name, sql_type in columns.items():
        cr.execute(SQL(
            "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s",
            SQL.identifier(table), SQL.identifier(name), SQL(sql_type),
        ))


def fill_project_defaults(cr, project_ids=None):
    """Existing projects keep today's bookings possible: with a customer they become
    time & material projects with an order, without one internal projects. Companies'
    internal projects (time off) are internal."""
    where = SQL() if project_ids is None else SQL("WHERE p.id = ANY(%s)", list(project_ids))
    cr.execute(SQL(
        """
        UPDATE project_project p
           SET invoicing_type = CASE
                   WHEN p.partner_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM res_company c WHERE c.internal_project_id = p.id)
                   THEN 'time_material' ELSE 'internal' END,
               project_status = 'order'
          %s
        """,
        where,
    ))


def fill_line_defaults(cr, line_ids=None):
    """Booking project, kind, cost, list-price revenue and direct flag of existing analytic
    lines, in one statement (their billing status follows: no line is billed yet). No
    agreement exists yet at install time, so the revenue is the list price (employee rate,
    else product sales price; costs at sales price, else at cost)."""
    where = SQL() if line_ids is None else SQL("AND l.id = ANY(%s)", list(line_ids))
    cr.execute(SQL(
        """
        WITH base AS (
            SELECT l.id,
                   COALESCE(l.project_id, acc_p.id) AS project_id,
                   CASE WHEN l.project_id IS NOT NULL THEN 'hours'
                        WHEN acc_p.id IS NOT NULL THEN 'cost' END AS kind,
                   COALESCE(pt.list_price, 0) AS price,
                   COALESCE(pt.hours_kind, 'direct') AS hours_kind
              FROM account_analytic_line l
              LEFT JOIN account_move_line aml ON aml.id = l.move_line_id
              LEFT JOIN account_move am ON am.id = aml.move_id
              LEFT JOIN LATERAL (
                   SELECT p.id FROM project_project p
                    WHERE l.project_id IS NULL AND p.account_id = l.account_id
                      AND COALESCE(am.move_type, '') NOT IN ('out_invoice', 'out_refund',
                                                             'out_receipt')
                    ORDER BY p.id LIMIT 1) acc_p ON TRUE
              LEFT JOIN product_product pp ON pp.id = l.product_id
              LEFT JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE TRUE %s
        )
        UPDATE account_analytic_line l
           SET booking_project_id = b.project_id,
               booking_kind = b.kind,
               cost_amount = -l.amount,
               revenue_amount = CASE
                   WHEN b.project_id IS NULL THEN 0
                   WHEN b.kind = 'hours' THEN ROUND((l.unit_amount * b.price)::numeric, 2)
                   WHEN b.price <> 0 THEN ROUND((l.unit_amount * b.price)::numeric, 2)
                   ELSE -l.amount END,
               revenue_unit_rate = CASE
                   WHEN b.project_id IS NULL THEN 0
                   WHEN b.kind = 'hours' OR b.price <> 0 THEN b.price
                   WHEN l.unit_amount <> 0 THEN ROUND((-l.amount / l.unit_amount)::numeric, 2)
                   ELSE 0 END,
               revenue_source = CASE
                   WHEN b.project_id IS NULL THEN NULL
                   WHEN b.price <> 0 THEN 'product'
                   WHEN b.kind = 'hours' THEN 'none'
                   ELSE 'cost' END,
               is_direct = (b.project_id IS NOT NULL AND p.invoicing_type <> 'internal'
                            AND b.hours_kind <> 'indirect')
          FROM base b
          LEFT JOIN project_project p ON p.id = b.project_id
         WHERE l.id = b.id
        """,
        where,
    ))
    return cr.rowcount


def fill_move_line_base_taxes(cr):
    """The base tax columns of existing journal items (see ``models/account_move_line.py``),
    in one statement: a memorial entry of an earlier period must see them too."""
    cr.execute(
        """
        UPDATE account_move_line aml
           SET hie_base_tax_id = t.tax_id, hie_base_tax_count = t.n
          FROM (SELECT account_move_line_id AS id, MIN(account_tax_id) AS tax_id, COUNT(*) AS n
                  FROM account_move_line_account_tax_rel
              GROUP BY account_move_line_id) t
         WHERE aml.id = t.id AND aml.tax_line_id IS NULL
        """
    )
    return cr.rowcount


def pre_init_hook(env):
    cr = env.cr
    _add_columns(cr, "project_project", PROJECT_COLUMNS)
    fill_project_defaults(cr)
    _add_columns(cr, "product_template", {"hours_kind": "varchar"})
    cr.execute("UPDATE product_template SET hours_kind = 'direct' WHERE hours_kind IS NULL")
    _add_columns(cr, "account_analytic_line", LINE_COLUMNS)
    count = fill_line_defaults(cr)
    _logger.info("hours_invoicing_exact: booking data set on %s existing analytic lines", count)
    # existing lines are not approved: a column default, no rewrite of the table
    cr.execute("ALTER TABLE account_analytic_line"
               " ADD COLUMN IF NOT EXISTS hie_approval_state varchar DEFAULT 'draft'")
    # companies that invoice their hours today keep doing so; new companies wait for approval
    _add_columns(cr, "res_company", {"hie_invoice_approved_only": "bool"})
    cr.execute("UPDATE res_company SET hie_invoice_approved_only = FALSE"
               " WHERE hie_invoice_approved_only IS NULL")
    _add_columns(cr, "account_move_line", MOVE_LINE_COLUMNS)
    count = fill_move_line_base_taxes(cr)
    _logger.info("hours_invoicing_exact: base tax set on %s existing journal items", count)

    _add_columns(cr, "account_move", MOVE_COLUMNS)
    fill_move_reminder_columns(cr)


def fill_move_reminder_columns(cr):
    """Open amount and last reminder level of existing invoices (``models/account_move.py``)
    in two statements: reminders already sent by account_credit_control count."""
    cr.execute("UPDATE account_move SET hie_open_amount = ABS(amount_residual), "
               "hie_reminder_level = 0")
    cr.execute(
        """
        UPDATE account_move m
           SET hie_reminder_level = t.level, hie_reminder_level_id = t.level_id
          FROM (SELECT DISTINCT ON (invoice_id) invoice_id, level, policy_level_id AS level_id
                  FROM credit_control_line
                 WHERE state IN ('queued', 'sent') AND invoice_id IS NOT NULL
              ORDER BY invoice_id, level DESC, id DESC) t
         WHERE m.id = t.invoice_id
        """
    )
