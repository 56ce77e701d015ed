# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import subprocess

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

from ..services import journal

PERIOD_SYNC_MODES = [
    ("document", "Per document"),
    ("day", "Per day"),
    ("month", "Per month"),
    ("manual", "Manual"),
]


@functools.cache
def wkhtmltopdf_draws_web_fonts():
    """Whether this server's wkhtmltopdf draws the text of web fonts as outlines: a build
    without Odoo's recommended patched Qt (Debian's package) does."""
    try:
        out = subprocess.run([_get_wkhtmltopdf_bin(), "--version"], capture_output=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return b"patched qt" not in out.lower()


class ResCompany(models.Model):
    """Company settings: invoicing of hours, the Exact Online connection, the sync mode."""

    _inherit = "res.company"

    hie_credit_releases_hours = fields.Boolean(
        string="Credited Hours Become Billable Again",
        help="When an hours invoice is fully credited, its booking lines become billable "
        "again. Off: they stay billed (written off).",
    )
    hie_auto_post_invoices = fields.Boolean(
        string="Post Automatic Invoices",
        help="Post the invoices that the scheduled invoicing creates.",
    )
    hie_auto_send_invoices = fields.Boolean(
        string="E-mail Automatic Invoices",
        help="E-mail the posted automatic invoices to the invoice debtor (Odoo's standard "
        "sending).",
    )
    hie_invoice_approved_only = fields.Boolean(
        string="Invoice Approved Hours Only",
        default=True,
        help="Hours are invoiced (by the invoicing wizard and the scheduled invoicing) only "
        "once their week is approved; unapproved hours wait as awaiting approval. On for new "
        "companies; companies that existed when the addon was installed start without it.",
    )
    hie_timesheet_reviewer = fields.Selection(
        selection=[
            ("project_manager", "Project manager of the project"),
            ("employee_manager", "Manager of the employee"),
        ],
        string="Timesheets Approved By",
        # not required: companies are also created by modules loaded before this addon
        # (Odoo's own tests of project create companies at install); empty = project manager
        default="project_manager",
        help="Who approves or sends back the submitted weeks of this company's employees: "
        "the project manager of each project (per project line), or the employee's manager "
        "(the whole week).",
    )
    hie_pdf_system_fonts = fields.Boolean(
        string="PDF With Installed Fonts",
        compute="_compute_hie_pdf_system_fonts",
        help="This server's wkhtmltopdf cannot embed web fonts as text: PDFs use the fonts "
        "installed on the server.",
    )

    def _compute_hie_pdf_system_fonts(self):
        self.hie_pdf_system_fonts = wkhtmltopdf_draws_web_fonts()

    # ------------------------------------------------------------------
    # Exact Online connection
    # ------------------------------------------------------------------
    hie_exact_connection_id = fields.Many2one(
        "accounting.connection", string="Exact Connection", compute="_compute_exact_connection_id"
    )

    def _compute_exact_connection_id(self):
        connections = self.env["accounting.connection"].sudo().search(
            [("company_id", "in", self.ids), ("target", "=", "exact")]
        )
        for company in self:
            company.hie_exact_connection_id = connections.filtered(
                lambda c, company=company: c.company_id == company
            )[:1]

    def _exact_ensure_connection(self):
        self.ensure_one()
        if not self.hie_exact_connection_id:
            self.env["accounting.connection"].sudo().create({"company_id": self.id})
            self.invalidate_recordset(["hie_exact_connection_id"])
        return self.hie_exact_connection_id

    # ------------------------------------------------------------------
    # Accounting package of the company, and its Twinfield connection
    # ------------------------------------------------------------------
    hie_accounting_target = fields.Selection(
        [("exact", "Exact Online"), ("twinfield", "Twinfield")],
        string="Accounting Package",
        help="Where the books of this company are kept: invoices and memorial entries go "
        "there. Empty: the package of the company's first connection (Exact Online without "
        "one).",
    )
    hie_twf_connection_id = fields.Many2one(
        "accounting.connection", string="Twinfield Connection",
        compute="_compute_twf_connection_id",
    )
    hie_twf_cost_centre_dim = fields.Selection(
        [("dim2", "Dimension 2"), ("dim3", "Dimension 3")],
        string="Twinfield Cost Centre Level",
        help="The dimension level of Twinfield's detail lines that holds cost centres (KPL) "
        "in this administration (dimension 2 in most, dimension 3 in some). Empty: no cost "
        "centres are sent. Map analytic accounts to cost centres on the Twinfield connection.",
    )
    hie_period_twf_journal_code = fields.Char(
        string="Twinfield memorial transaction type", default="MEMO",
        help="Code of the journal (memorial) transaction type in Twinfield.",
    )

    def _compute_twf_connection_id(self):
        connections = self.env["accounting.connection"].sudo().search(
            [("company_id", "in", self.ids), ("target", "=", "twinfield")]
        )
        for company in self:
            company.hie_twf_connection_id = connections.filtered(
                lambda c, company=company: c.company_id == company
            )[:1]

    def _twf_ensure_connection(self):
        self.ensure_one()
        if not self.hie_twf_connection_id:
            self.env["accounting.connection"].sudo().create(
                {"company_id": self.id, "target": "twinfield"})
            self.invalidate_recordset(["hie_twf_connection_id"])
        return self.hie_twf_connection_id

    def _hie_get_connection(self):
        """The connection (of any target) that syncs this company, if any."""
        self.ensure_one()
        target = self.env["accounting.connection"]._get_company_target(self)
        return self.hie_twf_connection_id if target == "twinfield" \
            else self.hie_exact_connection_id

    # ------------------------------------------------------------------
    # Sync mode: sales entries per document, or memorial entries per day / month
    # ------------------------------------------------------------------
    hie_period_sync_mode = fields.Selection(
        PERIOD_SYNC_MODES,
        string="Sync mode",
        default="document",
        help="Per document: every customer invoice and credit note of the synced sales "
        "journals (Exact Online or Twinfield connection) as a sales entry. Per day / per "
        "month: one memorial entry per period with all movements of the journals in "
        "memorial entries, leaving out invoices already sent as sales entries. Manual: "
        "memorial entries are only sent from the preview. Switching back to per document "
        "queues the invoices no memorial entry carries yet as sales entries.",
    )
    hie_period_sync_journal_ids = fields.Many2many(
        "account.journal",
        "res_company_period_sync_journal_rel",
        "company_id",
        "journal_id",
        string="Journals in memorial entries",
        domain="[('company_id', '=', id)]",
        help="Per day, per month and manual mode: the posted items of these journals go in "
        "the memorial entries. Per document mode uses the synced sales journals of the "
        "connection instead.",
    )
    hie_period_exact_journal_code = fields.Char(
        string="Exact memorial journal", default="90",
        help="Code of the general (memorial) journal in Exact Online, journal type 90.",
    )
    hie_period_vat_mode = fields.Selection(
        [
            ("vat_journal", "VAT codes on a VAT journal (Exact books the VAT)"),
            ("no_vat", "Journal without VAT (VAT accounts as plain lines)"),
        ],
        string="VAT in memorial entries",
        default="vat_journal",
    )
    hie_period_sync_hour = fields.Integer(
        string="Run at hour", default=6, help="Hour of the day (0-23, in the timezone of the "
        "company's address, else UTC) from which the daily automatic run starts."
    )
    hie_period_grace_days = fields.Integer(
        string="Grace days", default=0,
        help="A month is sent this many days after it ended, so late postings are included.",
    )
    hie_period_closed_policy = fields.Selection(
        [
            ("error", "Stop with an error"),
            ("next_open", "Post in the first open period"),
        ],
        string="Closed Exact period",
        default="error",
    )
    hie_period_last_run_date = fields.Date(string="Period Last Run Date", readonly=True, copy=False)

    @api.constrains("hie_period_sync_hour", "hie_period_grace_days")
    def _check_period_sync_numbers(self):
        for company in self:
            if not 0 <= company.hie_period_sync_hour <= 23:
                raise ValidationError(_("The hour of the automatic run must be 0 to 23."))
            if company.hie_period_grace_days < 0:
                raise ValidationError(_("Grace days cannot be negative."))

    def write(self, vals):
        leaving = self.browse()
        if "hie_period_sync_mode" in vals and vals["hie_period_sync_mode"] in ("document", False):
            leaving = self.filtered(lambda c: c.hie_period_sync_mode not in ("document", False))
        res = super().write(vals)
        if leaving:
            leaving._exact_switch_to_document()
        return res

    def _exact_switch_to_document(self):
        """From memorial entries back to sales entries, without a gap or a double:

        * the periods memorial entries were sent for get their last corrections (e.g. an
          invoice reset to draft since: reversed there, it goes as a sales entry when posted
          again); no memorial entry corrects them later;
        * memorial entries in error are superseded, so that a retry cannot book their
          invoices a second time;
        * the posted customer invoices and credit notes of the synced sales journals that no
          queued or sent memorial entry carries (their period was not sent yet, e.g. the
          current month) are queued as sales entries at once.
        """
        Entry = self.env["accounting.period.entry"].sudo()
        for company in self:
            connection = company._hie_get_connection()
            if not connection:
                continue
            active = Entry.search([("company_id", "=", company.id),
                                   ("state", "in", ("to_send", "sent"))])
            for kind in ("month", "day"):
                periods = sorted({
                    journal.Period.containing(kind, entry.date_from)
                    for entry in active if entry.period_kind == kind
                }, key=lambda period: period.start)
                if periods:
                    Entry._sync_periods(company, periods)
            failed = Entry.search([("company_id", "=", company.id), ("state", "=", "error")])
            failed.write({"superseded": True})
            failed.outbox_id.filtered(lambda o: o.state == "error").write({"state": "cancelled"})
            domain = [
                ("company_id", "=", company.id), ("state", "=", "posted"),
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("journal_id", "in", connection.sync_journal_ids.ids),
            ]
            if connection.sync_start_date:
                domain.append(("date", ">=", connection.sync_start_date))
            moves = self.env["account.move"].sudo().search(domain, order="date, id")
            (moves - moves._exact_in_memorial())._exact_enqueue()
