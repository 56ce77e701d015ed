# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import create_index


class HieBillingLink(models.Model):
    """Which invoice (and invoice line) bills a booking line: one narrow row per billed line.

    The link lives here and not in columns of ``account_analytic_line``: billing a month of
    hours inserts small rows into a table with three indexes, instead of rewriting every
    billed timesheet row and every index of Odoo's widest table (measured: 1.5 s per 20,000
    hours, growing with the table). The unique booking line makes "never billed twice" a rule
    of the database, whatever the application does, also between concurrent transactions.

    The columns are plain integers, without foreign keys: PostgreSQL checks a foreign key row
    by row, and the three would cost more than the insert itself. The references are kept
    by the ORM instead: billed booking lines cannot be deleted, and deleting an invoice or an
    invoice line (the only way they go) releases its booking lines first
    (``account.move.unlink``, ``account.move.line.unlink``).

    Written only through :meth:`account.analytic.line._hie_set_billing_links` and
    :meth:`account.analytic.line._hie_release`.
    """

    _name = "hie.billing.link"
    _description = "Billing Link of a Booking Line"
    _log_access = False

    booking_line_id = fields.Integer(string="Booking Line", required=True, readonly=True)
    move_id = fields.Integer(string="Invoice", required=True, readonly=True)
    move_line_id = fields.Integer(string="Invoice Line", readonly=True)

    _sql_constraints = [
        ("booking_line_unique", "UNIQUE(booking_line_id)",
         "A booking line is billed on one invoice at most."),
    ]

    def init(self):
        # look-ups by invoice, and by invoice line within its invoice
        create_index(self.env.cr, "hie_billing_link_move_index", self._table,
                     ["move_id", "move_line_id"])
