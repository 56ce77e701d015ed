# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestInstallments(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Term = cls.env["project.installment"]
        cls.user_invoicing = new_test_user(
            cls.env, login="hie_invoicing",
            groups="base.group_user,account.group_account_invoice,project.group_project_manager",
        )

    def term(self, project=None, **vals):
        return self.Term.create(dict({
            "project_id": (project or self.project_fixed).id,
            "name": "Term",
            "planned_date": "2026-01-31",
        }, **vals))

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------
    def test_percentage_and_amount_terms(self):
        """Contract sum 10,000: 30 % → 3,000; an amount term of 2,500 stays 2,500."""
        pct = self.term(name="Start", amount_type="percentage", percentage=30)
        fixed = self.term(name="Foundation", amount_type="amount", fixed_amount=2500)
        self.assertAlmostEqual(pct.amount, 3000.0)
        self.assertAlmostEqual(fixed.amount, 2500.0)
        self.assertAlmostEqual(self.project_fixed.installment_total, 5500.0)
        self.assertAlmostEqual(self.project_fixed.installment_unscheduled, 4500.0)
        # a larger contract sum (extra work) moves percentage terms, not amount terms
        self.project_fixed.contract_sum = 12000.0
        self.assertAlmostEqual(pct.amount, 3600.0)
        self.assertAlmostEqual(fixed.amount, 2500.0)

    def test_schedule_over_contract_sum_refused(self):
        with self.assertRefused(ValidationError, "percentage"):
            self.term(name="Zero", percentage=0)
        with self.assertRefused(ValidationError, "percentage"):
            self.term(name="Over", percentage=101)
        with self.assertRefused(ValidationError, "positive"):
            self.term(name="Negative", amount_type="amount", fixed_amount=-5)
        self.term(name="Start", percentage=60)  # 6,000
        with self.assertRefused(ValidationError, "more than its contract sum", "Fixed"):
            self.term(name="Too much", amount_type="amount", fixed_amount=4000.01)
        self.term(name="Rest", amount_type="amount", fixed_amount=4000)  # exactly 10,000
        with self.assertRefused(ValidationError, "more than its contract sum"):
            self.project_fixed.contract_sum = 9999.0

    def test_only_fixed_price_projects(self):
        with self.assertRefused(ValidationError, "not a fixed-price project", "T&M"):
            self.term(project=self.project_tm, percentage=10)
        self.term(percentage=10)
        with self.assertRefused(ValidationError, "installment schedule"):
            self.project_fixed.invoicing_type = "time_material"

    def test_schedule_in_project_form(self):
        """The Installments tab of the project form: add terms, the totals follow."""
        with Form(self.project_fixed.with_user(self.user_manager)) as form:
            with form.installment_ids.new() as line:
                line.name = "Start of works"
                line.planned_date = fields.Date.to_date("2026-02-01")
                line.percentage = 25
            with form.installment_ids.new() as line:
                line.name = "Completion"
                line.planned_date = fields.Date.to_date("2026-06-01")
                line.amount_type = "amount"
                line.fixed_amount = 1000
            self.assertAlmostEqual(form.installment_total, 3500.0)
        self.assertEqual(
            self.project_fixed.installment_ids.mapped("amount"), [2500.0, 1000.0]
        )
        with self.assertRaises(ValidationError), Form(self.project_fixed) as form:
            with form.installment_ids.new() as line:
                line.name = "Too much"
                line.amount_type = "amount"
                line.fixed_amount = 7000

    # ------------------------------------------------------------------
    # Invoices
    # ------------------------------------------------------------------
    @freeze_time("2026-03-15")
    def test_invoice_by_button(self):
        term = self.term(name="Start of works", percentage=30)
        self.book_hours(self.project_fixed, hours=4, product=self.activity)
        action = term.with_user(self.user_invoicing).action_create_invoice()
        invoice = term.invoice_id
        self.assertEqual(action["res_id"], invoice.id)
        self.assertEqual(invoice.move_type, "out_invoice")
        self.assertEqual(invoice.state, "draft")
        # addressed to the invoice debtor, not to the principal
        self.assertEqual(invoice.partner_id, self.customer_invoice)
        self.assertEqual(invoice.invoice_date, fields.Date.to_date("2026-03-15"))
        self.assertEqual(invoice.invoice_origin, "Fixed")
        line = invoice.invoice_line_ids
        self.assertEqual(len(line), 1)
        self.assertEqual(line.name, "Start of works")
        self.assertAlmostEqual(line.price_subtotal, 3000.0)
        self.assertAlmostEqual(invoice.amount_untaxed, 3000.0)
        self.assertEqual(line.product_id, self.env.ref("hours_invoicing_exact.product_installment"))
        self.assertEqual(
            line.analytic_distribution, {str(self.project_fixed.account_id.id): 100}
        )
        self.assertEqual(term.state, "invoiced")
        # booked hours of a fixed-price project are never invoiced
        self.assertEqual(
            set(self.env["account.analytic.line"].search(
                [("booking_project_id", "=", self.project_fixed.id)]
            ).mapped("billing_status")),
            {"not_billable"},
        )
        # a term is invoiced once; its amount is frozen; it cannot be deleted
        with self.assertRefused(UserError, "already on invoice"):
            term.action_create_invoice()
        with self.assertRefused(UserError, "cannot be changed"):
            term.percentage = 40
        with self.assertRefused(UserError, "cannot be deleted"):
            term.unlink()
        self.project_fixed.contract_sum = 20000.0
        self.assertAlmostEqual(term.amount, 3000.0)
        term.planned_date = "2026-03-20"  # the date is not billing-relevant
        # revenue counts once posted
        self.assertAlmostEqual(self.project_fixed.installment_invoiced, 0.0)
        invoice.action_post()
        self.assertAlmostEqual(self.project_fixed.installment_invoiced, 3000.0)
        self.assertEqual(self.project_fixed.installment_invoice_count, 1)

    @freeze_time("2026-03-15")
    def test_deleting_or_cancelling_invoice_releases_term(self):
        term = self.term(name="Start", percentage=10)
        term.action_create_invoice()
        term.invoice_id.unlink()
        self.assertEqual(term.state, "planned")
        self.assertFalse(term.invoice_id)
        term.action_create_invoice()
        term.invoice_id.button_cancel()
        self.assertEqual(term.state, "planned")
        term.percentage = 15  # editable again
        term.action_create_invoice()
        self.assertAlmostEqual(term.invoice_id.amount_untaxed, 1500.0)

    def test_invoice_refused_by_project_status(self):
        term = self.term(percentage=10)
        self.project_fixed.project_status = "acquisition"
        with self.assertRefused(UserError, "Acquisition", "Term"):
            term.action_create_invoice()
        self.project_fixed.project_status = "closed"
        with self.assertRefused(UserError, "Closed"):
            term.action_create_invoice()

    def test_plain_user_cannot_edit_schedule(self):
        """Employees who only book hours do not see the schedule; project users read it;
        only project managers (and invoicing users, for the invoice) change it."""
        employee = new_test_user(
            self.env, login="hie_plain_employee",
            groups="base.group_user,hr_timesheet.group_hr_timesheet_user",
        )
        term = self.term(percentage=10)
        with self.assertRaises(AccessError):
            term.with_user(employee).read(["amount"])
        user = new_test_user(
            self.env, login="hie_plain",
            groups="base.group_user,project.group_project_user",
        )
        self.assertEqual(term.with_user(user).read(["amount"])[0]["amount"], 1000.0)
        with self.assertRaises(AccessError):
            self.Term.with_user(user).create({
                "project_id": self.project_fixed.id, "name": "x", "percentage": 5,
            })
        with self.assertRaises(AccessError):
            term.with_user(user).percentage = 20
        with self.assertRaises(AccessError):
            term.with_user(user).action_create_invoice()

    def test_multi_company_rule(self):
        company_b = self.env["res.company"].create({"name": "HIE B.V."})
        project_b = self.env["project.project"].create({
            "name": "Fixed B", "partner_id": self.customer.id, "company_id": company_b.id,
            "invoicing_type": "fixed_price", "contract_sum": 1000.0,
        })
        term_b = self.term(project=project_b, percentage=50)
        self.assertEqual(term_b.company_id, company_b)
        term_a = self.term(percentage=50)
        visible = self.Term.with_user(self.user_manager).search(
            [("id", "in", (term_a | term_b).ids)]
        )
        self.assertEqual(visible, term_a)
        self.user_manager.company_ids |= company_b
        visible = self.Term.with_user(self.user_manager).with_context(
            allowed_company_ids=[self.company.id, company_b.id]
        ).search([("id", "in", (term_a | term_b).ids)])
        self.assertEqual(visible, term_a | term_b)

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------
    def test_cron_invoices_due_terms(self):
        january = self.term(name="January", percentage=20, planned_date="2026-01-31")
        february = self.term(name="February", amount_type="amount", fixed_amount=1500,
                             planned_date="2026-02-28")
        june = self.term(name="June", percentage=50, planned_date="2026-06-30")
        acquisition = self.env["project.project"].create({
            "name": "Tender", "partner_id": self.customer.id, "invoicing_type": "fixed_price",
            "project_status": "acquisition", "contract_sum": 5000.0,
        })
        tender_term = self.term(project=acquisition, name="Tender", percentage=10,
                                planned_date="2026-01-01")
        cron = self.env.ref("hours_invoicing_exact.ir_cron_installment_invoices")
        with freeze_time("2026-03-01"):
            cron.method_direct_trigger()
        self.assertEqual(january.state, "invoiced")
        self.assertEqual(february.state, "invoiced")
        self.assertEqual(june.state, "planned")
        self.assertEqual(tender_term.state, "planned")  # acquisition: no invoice
        self.assertNotEqual(january.invoice_id, february.invoice_id)
        self.assertEqual(january.invoice_id.invoice_date, fields.Date.to_date("2026-03-01"))
        self.assertAlmostEqual(january.invoice_id.amount_untaxed, 2000.0)
        self.assertAlmostEqual(february.invoice_id.amount_untaxed, 1500.0)
        self.assertEqual(february.invoice_id.invoice_line_ids.name, "February")
        self.assertEqual(
            (january | february).invoice_id.partner_id, self.customer_invoice
        )
        invoices = (january | february).invoice_id
        with freeze_time("2026-03-02"):
            cron.method_direct_trigger()  # nothing new is due: nothing happens
        self.assertEqual((january | february).invoice_id, invoices)
        self.assertEqual(june.state, "planned")
        with freeze_time("2026-06-30"):
            self.env["project.installment"]._cron_create_due_invoices()
        self.assertEqual(june.state, "invoiced")
        self.assertAlmostEqual(june.invoice_id.amount_untaxed, 5000.0)
        self.assertEqual(june.invoice_id.invoice_date, fields.Date.to_date("2026-06-30"))

    @freeze_time("2026-03-01")
    def test_project_button_invoices_due_terms(self):
        due = self.term(name="Due", percentage=20, planned_date="2026-02-01")
        later = self.term(name="Later", percentage=20, planned_date="2026-04-01")
        self.project_fixed.action_create_due_installment_invoices()
        self.assertEqual(due.state, "invoiced")
        self.assertEqual(later.state, "planned")
        with self.assertRefused(ValidationError, "no planned installment terms due"):
            self.project_fixed.action_create_due_installment_invoices()
