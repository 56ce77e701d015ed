# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AccountingPeriodSyncRun(models.Model):
    """Log of one automatic period run: what it checked, created and why it failed."""

    _name = "accounting.period.sync.run"
    _description = "Memorial entry sync run"
    _inherit = ["mail.thread"]
    _order = "id desc"

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    mode = fields.Char(readonly=True)
    periods_checked = fields.Integer(readonly=True)
    entry_ids = fields.Many2many("accounting.period.entry", string="Entries", readonly=True)
    entry_count = fields.Integer(compute="_compute_entry_count")
    state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("error", "Error")],
        default="running", readonly=True, tracking=True,
    )
    message = fields.Text(readonly=True)

    def _compute_entry_count(self):
        for run in self:
            run.entry_count = len(run.entry_ids)
