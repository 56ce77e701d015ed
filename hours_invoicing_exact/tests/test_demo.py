# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The demo data (what scripts/start.sh shows a newcomer) is a Dutch company."""

from stdnum.nl import vat as nl_vat

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDutchDemo(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.maintenance = cls.env.ref("hours_invoicing_exact.project_maintenance",
                                      raise_if_not_found=False)

    def setUp(self):
        super().setUp()
        if not self.maintenance:
            self.skipTest("database without demo data")

    def demo(self, xmlid):
        return self.env.ref(f"hours_invoicing_exact.{xmlid}")

    def test_dutch_company(self):
        company = self.env.ref("base.main_company")
        self.assertEqual(company.country_id.code, "NL")
        self.assertEqual(company.currency_id.name, "EUR")
        self.assertEqual(company.chart_template, "nl")
        self.assertTrue(nl_vat.is_valid(company.vat), company.vat)
        self.assertRegex(company.company_registry, r"^\d{8}$")

    def test_dutch_customers_with_vat_and_kvk(self):
        for xmlid in ("partner_devries", "partner_gemeente", "partner_holding",
                      "partner_zorggroep"):
            partner = self.demo(xmlid)
            with self.subTest(partner=partner.name):
                self.assertEqual(partner.country_id.code, "NL")
                self.assertTrue(nl_vat.is_valid(partner.vat), partner.vat)
                self.assertRegex(partner.company_registry, r"^\d{8}$")

    def test_projects_of_every_type_with_hours_and_costs(self):
        projects = self.env["project.project"].browse([
            self.demo(xmlid).id for xmlid in (
                "project_renovation", "project_maintenance", "project_townhall",
                "project_tender", "project_overhead")
        ])
        self.assertEqual(set(projects.mapped("invoicing_type")),
                         {"time_material", "fixed_price", "internal"})
        lines = self.env["account.analytic.line"].search(
            [("booking_project_id", "in", projects.ids)])
        hours = lines.filtered(lambda line: line.booking_kind == "hours")
        costs = lines - hours
        for project in projects - self.demo("project_tender"):
            with self.subTest(project=project.name):
                self.assertTrue(hours.filtered(
                    lambda line, p=project: line.booking_project_id == p))
        self.assertGreaterEqual(len(hours.employee_id), 3)
        self.assertTrue({"Units", "m", "kg"} <= set(costs.product_uom_id.mapped("name")),
                        costs.product_uom_id.mapped("name"))
        self.assertTrue(self.demo("project_townhall").installment_ids)
        self.assertEqual(self.demo("term_townhall_1").invoice_id.state, "posted")
        agreements = self.env["project.rate.agreement"].search(
            ["|", ("project_id", "in", projects.ids),
             ("partner_id", "in", projects.partner_id.ids)])
        self.assertEqual(set(agreements.mapped("kind")), {"hours", "cost"})
        self.assertEqual(agreements.company_id, self.env.ref("base.main_company"))

    def test_posted_invoice_with_btw_and_hours_specification(self):
        move = self.env["account.move"].search(
            [("hie_project_ids", "in", self.maintenance.ids)])
        self.assertEqual(len(move), 1)
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.company_id, self.env.ref("base.main_company"))
        self.assertEqual(move.partner_id, self.demo("partner_zorggroep"))
        billed = (self.demo("line_maintenance_1") | self.demo("line_maintenance_2")
                  | self.demo("line_maintenance_3") | self.demo("line_maintenance_filters"))
        self.assertEqual(move.hie_booking_line_ids, billed)
        self.assertEqual(set(billed.mapped("billing_status")), {"invoiced"})
        self.assertEqual(self.demo("line_maintenance_open").billing_status, "to_invoice")
        self.assertEqual(move.currency_id.compare_amounts(move.amount_untaxed,
                                                          move.hie_hours_value), 0)
        # every invoice line carries a Dutch BTW sales tax of the company
        product_lines = move.invoice_line_ids.filtered(
            lambda aml: aml.display_type == "product")
        self.assertTrue(product_lines)
        for line in product_lines:
            with self.subTest(line=line.name):
                self.assertEqual(line.tax_ids.mapped("amount"), [21.0])
                self.assertEqual(line.tax_ids.company_id, move.company_id)
                self.assertEqual(line.tax_ids.type_tax_use, "sale")
        self.assertTrue(move.line_ids.filtered(lambda aml: aml.display_type == "tax"))
        self.assertAlmostEqual(move.amount_tax, move.amount_untaxed * 0.21, delta=0.05)
        # the hours specification is printed with the invoice
        self.assertTrue(move.hie_hours_appendix)
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.report_invoice", move.ids)[0].decode()
        self.assertIn("Hours specification", html)
        self.assertIn("Quarterly inspection building A", html)
