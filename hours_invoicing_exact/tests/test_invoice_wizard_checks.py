# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import Form, freeze_time, tagged

from .invoice_common import DutchInvoiceCase


class WizardCase(DutchInvoiceCase):
    def _wizard(self, projects, **vals):
        form = Form(self.env["hie.project.invoice.wizard"].with_context(
            active_model="project.project", active_ids=projects.ids))
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save()


@tagged("post_install", "-at_install")
class TestInvoiceHoursAndCosts(WizardCase):
    """Hours and other costs are counted and printed apart: 13 hours and 250 kg of steel are
    13:00 hours, not 263:00."""

    def test_wizard_counts_hours_apart(self):
        self.book_hours(self.project_tm, 8, product=self.activity, date="2026-01-05")
        self.book_hours(self.project_tm, 5, product=self.activity, date="2026-01-06")
        self.book_cost(self.project_tm, self.steel, quantity=250, unit_cost=1.0,
                       date="2026-01-06")
        self.book_cost(self.project_tm, self.material, quantity=4, unit_cost=8.0,
                       date="2026-01-07")
        wizard = self._wizard(self.project_tm, date_to="2026-01-31")
        self.assertEqual(wizard.line_count, 4)
        self.assertAlmostEqual(wizard.hours, 13.0)
        self.assertEqual(wizard.cost_line_count, 2)
        self.assertIn("Wapeningsstaal B500: 250.0 kg", wizard.cost_summary)
        self.assertIn("Cable: 4.0 Units", wizard.cost_summary)
        self.assertAlmostEqual(wizard.amount, 13 * 95.0 + 250 * 1.5 + 4 * 12.0)

    def test_printed_specification_apart(self):
        self.project_tm.invoice_hours_appendix = True
        self.book_hours(self.project_tm, 8, product=self.activity, date="2026-01-05",
                        name="Survey of the site")
        self.book_cost(self.project_tm, self.steel, quantity=250, unit_cost=1.0,
                       date="2026-01-06", name="Rebar delivery")
        move = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.report_invoice", move.ids)[0].decode()
        hours_part, _sep, costs_part = html.partition("Other costs specification")
        self.assertTrue(costs_part, "no specification of other costs")
        hours_part = hours_part.partition("Hours specification")[2]
        self.assertIn("Survey of the site", hours_part)
        self.assertIn("08:00", hours_part)
        self.assertNotIn("Wapeningsstaal", hours_part)
        self.assertNotIn("250:00", html)
        self.assertIn("Wapeningsstaal B500", costs_part)
        self.assertIn("Rebar delivery", costs_part)
        self.assertIn("250.00", costs_part)
        self.assertIn("kg", costs_part)
        self.assertNotIn("Survey of the site", costs_part)


@tagged("post_install", "-at_install")
class TestInvoiceWizardIssues(WizardCase):
    """Lines without a rate, a sales tax or an activity are shown and, by default, refused;
    the user may leave them out, and they stay unbilled."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project_norate = cls.env["project.project"].create({
            "name": "No rate", "partner_id": cls.customer.id,
            "invoicing_type": "time_material", "project_status": "order",
        })

    def _untaxed_service(self):
        hour = self.env.ref("uom.product_uom_hour")
        return self.env["product.product"].create({
            "name": "Untaxed service", "type": "service", "list_price": 50.0, "taxes_id": False,
            "uom_id": hour.id, "uom_po_id": hour.id,
        })

    def test_rateless_project_refused(self):
        """297 hours without any rate are no €0.00 invoice."""
        advice = self.env["product.product"].create(
            {"name": "Advice", "type": "service", "list_price": 0.0})
        line = self.book_hours(self.project_norate, 297, product=advice, date="2026-01-05")
        self.assertEqual(line.revenue_amount, 0.0)
        wizard = self._wizard(self.project_norate, date_to="2026-01-31")
        self.assertEqual(wizard.issue_line_ids, line)
        self.assertIn("no rate", wizard.issue_summary)
        with self.assertRefused(UserError, "no rate", "No rate", "297"):
            wizard.action_create_invoices()
        self.assertFalse(line.invoice_id)
        self.assertFalse(self.env["account.move"].search(
            [("hie_project_ids", "in", self.project_norate.ids)]))

    def test_refused_then_left_out(self):
        good = self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
        no_activity = self.book_hours(self.project_tm, 3, date="2026-01-06")
        taxless_product = self._untaxed_service()
        taxless = self.book_hours(self.project_tm, 1, product=taxless_product,
                                  date="2026-01-06")
        self.company.account_sale_tax_id = False  # no default tax to fall back on
        wizard = self._wizard(self.project_tm, date_to="2026-01-31")
        self.assertEqual(wizard.issue_line_ids, no_activity | taxless)
        self.assertIn("no activity", wizard.issue_summary)
        self.assertIn("no sales tax", wizard.issue_summary)
        with self.assertRefused(UserError, "no activity", "no sales tax", "Untaxed service"):
            wizard.action_create_invoices()
        self.assertFalse(good.invoice_id)
        wizard.exclude_issue_lines = True
        self.assertEqual(wizard.line_count, 1)
        self.assertIn("left out on request", wizard.left_out_summary)
        wizard.action_create_invoices()
        self.assertTrue(good.invoice_id)
        self.assertEqual(good.invoice_line_id.tax_ids, self.tax_21_services)
        for line in no_activity | taxless:
            self.assertFalse(line.invoice_id)
            self.assertEqual(line.billing_status, "to_invoice")

    def test_company_default_tax_is_a_tax(self):
        """A line whose activity has no tax takes the company's default: no issue."""
        product = self._untaxed_service()
        line = self.book_hours(self.project_tm, 1, product=product, date="2026-01-06")
        wizard = self._wizard(self.project_tm, date_to="2026-01-31")
        self.assertFalse(wizard.issue_line_ids)
        wizard.action_create_invoices()
        self.assertEqual(line.invoice_line_id.tax_ids, self.tax_21)


