# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .accounting_connection import CALLBACK_PATH, TWF_CALLBACK_PATH

MANAGER_GROUP = "account.group_account_manager"
PREFIX = "company_id.hie_exact_connection_id."
TWF_PREFIX = "company_id.hie_twf_connection_id."
#: Settings whose value means "set up an Exact Online connection" when filled in.
SETUP_FIELDS = ("hie_exact_client_id", "hie_exact_client_secret", "hie_exact_sync_start_date",
                "hie_exact_sync_journal_ids", "hie_exact_division_choice_id")
#: Settings the connection computes itself when left empty (never written as NULL).
DEFAULTED_FIELDS = ("hie_exact_country", "hie_exact_base_url")
#: Settings whose value means "set up a Twinfield connection" when filled in.
TWF_SETUP_FIELDS = ("hie_twf_client_id", "hie_twf_client_secret", "hie_twf_sync_start_date",
                    "hie_twf_sync_journal_ids", "hie_twf_office_choice_id", "hie_twf_certified")
#: Twinfield settings that keep their default when left empty.
TWF_DEFAULTED_FIELDS = ("hie_twf_login_host",)


class ResConfigSettings(models.TransientModel):
    """Settings: invoicing of hours, the accounting package (Exact Online or Twinfield),
    sync mode."""

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

    # ------------------------------------------------------------------
    # Accounting package, Twinfield
    # ------------------------------------------------------------------
    hie_accounting_target = fields.Selection(related="company_id.hie_accounting_target",
                                             readonly=False)
    hie_twf_connection_id = fields.Many2one(related="company_id.hie_twf_connection_id")
    hie_twf_login_host = fields.Char(related=TWF_PREFIX + "twf_login_host", readonly=False)
    hie_twf_client_id = fields.Char(related=TWF_PREFIX + "client_id", readonly=False,
                                    string="Twinfield Client ID", groups=MANAGER_GROUP)
    hie_twf_client_secret = fields.Char(related=TWF_PREFIX + "client_secret", readonly=False,
                                        string="Twinfield Client Secret", groups=MANAGER_GROUP)
    hie_twf_redirect_uri = fields.Char(string="Twinfield Redirect URI",
                                       compute="_compute_twf_redirect_uri",
                                       help="Register this URI with your Twinfield app.")
    hie_twf_state = fields.Selection(related=TWF_PREFIX + "state", string="Twinfield State")
    hie_twf_last_error = fields.Text(related=TWF_PREFIX + "last_error")
    hie_twf_cluster_url = fields.Char(related=TWF_PREFIX + "twf_cluster_url")
    hie_twf_office_choice_id = fields.Many2one(related=TWF_PREFIX + "twf_office_choice_id",
                                               readonly=False)
    hie_twf_office = fields.Char(related=TWF_PREFIX + "twf_office")
    hie_twf_certified = fields.Boolean(related=TWF_PREFIX + "twf_certified", readonly=False)
    hie_twf_sync_start_date = fields.Date(related=TWF_PREFIX + "sync_start_date",
                                          string="Twinfield Sync Start Date", readonly=False)
    hie_twf_sync_journal_ids = fields.Many2many(related=TWF_PREFIX + "sync_journal_ids",
                                                string="Twinfield Synced Sales Journals",
                                                readonly=False)
    hie_twf_cost_centre_dim = fields.Selection(related="company_id.hie_twf_cost_centre_dim",
                                               readonly=False)
    hie_period_twf_journal_code = fields.Char(
        related="company_id.hie_period_twf_journal_code", readonly=False)

    @api.depends("company_id")
    def _compute_twf_redirect_uri(self):
        """The URI to register with the Twinfield app, known before any connection exists."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for settings in self:
            settings.hie_twf_redirect_uri = base.rstrip("/") + TWF_CALLBACK_PATH

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
            for key in TWF_DEFAULTED_FIELDS:
                if key in vals and not vals[key]:
                    del vals[key]
            company = self.env["res.company"].browse(
                vals.get("company_id") or self.env.company.id)
            if any(vals.get(key) for key in SETUP_FIELDS + DEFAULTED_FIELDS):
                company._exact_ensure_connection()
            if vals.get("hie_accounting_target") == "twinfield" or any(
                vals.get(key) for key in TWF_SETUP_FIELDS + TWF_DEFAULTED_FIELDS
            ):
                company._twf_ensure_connection()
        return super().create(vals_list)

    def action_twf_connect(self):
        """Connect: to Twinfield's login (the Odoo controller stores state and nonce)."""
        self.ensure_one()
        return self.company_id._twf_ensure_connection().action_connect()

    def action_twf_load_offices(self):
        self.ensure_one()
        self.company_id._twf_ensure_connection().action_twinfield_load_offices()
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_twf_open_connection(self):
        self.ensure_one()
        connection = self.company_id._twf_ensure_connection()
        return {
            "type": "ir.actions.act_window",
            "res_model": "accounting.connection",
            "res_id": connection.id,
            "view_mode": "form",
        }

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
