# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .accounting_connection import CALLBACK_PATH

MANAGER_GROUP = "account.group_account_manager"
PREFIX = "company_id.hie_exact_connection_id."
#: Settings whose value means "set up an Exact Online connection" when filled in.
SETUP_FIELDS = ("hie_exact_client_id", "hie_exact_client_secret", "hie_exact_sync_start_date",
                "hie_exact_sync_journal_ids", "hie_exact_division_choice_id")
#: Settings the connection computes itself when left empty (never written as NULL).
DEFAULTED_FIELDS = ("hie_exact_country", "hie_exact_base_url")


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
    hie_invoice_approved_only = fields.Boolean(
        related="company_id.hie_invoice_approved_only", readonly=False,
    )
    hie_timesheet_reviewer = fields.Selection(
        related="company_id.hie_timesheet_reviewer", readonly=False,
    )

    # ------------------------------------------------------------------
    # Sync mode (memorial entries per day / month)
    # ------------------------------------------------------------------
    hie_period_sync_mode = fields.Selection(
        related="company_id.hie_period_sync_mode", readonly=False)
    hie_period_sync_journal_ids = fields.Many2many(
        related="company_id.hie_period_sync_journal_ids", readonly=False
    )
    hie_period_exact_journal_code = fields.Char(
        related="company_id.hie_period_exact_journal_code", readonly=False
    )
    hie_period_vat_mode = fields.Selection(related="company_id.hie_period_vat_mode", readonly=False)
    hie_period_sync_hour = fields.Integer(related="company_id.hie_period_sync_hour", readonly=False)
    hie_period_grace_days = fields.Integer(
        related="company_id.hie_period_grace_days", readonly=False)
    hie_period_closed_policy = fields.Selection(
        related="company_id.hie_period_closed_policy", readonly=False
    )

    # ------------------------------------------------------------------
    # Exact Online
    # ------------------------------------------------------------------
    hie_exact_connection_id = fields.Many2one(related="company_id.hie_exact_connection_id")
    hie_exact_country = fields.Selection(related=PREFIX + "country", readonly=False)
    hie_exact_base_url = fields.Char(related=PREFIX + "base_url", readonly=False)
    hie_exact_client_id = fields.Char(related=PREFIX + "client_id", readonly=False,
                                      groups=MANAGER_GROUP)
    hie_exact_client_secret = fields.Char(related=PREFIX + "client_secret", readonly=False,
                                          groups=MANAGER_GROUP)
    hie_exact_redirect_uri = fields.Char(string="Redirect URI",
                                         compute="_compute_exact_redirect_uri",
                                         help="Register this URI in the Exact Online app.")
    hie_exact_redirect_uri_https = fields.Boolean(string="Redirect URI uses HTTPS",
                                                  compute="_compute_exact_redirect_uri")
    hie_exact_state = fields.Selection(related=PREFIX + "state")
    hie_exact_division_choice_id = fields.Many2one(related=PREFIX + "division_choice_id",
                                                   readonly=False)
    hie_exact_sync_start_date = fields.Date(related=PREFIX + "sync_start_date", readonly=False)
    hie_exact_sync_journal_ids = fields.Many2many(related=PREFIX + "sync_journal_ids",
                                                  readonly=False)

    @api.depends("company_id")
    def _compute_exact_redirect_uri(self):
        """The URI to register in Exact's App Center, known before any connection exists."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for settings in self:
            settings.hie_exact_redirect_uri = base.rstrip("/") + CALLBACK_PATH
            settings.hie_exact_redirect_uri_https = base.startswith("https://")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # a company without a connection shows these empty: saving them must not write
            # NULL into the connection's required fields (they default from the country)
            for key in DEFAULTED_FIELDS:
                if key in vals and not vals[key]:
                    del vals[key]
            if any(vals.get(key) for key in SETUP_FIELDS + DEFAULTED_FIELDS):
                company = self.env["res.company"].browse(
                    vals.get("company_id") or self.env.company.id)
                company._exact_ensure_connection()
        return super().create(vals_list)

    def action_exact_connect(self):
        self.ensure_one()
        connection = self.company_id._exact_ensure_connection()
        return connection.action_connect()

    def action_exact_load_divisions(self):
        self.ensure_one()
        connection = self.company_id._exact_ensure_connection()
        connection.action_load_divisions()
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_exact_open_connection(self):
        self.ensure_one()
        connection = self.company_id._exact_ensure_connection()
        return {
            "type": "ir.actions.act_window",
            "res_model": "accounting.connection",
            "res_id": connection.id,
            "view_mode": "form",
        }
