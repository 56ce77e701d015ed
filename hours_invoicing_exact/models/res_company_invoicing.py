# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import subprocess

from odoo import fields, models

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin


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
    """Company settings of the invoicing of hours."""

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
    hie_pdf_system_fonts = fields.Boolean(
        string="PDF With Installed Fonts",
        compute="_compute_hie_pdf_system_fonts",
        help="This server's wkhtmltopdf cannot embed web fonts as text: PDFs use the fonts "
        "installed on the server.",
    )

    def _compute_hie_pdf_system_fonts(self):
        self.hie_pdf_system_fonts = wkhtmltopdf_draws_web_fonts()
