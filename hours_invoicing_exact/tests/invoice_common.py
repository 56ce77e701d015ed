# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from .common import HieCase


class DutchInvoiceCase(HieCase):
    """HieCase with the Dutch (l10n_nl) sales taxes and fiscal positions of the company, an
    hourly agreement on the T&M project, and steel sold per kilogram."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assertTrue(cls, cls.company.chart_template == "nl")
        chart = cls.env["account.chart.template"].with_company(cls.company)
        cls.tax_21 = chart.ref("btw_21")  # goods, the company's default sales tax
        cls.tax_21_services = chart.ref("btw_21_d")
        cls.tax_9 = chart.ref("btw_9")
        cls.tax_eu_goods = chart.ref("btw_X0_producten")
        cls.tax_eu_services = chart.ref("btw_X0_diensten")
        cls.tax_non_eu = chart.ref("btw_X1")
        cls.fp_eu = chart.ref("fiscal_position_template_eu")
        cls.fp_non_eu = chart.ref("fiscal_position_template_non_eu")
        for tax in (cls.tax_21, cls.tax_21_services, cls.tax_9):
            assert tax.type_tax_use == "sale" and tax.company_id == cls.company
        assert cls.company.account_sale_tax_id == cls.tax_21
        cls.activity.taxes_id = cls.tax_21_services
        cls.material.taxes_id = cls.tax_9
        kg = cls.env.ref("uom.product_uom_kgm")
        cls.steel = cls.env["product.product"].create({
            "name": "Wapeningsstaal B500", "type": "consu", "list_price": 1.5,
            "standard_price": 1.0, "uom_id": kg.id, "uom_po_id": kg.id,
            "taxes_id": [(6, 0, cls.tax_21.ids)],
        })
        cls.agreement(project_id=cls.project_tm.id, kind="hours", hourly_rate=95.0)

    @classmethod
    def activate_dutch(cls):
        cls.env["res.lang"]._activate_lang("nl_NL")
        cls.env["ir.module.module"]._load_module_terms(
            ["hours_invoicing_exact", "uom"], ["nl_NL"])
