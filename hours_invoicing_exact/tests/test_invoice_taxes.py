# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import closing
from unittest.mock import patch

from odoo.tests import Form, tagged

from .invoice_common import DutchInvoiceCase


@tagged("post_install", "-at_install")
class TestInvoiceTaxes(DutchInvoiceCase):
    """Every invoice line carries its sales tax (Dutch chart): the activity's or product's
    taxes, else the company's default sales tax, mapped by the debtor's fiscal position."""

    def _book_every_way(self):
        """One booking line for every way an hour or a cost can be booked."""
        return {
            "hours_activity": self.book_hours(self.project_tm, 2, product=self.activity,
                                              date="2026-01-05"),
            "hours_no_activity": self.book_hours(self.project_tm, 3, date="2026-01-06"),
            "hours_rated_employee": self.book_hours(
                self.project_tm, 1, employee=self.employee_rated, date="2026-01-06",
                revenue_override=True, revenue_manual=120.0),
            "cost_product": self.book_cost(self.project_tm, self.material, quantity=4,
                                           unit_cost=8.0, date="2026-01-07"),
            "cost_no_product": self.env["account.analytic.line"].create({
                "name": "parking", "account_id": self.project_tm.account_id.id,
                "unit_amount": 1.0, "cost_unit_price": 12.5, "date": "2026-01-07",
                "revenue_override": True, "revenue_manual": 15.0,
            }),
        }

    def _expected(self, fiscal_position=None):
        source = {
            "hours_activity": self.tax_21_services,
            "hours_no_activity": self.tax_21,  # the company's default sales tax
            "hours_rated_employee": self.tax_21,
            "cost_product": self.tax_9,
            "cost_no_product": self.tax_21,
        }
        if fiscal_position:
            return {key: fiscal_position.map_tax(tax) for key, tax in source.items()}
        return source

    def _check(self, fiscal_position=None):
        lines = self._book_every_way()
        self.assertFalse(lines["hours_no_activity"].product_id)
        self.assertFalse(lines["cost_no_product"].product_id)
        self.assertEqual(lines["cost_no_product"].booking_kind, "cost")
        move = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        self.assertEqual(len(move), 1)
        self.assertEqual(move.fiscal_position_id, fiscal_position or self.env[
            "account.fiscal.position"])
        expected = self._expected(fiscal_position)
        for key, line in lines.items():
            with self.subTest(line=key):
                self.assertEqual(line.invoice_id, move)
                self.assertTrue(line.invoice_line_id.tax_ids, f"{key} has no tax")
                self.assertEqual(line.invoice_line_id.tax_ids, expected[key])
        product_lines = move.invoice_line_ids.filtered(lambda aml: aml.display_type == "product")
        self.assertTrue(all(product_lines.mapped("tax_ids")))
        # the totals follow the taxes: posting keeps them
        move.action_post()
        expected_tax = sum(
            move.currency_id.round(aml.price_subtotal * sum(aml.tax_ids.mapped("amount")) / 100)
            for aml in product_lines
        )
        self.assertAlmostEqual(move.amount_tax, expected_tax, places=2)
        return move, lines

    def test_domestic_debtor(self):
        move, lines = self._check()
        self.assertEqual(lines["hours_no_activity"].invoice_line_id.tax_ids.amount, 21.0)
        self.assertGreater(move.amount_tax, 0.0)

    def test_eu_reverse_charge_debtor(self):
        debtor = self.env["res.partner"].create({
            "name": "Bau GmbH", "is_company": True, "country_id": self.env.ref("base.de").id,
            "property_account_position_id": self.fp_eu.id,
        })
        self.project_tm.invoice_partner_id = debtor
        move, lines = self._check(self.fp_eu)
        self.assertEqual(lines["hours_activity"].invoice_line_id.tax_ids, self.tax_eu_services)
        self.assertEqual(lines["hours_no_activity"].invoice_line_id.tax_ids, self.tax_eu_goods)
        self.assertEqual(lines["cost_product"].invoice_line_id.tax_ids, self.tax_eu_goods)
        self.assertAlmostEqual(move.amount_tax, 0.0)

    def test_non_eu_debtor(self):
        debtor = self.env["res.partner"].create({
            "name": "Acme Inc.", "is_company": True, "country_id": self.env.ref("base.us").id,
            "property_account_position_id": self.fp_non_eu.id,
        })
        self.project_tm.invoice_partner_id = debtor
        _move, lines = self._check(self.fp_non_eu)
        self.assertEqual(lines["hours_activity"].invoice_line_id.tax_ids, self.tax_non_eu)
        self.assertEqual(lines["hours_no_activity"].invoice_line_id.tax_ids, self.tax_non_eu)

    def test_detail_level_line(self):
        self.project_tm.invoice_detail_level = "line"
        self._check()

    def test_activity_chosen_in_my_timesheets(self):
        """A plain employee picks the activity in hr_timesheet's own views; it defaults to
        the project's default activity."""
        self.project_tm.default_service_product_id = self.activity_other
        tree = self.env["account.analytic.line"].get_view(
            self.env.ref("hr_timesheet.hr_timesheet_line_tree").id, "list")["arch"]
        self.assertIn('name="product_id"', tree)
        Line = self.env["account.analytic.line"].with_user(self.user_employee)
        with Form(Line, view="hr_timesheet.hr_timesheet_line_form") as form:
            form.project_id = self.project_tm
            self.assertEqual(form.product_id, self.activity_other)
            form.product_id = self.activity
            form.name = "drawing"
            form.unit_amount = 2.0
        line = form.record
        self.assertEqual(line.product_id, self.activity)
        self.assertEqual(line.employee_id, self.employee)
        self.assertAlmostEqual(line.cost_amount, 100.0)  # the employee's cost, not the product's
        move = self.project_tm._hie_create_invoices("2026-12-31")
        self.assertEqual(line.sudo().invoice_line_id.tax_ids, self.tax_21_services)
        self.assertTrue(move)

    # ------------------------------------------------------------------
    # The amounts and tax tags given to new invoice lines are Odoo's own
    # ------------------------------------------------------------------
    def _invoice_lines_figures(self, move):
        """What Odoo computes on an invoice, without ids that differ between two runs."""
        return sorted(
            (aml.display_type, aml.name or "", aml.account_id.id,
             move.currency_id.round(aml.balance), move.currency_id.round(aml.amount_currency),
             tuple(sorted(aml.tax_ids.ids)), tuple(sorted(aml.tax_tag_ids.ids)))
            for aml in move.line_ids
        ) + [move.amount_untaxed, move.amount_tax, move.amount_total]

    def _assert_line_amounts_as_odoo(self):
        """Invoicing gives the new invoice lines their amounts and tax tags (so that Odoo does
        not write each line again after create): the invoice is the same as when Odoo computes
        them itself, and Odoo keeps every value given (it had nothing to correct)."""
        self._book_every_way()
        Project = type(self.env["project.project"])
        own = Project._hie_add_line_amounts
        with closing(self.env.cr.savepoint()), \
                patch.object(Project, "_hie_add_line_amounts", lambda *args: None):
            plain = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
            self.assertTrue(plain)
            expected = self._invoice_lines_figures(plain)
            plain.action_post()
            expected_posted = self._invoice_lines_figures(plain)
        given = []

        def spy(model, company, currency, lines_vals):
            own(model, company, currency, lines_vals)
            given.append([dict(vals) for vals in lines_vals])

        with patch.object(Project, "_hie_add_line_amounts", spy):
            move = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        self.assertEqual(len(move), 1)
        self.assertEqual(self._invoice_lines_figures(move), expected)
        [lines_vals] = given
        product_lines = move.invoice_line_ids.filtered(
            lambda aml: aml.display_type == "product").sorted("sequence")
        self.assertEqual(len(product_lines), len(lines_vals))
        for aml, vals in zip(product_lines, lines_vals, strict=True):
            with self.subTest(line=aml.name):
                self.assertIn("balance", vals)
                self.assertAlmostEqual(aml.balance, vals["balance"], places=2)
                self.assertAlmostEqual(aml.amount_currency, vals["amount_currency"], places=2)
                self.assertEqual(aml.tax_tag_ids.ids, vals["tax_tag_ids"][0][2])
                self.assertTrue(aml.tax_tag_ids, "a Dutch sales tax reports its base")
        move.action_post()
        self.assertEqual(self._invoice_lines_figures(move), expected_posted)

    def test_line_amounts_domestic(self):
        self._assert_line_amounts_as_odoo()

    def test_line_amounts_eu_reverse_charge(self):
        self.project_tm.invoice_partner_id = self.env["res.partner"].create({
            "name": "Bau GmbH", "is_company": True, "country_id": self.env.ref("base.de").id,
            "property_account_position_id": self.fp_eu.id,
        })
        self._assert_line_amounts_as_odoo()

    def test_line_amounts_round_globally(self):
        self.company.tax_calculation_rounding_method = "round_globally"
        self.project_tm.invoice_detail_level = "line"
        self._assert_line_amounts_as_odoo()
