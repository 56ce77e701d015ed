# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

MANAGER_GROUP = "account.group_account_manager"
PREFIX = "company_id.exact_connection_id."


class ResConfigSettings(models.TransientModel):
    """Settings: invoicing of hours, Exact Online, sync mode."""

    _inherit = "res.config.settings"

    hie_credit_releases_hours = fields.Boolean(
        related="company_id.hie_credit_releases_hours", readonly=False,
    )
    hie_auto_post_invoices = fields.Boolean(
        related="company_id.hie_auto_post_invoices", readonly=False,
    )
    hie_auto_send_invoices = fields.Boolean(
        related="company_id.hie_auto_send_invoices", readonly=False,
    )

    # ------------------------------------------------------------------
    # Sync mode (memorial entries per day / month)
    # ------------------------------------------------------------------
    period_sync_mode = fields.Selection(related="company_id.period_sync_mode", readonly=False)
    period_sync_journal_ids = fields.Many2many(
        related="company_id.period_sync_journal_ids", readonly=False
    )
    period_exact_journal_code = fields.Char(
        related="company_id.period_exact_journal_code", readonly=False
    )
    period_vat_mode = fields.Selection(related="company_id.period_vat_mode", readonly=False)
    period_sync_hour = fields.Integer(related="company_id.period_sync_hour", readonly=False)
    period_grace_days = fields.Integer(related="company_id.period_grace_days", readonly=False)
    period_closed_policy = fields.Selection(
        related="company_id.period_closed_policy", readonly=False
    )

    # ------------------------------------------------------------------
    # Exact Online
    # ------------------------------------------------------------------
    exact_connection_id = fields.Many2one(related="company_id.exact_connection_id")
    exact_country = fields.Selection(related=PREFIX + "country", readonly=False)
    exact_base_url = fields.Char(related=PREFIX + "base_url", readonly=False)
    exact_client_id = fields.Char(related=PREFIX + "client_id", readonly=False,
                                  groups=MANAGER_GROUP)
    exact_client_secret = fields.Char(related=PREFIX + "client_secret", readonly=False,
                                      groups=MANAGER_GROUP)
    exact_redirect_uri = fields.Char(related=PREFIX + "redirect_uri")
    exact_state = fields.Selection(related=PREFIX + "state")
    exact_division_choice_id = fields.Many2one(related=PREFIX + "division_choice_id",
                                               readonly=False)
    exact_sync_start_date = fields.Date(related=PREFIX + "sync_start_date", readonly=False)
    exact_sync_journal_ids = fields.Many2many(related=PREFIX + "sync_journal_ids",
                                              readonly=False)

    @api.model_create_multi
    def create(self, vals_list):
        if any(key.startswith("exact_") and value for vals in vals_list
               for key, value in vals.items()):
            self.env.company._exact_ensure_connection()
        return super().create(vals_list)

    def action_exact_connect(self):
        self.ensure_one()
        connection = self.company_id._exact_ensure_connection()
        return connection.action_connect()

    def action_exact_open_connection(self):
        self.ensure_one()
        connection = self.company_id._exact_ensure_connection()
        return {
            "type": "ir.actions.act_window",
            "res_model": "accounting.connection",
            "res_id": connection.id,
            "view_mode": "form",
        }