@tagged("post_install", "-at_install")
class TestInvoiceWizardLeftOut(WizardCase):
    """The wizard says which lines it leaves out and why."""

    def test_closed_project_explained(self):
        self.book_hours(self.project_tm, 4, product=self.activity, date="2026-01-05")
        self.book_hours(self.project_tm, 1, product=self.activity_indirect, date="2026-01-05")
        self.book_hours(self.project_tm, 2, product=self.activity, date="2026-02-05")
        self.project_tm.with_context(hie_confirm_close=True).project_status = "closed"
        wizard = self._wizard(self.project_tm, date_to="2026-01-31")
        self.assertEqual(wizard.line_count, 0)
        self.assertIn("is Closed", wizard.left_out_summary)
        self.assertIn("booked after", wizard.left_out_summary)
        with self.assertRefused(UserError, "nothing to invoice", "is Closed", "05:00",
                                "booked after"):
            wizard.action_create_invoices()

    def test_indirect_and_later_explained(self):
        self.book_hours(self.project_tm, 4, product=self.activity, date="2026-01-05")
        self.book_hours(self.project_tm, 1.5, product=self.activity_indirect,
                        date="2026-01-05")
        self.book_hours(self.project_tm, 2, product=self.activity, date="2026-02-05")
        wizard = self._wizard(self.project_tm, date_to="2026-01-31")
        self.assertEqual(wizard.line_count, 1)
        self.assertIn("1 lines (01:30 h): indirect", wizard.left_out_summary)
        self.assertIn("1 lines (02:00 h): booked after", wizard.left_out_summary)


@tagged("post_install", "-at_install")
class TestAutomaticInvoicingIssues(WizardCase):
    """The scheduled invoicing makes no €0 or untaxed lines either: it leaves lines without a
    rate, a tax or an activity unbilled and says so on the project."""

    def test_cron_leaves_out_rateless_lines(self):
        self.company.hie_auto_post_invoices = True
        project = self.env["project.project"].create({
            "name": "Monthly", "partner_id": self.customer.id,
            "invoicing_type": "time_material", "invoicing_frequency": "monthly",
        })
        advice = self.env["product.product"].create(
            {"name": "Advice", "type": "service", "list_price": 0.0})
        good = self.book_hours(project, 2, product=self.activity_other, date="2026-01-20")
        rateless = self.book_hours(project, 297, product=advice, date="2026-01-21")
        no_activity = self.book_hours(project, 3, date="2026-01-22",
                                      revenue_override=True, revenue_manual=150.0)
        with freeze_time("2026-02-03"):
            self.env["project.project"]._cron_hie_invoice_projects()
        self.assertEqual(good.invoice_id.state, "posted")
        self.assertAlmostEqual(good.invoice_id.amount_untaxed, 120.0)  # 2 h × 60
        for line in rateless | no_activity:
            self.assertFalse(line.invoice_id)
            self.assertEqual(line.billing_status, "to_invoice")
        note = project.message_ids[:1]
        self.assertIn("left out 2 booking lines (300:00 h)", note.body)
