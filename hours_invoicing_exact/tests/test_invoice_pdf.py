# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from odoo.tests import HttpCase, tagged

from .invoice_common import DutchInvoiceCase


@contextmanager
def collect_logs(name):
    """The records ``name`` logs meanwhile (whatever their level)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@tagged("post_install", "-at_install")
class TestInvoicePdf(DutchInvoiceCase, HttpCase):
    """A posted hours invoice printed to PDF (wkhtmltopdf) and read back (pdftotext): the
    hours specification in hours, the other costs apart with their unit, the BTW lines, in
    the language of the invoice debtor.

    An HttpCase: wkhtmltopdf loads the report's stylesheets from Odoo's web server, which in
    a plain TransactionCase is not at ``web.base.url`` (the PDF then comes out unstyled,
    after a network error); here the test server is, and shares the test's transaction.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.activate_dutch()
        cls.project_tm.invoice_hours_appendix = True
        cls.project_tm.invoice_partner_id.lang = "nl_NL"
        cls.book_hours(cls.project_tm, 8, product=cls.activity, date="2026-01-05",
                       name="Inspectie fundering")
        cls.book_hours(cls.project_tm, 5, product=cls.activity, date="2026-01-06",
                       name="Tekenwerk")
        cls.book_cost(cls.project_tm, cls.steel, quantity=250, unit_cost=1.0,
                      date="2026-01-06", name="Levering wapening")
        cls.move = cls.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        cls.move.action_post()

    def _pdf_text(self, move):
        for tool in ("wkhtmltopdf", "pdftotext"):
            self.assertTrue(shutil.which(tool), f"{tool} is not installed: the PDF of an "
                            "invoice cannot be printed")
        with collect_logs("odoo.addons.base.models.ir_actions_report") as records:
            pdf, kind = self.env["ir.actions.report"].with_context(
                force_report_rendering=True)._render_qweb_pdf("account.account_invoices",
                                                               move.ids)
        errors = [record.getMessage() for record in records
                  if "error" in record.getMessage().lower()]
        self.assertFalse(errors, "wkhtmltopdf could not load the report's resources")
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "invoice.pdf"
            path.write_bytes(pdf)
            result = subprocess.run(["pdftotext", "-layout", str(path), "-"],
                                    capture_output=True, text=True, check=True, timeout=60)
        return result.stdout

    def test_pdf_hours_costs_tax_language(self):
        self.assertEqual(self.move.state, "posted")
        text = self._pdf_text(self.move)
        # the hours specification in Dutch, in hours
        self.assertIn("Urenspecificatie", text)
        self.assertNotIn("Hours specification", text)
        hours_part, _sep, costs_part = text.partition("Specificatie overige kosten")
        self.assertTrue(costs_part, text)
        hours_part = hours_part.partition("Urenspecificatie")[2]
        self.assertIn("Inspectie fundering", hours_part)
        self.assertIn("08:00", hours_part)
        self.assertIn("05:00", hours_part)
        self.assertIn("13:00", hours_part)  # total hours
        self.assertNotIn("Wapeningsstaal", hours_part)
        self.assertNotIn("250:00", text)
        self.assertNotIn("263:00", text)
        # the other costs apart, with quantity and unit
        self.assertIn("Levering wapening", costs_part)
        self.assertIn("Wapeningsstaal B500", costs_part)
        self.assertRegex(costs_part, r"250,00\s+kg")  # Dutch number format, with its unit
        self.assertIn("Aantal", costs_part)
        self.assertIn("Eenheid", costs_part)
        # the BTW: 21 % on every line (services and goods)
        self.assertIn("21%", text)
        self.assertAlmostEqual(self.move.amount_tax, 0.21 * self.move.amount_untaxed, places=2)
        amount_tax = f"{self.move.amount_tax:,.2f}"
        self.assertTrue(amount_tax in text or amount_tax.replace(",", "X").replace(
            ".", ",").replace("X", ".") in text, (amount_tax, text))
        # labels of the invoice lines in the debtor's language
        self.assertIn("Opdrachtgever", text)
        self.assertNotIn("(principal:", text)
