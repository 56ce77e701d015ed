# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import etree

from odoo.tests import freeze_time, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestAutomaticInvoicing(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.email = "invoices@bouw.example.com"
        cls.customer_invoice.email = "invoices@bouw.example.com"
        cls.project_tm.invoicing_frequency = "monthly"
        cls.project_weekly = cls.env["project.project"].create({
            "name": "Weekly", "partner_id": cls.customer.id,
            "invoicing_type": "time_material", "invoicing_frequency": "weekly",
        })
        cls.project_manual = cls.env["project.project"].create({
            "name": "Manual", "partner_id": cls.customer.id, "invoicing_type": "time_material",
        })

    def _book(self):
        # with an activity at a price: lines without a rate or activity are left out
        activity = self.activity
        return {
            "jan": self.book_hours(self.project_tm, 2, product=activity, date="2026-01-30"),
            "feb": self.book_hours(self.project_tm, 2, product=activity, date="2026-02-02"),
            "week": self.book_hours(self.project_weekly, 1, product=activity,
                                    date="2026-02-01"),
            "week_open": self.book_hours(self.project_weekly, 1, product=activity,
                                         date="2026-02-02"),
            "manual": self.book_hours(self.project_manual, 1, product=activity,
                                      date="2026-01-15"),
        }

    def test_cron_invoices_closed_period_drafts(self):
        self.company.hie_auto_post_invoices = False
        lines = self._book()
        with freeze_time("2026-02-03"):  # a Tuesday
            self.env["project.project"]._cron_hie_invoice_projects()
        self.assertTrue(lines["jan"].invoice_id)
        self.assertFalse(lines["feb"].invoice_id)  # February is not closed yet
        self.assertTrue(lines["week"].invoice_id)  # week ending Sunday 1 February
        self.assertFalse(lines["week_open"].invoice_id)
        self.assertFalse(lines["manual"].invoice_id)
        self.assertEqual(lines["jan"].invoice_id.state, "draft")

    def test_cron_posts_and_sends(self):
        self.company.hie_auto_post_invoices = True
        self.company.hie_auto_send_invoices = True
        lines = self._book()
        with freeze_time("2026-02-03"):
            self.env["project.project"]._cron_hie_invoice_projects()
        moves = lines["jan"].invoice_id | lines["week"].invoice_id
        self.assertEqual(len(moves), 2)
        self.assertEqual(set(moves.mapped("state")), {"posted"})
        self.assertTrue(all(moves.mapped("is_move_sent")))
        self.assertTrue(moves.invoice_pdf_report_id)


@tagged("post_install", "-at_install")
class TestUblHoursInvoice(HieCase):
    def test_peppol_bis3_hour_lines(self):
        if "account.edi.xml.ubl_bis3" not in self.env:
            self.skipTest("account_edi_ubl_cii is not installed")
        nl = self.env.ref("base.nl")
        self.company.partner_id.write({"country_id": nl.id, "vat": "NL000099998B57"})
        self.customer_invoice.write({"country_id": nl.id, "vat": "NL000099998B57",
                                     "street": "Dam 1", "city": "Amsterdam", "zip": "1012 JS"})
        self.customer.write({"country_id": nl.id, "vat": "NL000099998B57"})
        self.book_hours(self.project_tm, 7.5, employee=self.employee_rated,
                        product=self.activity, date="2026-01-05")
        move = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        move.action_post()
        xml, _errors = self.env["account.edi.xml.ubl_bis3"]._export_invoice(move)
        tree = etree.fromstring(xml)
        ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
              "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
        self.assertIn("peppol", tree.findtext("cbc:CustomizationID", namespaces=ns))
        [quantity] = tree.findall("cac:InvoiceLine/cbc:InvoicedQuantity", ns)
        self.assertEqual(float(quantity.text), 7.5)
        self.assertEqual(quantity.get("unitCode"), "HUR")
        amount = tree.findtext("cac:InvoiceLine/cbc:LineExtensionAmount", namespaces=ns)
        self.assertEqual(float(amount), 750.0)  # 7.5 h × employee rate 100
