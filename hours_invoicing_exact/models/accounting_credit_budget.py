# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AccountingCreditBudget(models.Model):
    """The fair-use credits of one budget (Twinfield: client id and organisation) in the
    current minute, shared by every worker and server. Written only by
    :class:`..sync.db_stores.DbCreditStore`, under a row lock, in transactions of its own."""

    _name = "accounting.credit.budget"
    _description = "Accounting Package Fair-Use Credits"
    _rec_name = "key"

    key = fields.Char(required=True, readonly=True)
    window_start = fields.Float(readonly=True, help="Start of the minute window (epoch).")
    used = fields.Integer(readonly=True, help="Credits spent in the minute window.")
    blocked_until = fields.Float(readonly=True, help="No call before this moment (epoch).")

    _sql_constraints = [
        ("key_uniq", "unique(key)", "A fair-use budget is unique."),
    ]
