# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class AccountAnalyticLine(models.Model):
    """Customer invoices are revenue, not bookings.

    A customer invoice or credit note with the project's analytic account in its
    distribution (installment invoices, hours invoices) creates analytic lines on that
    account. They carry the project's revenue and are not "other costs" booked on it: they
    get no booking project, so they are neither counted as cost nor ever invoiced.
    """

    _inherit = "account.analytic.line"  # pylint: disable=consider-merging-classes-inherited

    @api.depends("project_id", "account_id", "move_line_id")
    def _compute_booking_project_id(self):
        res = super()._compute_booking_project_id()
        revenue = self.filtered(
            lambda line: not line.project_id and line.move_line_id
            and line.move_line_id.move_id.is_sale_document(include_receipts=True)
        )
        if revenue:
            revenue.update({"booking_project_id": False, "booking_kind": False})
        return res
