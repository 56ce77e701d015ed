# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class HieContractPeriod(models.Model):
    """One invoiced period of one contract line (OCA ``contract``).

    Written in the same transaction as the invoice, BEFORE it is built: the unique
    (contract line, period start) index makes the database refuse a second invoice for the
    same period, whatever the path (daily cron run twice or concurrently, a worker killed
    mid-run and started again, the contract's *Create invoice* button, the wizard). The row
    stays when its invoice is deleted: the period remains billed until an accounting manager
    deletes the row on purpose."""

    _name = "hie.contract.period"
    _description = "Invoiced Contract Period"
    _order = "date_start desc, contract_id, id"
    _rec_name = "contract_id"

    contract_id = fields.Many2one(
        comodel_name="contract.contract", string="Contract", required=True, index=True,
        ondelete="restrict", readonly=True,
    )
    contract_line_id = fields.Many2one(
        comodel_name="contract.line", string="Contract Line", required=True,
        ondelete="restrict", readonly=True,
    )
    company_id = fields.Many2one(
        related="contract_id.company_id", store=True, readonly=True, index=True,
    )
    date_start = fields.Date(string="Period Start", required=True, readonly=True)
    date_end = fields.Date(string="Period End", readonly=True)
    invoice_date = fields.Date(readonly=True)
    price_unit = fields.Float(
        string="Invoiced Unit Price", digits="Product Price", readonly=True,
        help="The unit price invoiced for the period, after the yearly indexation.",
    )
    move_id = fields.Many2one(
        comodel_name="account.move", string="Invoice", index="btree_not_null",
        ondelete="set null", readonly=True,
    )

    _sql_constraints = [
        (
            "line_period_unique",
            "UNIQUE(contract_line_id, date_start)",
            "This period of the contract line has already been invoiced.",
        ),
    ]
