# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestInvoicingWizard(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls.env["res.partner"].create({"name": "Holding B.V.", "is_company": True})
        cls.project_tm.invoice_partner_id = cls.debtor
        cls.project_tm2 = cls.env["project.project"].create({
            "name": "T&M 2", "partner_id": cls.other_customer.id,
            "invoice_partner_id": cls.debtor.id, "invoicing_type": "time_material",
            "project_status": "quoted",
        })
        cls.agreement(project_id=cls.project_tm.id, kind="hours", hourly_rate=95.0)

    def _wizard(self, model, records, **vals):
        form = Form(self.env["hie.project.invoice.wizard"].with_context(
            active_model=model, active_ids=records.ids))
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save()

    def test_invoice_per_project_debtor_principal_agreements(self):
        self.project_tm.invoice_detail_level = "summary"  # per activity, employee and rate
        a1 = self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
        a2 = self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-06")
        b = self.book_hours(self.project_tm, 1.5, employee=self.employee_rated,
                            product=self.activity, date="2026-01-06")
        over = self.book_hours(self.project_tm, 1, product=self.activity_other,
                               date="2026-01-07", revenue_override=True, revenue_manual=333.33)
        cost = self.book_cost(self.project_tm, self.material, quantity=4, unit_cost=8.0,
                              date="2026-01-07")
        # left alone: later date, indirect, fixed price, internal, other status
        later = self.book_hours(self.project_tm, 1, date="2026-02-01")
        indirect = self.book_hours(self.project_tm, 1, product=self.activity_indirect,
                                   date="2026-01-05")
        fixed = self.book_hours(self.project_fixed, 1, date="2026-01-05")
        internal = self.book_hours(self.project_internal, 1, date="2026-01-05")
        other = self.book_hours(self.project_tm2, 1, date="2026-01-05")
        self.project_tm2.project_status = "acquisition"
        wizard = self._wizard("project.project", self.project_tm | self.project_tm2,
                              date_to="2026-01-31", invoice_date="2026-01-31")
        self.assertEqual(wizard.line_count, 5)
        moves = self.env["account.move"].browse(
            wizard.action_create_invoices().get("res_id"))
        self.assertEqual(len(moves), 1)
        self.assertEqual(moves.state, "draft")
        self.assertEqual(moves.partner_id, self.debtor)  # invoice debtor, not principal
        self.assertEqual(moves.hie_principal_id, self.customer)
        self.assertEqual(moves.hie_project_ids, self.project_tm)
        self.assertIn("T&M", moves.ref)
        self.assertIn(self.customer.name, moves.ref)
        billed = a1 | a2 | b | over | cost
        self.assertEqual(set(billed.mapped("billing_status")), {"invoiced"})
        self.assertEqual(billed.invoice_id, moves)
        for line in later | indirect | fixed | internal | other:
            self.assertFalse(line.invoice_id)
        # summary: Anna consultancy 5 h × 95 agreement in one line; Bram 1.5 h × 95
        anna = a1.invoice_line_id
        self.assertEqual(anna, a2.invoice_line_id)
        self.assertEqual((anna.quantity, anna.price_unit), (5.0, 95.0))
        self.assertEqual(anna.hie_booking_line_ids, a1 | a2)
        self.assertNotEqual(b.invoice_line_id, anna)
        self.assertEqual(b.invoice_line_id.price_subtotal, 142.5)
        self.assertEqual(over.invoice_line_id.price_subtotal, 333.33)  # manual revenue
        self.assertEqual(cost.invoice_line_id.price_subtotal, cost.revenue_amount)
        self.assertAlmostEqual(moves.amount_untaxed, sum(billed.mapped("revenue_amount")))
        self.assertEqual(moves.hie_booking_line_count, 5)
        self.assertAlmostEqual(moves.hie_hours_difference, 0.0)
        analytic = {str(self.project_tm.account_id.id): 100.0}
        for aml in moves.invoice_line_ids:
            self.assertEqual(aml.analytic_distribution, analytic)
        # nothing left: a second run refuses with the rule
        wizard = self._wizard("project.project", self.project_tm, date_to="2026-01-31")
        with self.assertRefused(UserError, "Quoted/Tendered or Order"):
            wizard.action_create_invoices()

    def test_detail_levels(self):
        """By default one invoice line per activity and rate, whoever booked the hours; per
        activity, employee and rate, or per booking line, when the project says so."""
        project = self.env["project.project"].create(
            {"name": "New", "partner_id": self.customer.id})
        self.assertEqual(project.invoice_detail_level, "activity")
        self.assertEqual(self.project_tm.invoice_detail_level, "activity")
        expected = {
            "activity": [(1.0, 95.0), (6.5, 95.0)],
            "summary": [(1.0, 95.0), (1.5, 95.0), (5.0, 95.0)],
            "line": [(1.0, 95.0), (1.5, 95.0), (2.0, 95.0), (3.0, 95.0)],
        }
        for level, quantities in expected.items():
            self.project_tm.invoice_detail_level = level
            lines = (
                self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
                | self.book_hours(self.project_tm, 3, product=self.activity, date="2026-01-06")
                | self.book_hours(self.project_tm, 1.5, employee=self.employee_rated,
                                  product=self.activity, date="2026-01-06")
                | self.book_hours(self.project_tm, 1, product=self.activity_other,
                                  date="2026-01-07")
            )
            move = self.project_tm._hie_create_invoices("2026-01-31")
            amls = move.invoice_line_ids.filtered(lambda aml: aml.display_type == "product")
            self.assertEqual(sorted((aml.quantity, aml.price_unit) for aml in amls), quantities,
                             level)
            self.assertEqual(move.hie_booking_line_ids, lines, level)
            self.assertEqual(amls.hie_booking_line_ids, lines, level)
            for aml in amls:
                self.assertAlmostEqual(
                    aml.price_subtotal, sum(aml.hie_booking_line_ids.mapped("revenue_amount")))
                self.assertEqual(aml.hie_booking_line_ids.invoice_line_id, aml)
                by_rated = self.employee_rated in aml.hie_booking_line_ids.employee_id
                self.assertEqual(self.employee_rated.name in aml.name,
                                 level != "activity" and by_rated, (level, aml.name))
            self.assertAlmostEqual(move.amount_untaxed, sum(lines.mapped("revenue_amount")))

    def test_grouping_per_debtor_and_detail_level(self):
        self.project_tm2.invoice_detail_level = "line"
        l1 = self.book_hours(self.project_tm, 2, date="2026-01-05")
        l2 = self.book_hours(self.project_tm2, 1, date="2026-01-05")
        l3 = self.book_hours(self.project_tm2, 1, date="2026-01-06")
        moves = (self.project_tm | self.project_tm2)._hie_create_invoices(
            "2026-01-31", grouping="debtor")
        self.assertEqual(len(moves), 1)
        self.assertEqual(moves.partner_id, self.debtor)
        self.assertFalse(moves.hie_principal_id)  # two principals
        self.assertEqual(moves.hie_project_ids, self.project_tm | self.project_tm2)
        # several projects on one invoice: every line names its project, in project order
        amls = moves.invoice_line_ids.sorted("sequence")
        self.assertEqual(set(amls.mapped("display_type")), {"product"})
        self.assertEqual([aml.name.split(" - ")[0] for aml in amls],
                         ["T&M", "T&M 2", "T&M 2"])
        self.assertEqual(l2.invoice_line_id.hie_booking_line_ids, l2)
        self.assertNotEqual(l2.invoice_line_id, l3.invoice_line_id)  # detail level: per line
        self.assertEqual(l1.invoice_id, moves)
        # per project: two invoices, both to the debtor
        self.env["hie.billing.link"]._release((l1 | l2 | l3).ids)
        moves.unlink()
        moves = (self.project_tm | self.project_tm2)._hie_create_invoices("2026-01-31")
        self.assertEqual(len(moves), 2)
        self.assertEqual(moves.partner_id, self.debtor)
        self.assertEqual(moves.mapped("hie_principal_id"), self.customer | self.other_customer)

    def test_from_customer_and_from_lines(self):
        l1 = self.book_hours(self.project_tm, 2, product=self.activity, date="2026-01-05")
        l2 = self.book_hours(self.project_tm, 1, product=self.activity, date="2026-01-06")
        wizard = self._wizard("account.analytic.line", l2)
        self.assertEqual(wizard.project_ids, self.project_tm)
        self.assertEqual(wizard.line_count, 1)
        wizard.action_create_invoices()
        self.assertTrue(l2.invoice_id)
        self.assertFalse(l1.invoice_id)
        wizard = self._wizard("res.partner", self.customer, date_to="2026-01-31")
        self.assertEqual(wizard.line_count, 1)
        wizard.action_create_invoices()
        self.assertTrue(l1.invoice_id)
        self.assertNotEqual(l1.invoice_id, l2.invoice_id)

    def test_journal_and_printed_invoice(self):
        self.project_tm.invoice_hours_appendix = True
        self.book_hours(self.project_tm, 2, date="2026-01-05", name="Survey of the site")
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.company.id)], limit=1)
        moves = self.project_tm._hie_create_invoices("2026-01-31", journal=journal,
                                                     invoice_date="2026-01-31")
        self.assertEqual(moves.journal_id, journal)
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.report_invoice", moves.ids)[0].decode()
        self.assertIn("Hours specification", html)
        self.assertIn("Survey of the site", html)
        self.assertIn("Principal", html)
        self.project_tm.invoice_hours_appendix = False
        moves.invalidate_recordset()
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.report_invoice", moves.ids)[0].decode()
        self.assertNotIn("Survey of the site", html)
        purchase = self.env["account.journal"].search(
            [("type", "=", "purchase"), ("company_id", "=", self.company.id)], limit=1)
        self.book_hours(self.project_tm, 1, date="2026-01-06")
        with self.assertRefused(UserError, purchase.name):
            self.project_tm._hie_create_invoices("2026-01-31", journal=purchase)

    def test_posted_invoice_revenue_not_a_booking_line(self):
        """The analytic lines of a posted hours invoice are revenue, never billable cost."""
        self.book_hours(self.project_tm, 2, date="2026-01-05")
        moves = self.project_tm._hie_create_invoices("2026-01-31", invoice_date="2026-01-31")
        moves.action_post()
        revenue = moves.invoice_line_ids.analytic_line_ids
        self.assertTrue(revenue)
        self.assertFalse(revenue.booking_project_id)
        self.assertFalse(self.project_tm._hie_create_invoices("2026-01-31"))
