# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two Dutch companies sharing a customer: agreements, booking lines and invoicing never
cross the company line, for plain users and for the scheduled actions."""

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, freeze_time, new_test_user, tagged

from .common import HieCase

BILLING_GROUPS = (
    "base.group_user,account.group_account_invoice,project.group_project_manager,"
    "hr_timesheet.group_hr_timesheet_approver"
)


@tagged("post_install", "-at_install")
class TestMultiCompany(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        nl = cls.env.ref("base.nl")
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create({
            "name": "Installatiebedrijf Zuid B.V.", "country_id": nl.id,
            "currency_id": cls.env.ref("base.EUR").id,
            # these tests are about companies, not about the approval of hours
            "hie_invoice_approved_only": False,
        })
        cls.env["account.chart.template"].try_loading("nl", cls.company_b, install_demo=False)
        cls.env.user.company_ids |= cls.company_b
        for company in cls.company_a | cls.company_b:
            company.hie_auto_post_invoices = False
        # the customer is shared (no company), the project too: what Odoo 18 gives a new
        # project unless a company is chosen
        cls.project_shared = cls.env["project.project"].create({
            "name": "Shared T&M", "partner_id": cls.customer.id,
            "invoicing_type": "time_material", "project_status": "order",
        })
        cls.project_b = cls.env["project.project"].create({
            "name": "T&M of B", "partner_id": cls.customer.id, "company_id": cls.company_b.id,
            "invoicing_type": "time_material", "project_status": "order",
        })
        cls.employee_b = cls.env["hr.employee"].create({
            "name": "Cees", "company_id": cls.company_b.id, "hourly_cost": 40.0,
        })
        cls.user_b_only = new_test_user(
            cls.env, login="hie_billing_b", company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)], groups=BILLING_GROUPS,
        )
        cls.user_both = new_test_user(
            cls.env, login="hie_billing_ab", company_id=cls.company_b.id,
            company_ids=[Command.set((cls.company_a | cls.company_b).ids)],
            groups=BILLING_GROUPS,
        )
        # company A's agreement with the shared customer
        cls.agreement_a = cls.agreement(partner_id=cls.customer.id, kind="hours",
                                        hourly_rate=90.0)

    @classmethod
    def book_b(cls, project, hours=1.0, **vals):
        return cls.env["account.analytic.line"].with_company(cls.company_b).create(dict({
            "name": "work B", "project_id": project.id, "employee_id": cls.employee_b.id,
            "unit_amount": hours, "product_id": cls.activity.id,
        }, **vals))

    def book_both(self, date="2026-01-15"):
        line_a = self.book_hours(self.project_shared, 2.0, product=self.activity, date=date)
        line_b = self.book_b(self.project_shared, 3.0, date=date)
        self.assertEqual(line_a.company_id, self.company_a)
        self.assertEqual(line_b.company_id, self.company_b)
        return line_a, line_b

    def as_user(self, user, *companies):
        """The environment of ``user`` working in ``companies`` (the first one current)."""
        return self.env(user=user, context=dict(
            self.env.context, allowed_company_ids=[c.id for c in companies],
        ))

    # ------------------------------------------------------------------
    # Rate agreements
    # ------------------------------------------------------------------
    def test_project_without_company(self):
        self.assertFalse(self.project_shared.company_id)

    def test_agreement_prices_only_lines_of_its_company(self):
        line_a, line_b = self.book_both()
        line_b_project = self.book_b(self.project_b, 1.0)
        self.assertEqual(line_a.revenue_unit_rate, 90.0)
        self.assertEqual(line_a.revenue_agreement_id, self.agreement_a)
        for line in (line_b, line_b_project):
            # company A's agreement never prices company B's hours: the list price does
            self.assertFalse(line.revenue_agreement_id)
            self.assertEqual(line.revenue_source, "product")
            self.assertEqual(line.revenue_unit_rate, 80.0)
        # company B's own agreement with the same customer prices B's lines only
        agreement_b = self.env["project.rate.agreement"].with_company(self.company_b).create({
            "partner_id": self.customer.id, "kind": "hours", "hourly_rate": 70.0,
        })
        self.assertEqual(agreement_b.company_id, self.company_b)
        self.assertEqual(line_b.revenue_unit_rate, 70.0)
        self.assertEqual(line_b_project.revenue_agreement_id, agreement_b)
        self.assertEqual(line_a.revenue_unit_rate, 90.0)
        self.assertEqual(line_a.revenue_agreement_id, self.agreement_a)

    def test_project_agreement_of_shared_project_is_one_company_s(self):
        agreement = self.agreement(project_id=self.project_shared.id, kind="hours",
                                   hourly_rate=120.0)
        self.assertEqual(agreement.company_id, self.company_a)
        line_a, line_b = self.book_both()
        self.assertEqual(line_a.revenue_agreement_id, agreement)
        self.assertNotEqual(line_b.revenue_agreement_id, agreement)
        self.assertEqual(line_b.revenue_unit_rate, 80.0)

    def test_agreement_company_required_and_consistent(self):
        self.assertTrue(self.env["project.rate.agreement"]._fields["company_id"].required)
        # the same terms in both companies are two agreements, not duplicates
        agreement_b = self.env["project.rate.agreement"].with_company(self.company_b).create({
            "partner_id": self.customer.id, "kind": "hours", "hourly_rate": 75.0,
        })
        self.assertEqual(agreement_b.company_id, self.company_b)
        with self.assertRaises(ValidationError):
            self.env["project.rate.agreement"].with_company(self.company_b).create({
                "partner_id": self.customer.id, "kind": "hours", "hourly_rate": 76.0,
            })
        # an agreement takes the company of its project, else of its customer, else the
        # current company
        self.assertEqual(self.agreement(project_id=self.project_b.id, kind="cost",
                                        markup=5.0).company_id, self.company_b)
        customer_b = self.env["res.partner"].create({
            "name": "Klant van B", "is_company": True, "company_id": self.company_b.id,
        })
        self.assertEqual(self.agreement(partner_id=customer_b.id, kind="cost",
                                        markup=5.0).company_id, self.company_b)
        # a project of company B cannot carry an agreement of company A
        with self.assertRaises(UserError):
            self.agreement(project_id=self.project_b.id, kind="hours", hourly_rate=1.0,
                           company_id=self.company_a.id)
        # an agreement made by a user working in B is B's
        agreement = self.env["project.rate.agreement"].with_env(
            self.as_user(self.user_b_only, self.company_b)
        ).create({"project_id": self.project_shared.id, "kind": "cost", "markup": 10.0})
        self.assertEqual(agreement.company_id, self.company_b)

    def test_agreements_visible_in_their_company_only(self):
        ids = self.agreement_a.ids
        for env in (self.as_user(self.user_b_only, self.company_b),
                    self.as_user(self.user_both, self.company_b)):
            Agreement = env["project.rate.agreement"]
            self.assertFalse(Agreement.search([("id", "in", ids)]))
            with self.assertRaises(AccessError):
                Agreement.browse(ids).read(["hourly_rate"])
            self.assertNotIn(self.agreement_a,
                             env["res.partner"].browse(self.customer.id).rate_agreement_ids)
        env = self.as_user(self.user_both, self.company_b, self.company_a)
        self.assertEqual(env["project.rate.agreement"].search([("id", "in", ids)]).ids, ids)

    # ------------------------------------------------------------------
    # Invoicing by a user
    # ------------------------------------------------------------------
    def _invoice_by_wizard(self, env, project, **vals):
        wizard = env["hie.project.invoice.wizard"].with_context(
            active_model="project.project", active_ids=project.ids,
        ).create(dict({"date_to": "2026-01-31"}, **vals))
        preview = (wizard.line_count, wizard.hours)
        action = wizard.action_create_invoices()
        return preview, self.env["account.move"].browse(action.get("res_id"))

    def _check_b_invoices_only_b_lines(self, env):
        line_a, line_b = self.book_both()
        preview, move = self._invoice_by_wizard(env, self.project_shared)
        self.assertEqual(preview, (1, 3.0))
        self.assertEqual(move.company_id, self.company_b)
        self.assertEqual(move.journal_id.company_id, self.company_b)
        self.assertEqual(move.hie_booking_line_ids, line_b)
        self.assertEqual(line_b.invoice_id, move)
        self.assertFalse(line_a.invoice_id)  # company A's hours stay A's
        self.assertEqual(line_a.billing_status, "to_invoice")

    def test_user_allowed_in_b_only_invoices_only_b_lines_in_b(self):
        self._check_b_invoices_only_b_lines(self.as_user(self.user_b_only, self.company_b))

    def test_user_allowed_in_both_working_in_b_invoices_only_b_lines_in_b(self):
        self._check_b_invoices_only_b_lines(self.as_user(self.user_both, self.company_b))

    def test_user_in_both_companies_invoices_each_company_apart(self):
        line_a, line_b = self.book_both()
        env = self.as_user(self.user_both, self.company_a, self.company_b)
        preview, move_a = self._invoice_by_wizard(env, self.project_shared)
        self.assertEqual(preview, (1, 2.0))
        self.assertEqual(move_a.company_id, self.company_a)
        self.assertEqual(move_a.hie_booking_line_ids, line_a)
        self.assertFalse(line_b.invoice_id)
        preview, move_b = self._invoice_by_wizard(env, self.project_shared,
                                                  company_id=self.company_b.id)
        self.assertEqual(preview, (1, 3.0))
        self.assertEqual(move_b.company_id, self.company_b)
        self.assertEqual(move_b.hie_booking_line_ids, line_b)

    def test_wizard_of_a_company_the_user_does_not_work_in(self):
        self.book_both()
        env = self.as_user(self.user_both, self.company_b)
        with self.assertRaises(AccessError):
            self._invoice_by_wizard(env, self.project_shared, company_id=self.company_a.id)
        env = self.as_user(self.user_b_only, self.company_b)
        with self.assertRaises(AccessError):
            self._invoice_by_wizard(env, self.project_shared, company_id=self.company_a.id)

    def test_wizard_refuses_chosen_lines_of_another_company(self):
        line_a, line_b = self.book_both()
        wizard = self.env["hie.project.invoice.wizard"].with_context(
            active_model="account.analytic.line", active_ids=(line_a | line_b).ids,
        ).create({"company_id": self.company_b.id})
        with self.assertRefused(UserError, self.company_a.name):
            wizard.action_create_invoices()
        self.assertFalse((line_a | line_b).invoice_id)
        # chosen lines of one company: that company invoices them
        wizard = self.env["hie.project.invoice.wizard"].with_context(
            active_model="account.analytic.line", active_ids=line_b.ids,
        ).create({})
        self.assertEqual(wizard.company_id, self.company_b)
        wizard.action_create_invoices()
        self.assertEqual(line_b.invoice_id.company_id, self.company_b)

    def test_invoicing_service_runs_in_one_company(self):
        line_a, line_b = self.book_both()
        journal_a = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.company_a.id)], limit=1)
        with self.assertRefused(UserError, journal_a.display_name):
            self.project_shared.with_company(self.company_b)._hie_create_invoices(
                "2026-01-31", journal=journal_a)
        move = self.project_shared.with_company(self.company_b)._hie_create_invoices(
            "2026-01-31")
        self.assertEqual(move.company_id, self.company_b)
        self.assertEqual(move.hie_booking_line_ids, line_b)
        self.assertFalse(line_a.invoice_id)

    def test_booking_lines_of_a_shared_project_stay_in_their_company(self):
        line_a, line_b = self.book_both()
        for env in (self.as_user(self.user_b_only, self.company_b),
                    self.as_user(self.user_both, self.company_b)):
            Line = env["account.analytic.line"]
            self.assertEqual(
                Line.search([("booking_project_id", "=", self.project_shared.id)]), line_b)
            self.assertEqual(Line.search([("billing_status", "=", "to_invoice"),
                                          ("id", "in", (line_a | line_b).ids)]), line_b)
            with self.assertRaises(AccessError):
                Line.browse(line_a.id).write({"name": "changed by B"})
        self.assertEqual(line_a.name, "work")

    def test_profitability_shows_the_user_s_companies(self):
        line_a, line_b = self.book_both()
        project = self.project_shared.with_env(self.as_user(self.user_b_only, self.company_b))
        self.assertEqual(project.hie_unbilled_revenue, line_b.revenue_amount)
        project = self.project_shared.with_env(
            self.as_user(self.user_both, self.company_a, self.company_b))
        self.assertEqual(project.hie_unbilled_revenue,
                         line_a.revenue_amount + line_b.revenue_amount)

    # ------------------------------------------------------------------
    # Linking hours to an existing invoice
    # ------------------------------------------------------------------
    def _hand_made_invoice(self, company):
        return self.env["account.move"].with_company(company).create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2026-01-31",
            "invoice_line_ids": [Command.create({"name": "Work", "quantity": 1,
                                                 "price_unit": 500.0})],
        })

    def test_link_wizard_offers_and_links_only_the_invoice_s_company(self):
        line_a, line_b = self.book_both()
        move_b = self._hand_made_invoice(self.company_b)
        self.assertEqual(move_b.company_id, self.company_b)
        env = self.as_user(self.user_both, self.company_b, self.company_a)
        with Form(env["hie.invoice.link.wizard"].with_context(default_move_id=move_b.id)) as form:
            self.assertEqual(form.available_line_ids.ids, line_b.ids)
            wizard = form.save()
        wizard.line_ids = line_a | line_b
        with self.assertRefused(UserError, self.company_a.name):
            wizard.action_link()
        self.assertFalse((line_a | line_b).invoice_id)
        wizard.line_ids = line_b
        wizard.action_link()
        self.assertEqual(line_b.invoice_id, move_b)

    def test_no_link_crosses_companies(self):
        """The one guard of every path that links hours (invoicing, linking, writing the
        link): a line is billed only on an invoice of its own company."""
        line_a, _line_b = self.book_both()
        move_b = self._hand_made_invoice(self.company_b)
        with self.assertRefused(UserError, move_b.display_name, self.company_a.name):
            self.env["hie.billing.link"]._link([(line_a.id, False, move_b.id)])
        self.assertFalse(line_a.invoice_id)
        self.assertFalse(move_b.hie_booking_line_ids)

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------
    def test_cron_invoices_each_company_s_lines_in_that_company(self):
        self.project_shared.invoicing_frequency = "monthly"
        line_a, line_b = self.book_both()
        line_b_project = self.book_b(self.project_b, 1.0, date="2026-01-20")
        self.project_b.invoicing_frequency = "monthly"
        self.company_b.hie_auto_post_invoices = True
        cron = self.env.ref("hours_invoicing_exact.ir_cron_hie_invoice_projects")
        with freeze_time("2026-02-03"):
            cron.method_direct_trigger()
        move_a, move_b = line_a.invoice_id, line_b.invoice_id
        self.assertTrue(move_a and move_b)
        self.assertNotEqual(move_a, move_b)
        self.assertEqual(move_a.company_id, self.company_a)
        self.assertEqual(move_a.hie_booking_line_ids, line_a)
        self.assertEqual(move_a.state, "draft")  # company A's setting
        self.assertEqual(move_b.company_id, self.company_b)
        self.assertEqual(move_b.journal_id.company_id, self.company_b)
        self.assertEqual(move_b.hie_booking_line_ids, line_b)
        self.assertEqual(move_b.state, "posted")  # company B's setting
        move_b_project = line_b_project.invoice_id
        self.assertEqual(move_b_project.company_id, self.company_b)
        self.assertEqual(move_b_project.hie_booking_line_ids, line_b_project)

    def test_installment_cron_invoices_in_the_term_s_company(self):
        self.assertFalse(self.project_fixed.company_id)
        Term = self.env["project.installment"]
        term_b = Term.with_company(self.company_b).create({
            "project_id": self.project_fixed.id, "name": "Term of B", "percentage": 10,
            "planned_date": "2026-01-31",
        })
        term_a = Term.create({
            "project_id": self.project_fixed.id, "name": "Term of A", "percentage": 20,
            "planned_date": "2026-01-31",
        })
        self.assertEqual(term_b.company_id, self.company_b)
        self.assertEqual(term_a.company_id, self.company_a)
        self.assertFalse(Term.with_env(self.as_user(self.user_b_only, self.company_b)).search(
            [("id", "=", term_a.id)]))
        cron = self.env.ref("hours_invoicing_exact.ir_cron_installment_invoices")
        with freeze_time("2026-02-03"):
            cron.method_direct_trigger()
        self.assertEqual(term_b.invoice_id.company_id, self.company_b)
        self.assertEqual(term_b.invoice_id.journal_id.company_id, self.company_b)
        self.assertEqual(term_a.invoice_id.company_id, self.company_a)

    def test_installment_figures_of_the_user_s_companies(self):
        Term = self.env["project.installment"]
        for company, percentage in ((self.company_a, 20), (self.company_b, 10)):
            term = Term.with_company(company).create({
                "project_id": self.project_fixed.id, "name": f"Term {company.name}",
                "percentage": percentage, "planned_date": "2026-01-31",
            })
            term.with_company(company)._create_invoices().action_post()
        project = self.project_fixed.with_env(self.as_user(self.user_b_only, self.company_b))
        self.assertAlmostEqual(project.installment_invoiced, 1000.0)
        self.assertEqual(project.installment_invoice_count, 1)
        project = self.project_fixed.with_env(
            self.as_user(self.user_both, self.company_a, self.company_b))
        self.assertAlmostEqual(project.installment_invoiced, 3000.0)

    def test_memorial_entry_wizards_stay_in_the_company(self):
        manager_b = new_test_user(
            self.env, login="hie_accountant_b", company_id=self.company_b.id,
            company_ids=[Command.set(self.company_b.ids)],
            groups="base.group_user,account.group_account_manager",
        )
        for env in (self.as_user(manager_b, self.company_b),
                    self.as_user(self.user_both, self.company_b)):
            if env.user == self.user_both:
                self.user_both.groups_id |= self.env.ref("account.group_account_manager")
            for model in ("accounting.period.entry.preview", "accounting.period.reconcile"):
                with self.subTest(model=model, user=env.user.login), \
                        self.assertRaises(AccessError):
                    env[model].create({"company_id": self.company_a.id})

    def test_post_calculation_of_the_user_s_companies(self):
        self.book_hours(self.project_fixed, 2.0)  # company A: 2 h × 50
        self.book_b(self.project_fixed, 3.0)  # company B: 3 h × 40
        Term = self.env["project.installment"]
        for company, percentage in ((self.company_a, 20), (self.company_b, 10)):
            term = Term.with_company(company).create({
                "project_id": self.project_fixed.id, "name": f"Term {company.name}",
                "percentage": percentage, "planned_date": "2026-01-31",
            })
            term.with_company(company)._create_invoices().action_post()
        self.env.flush_all()

        def row(env):
            # the rows depend on the companies of the request: one request, one set
            env.invalidate_all()
            return env["project.post.calculation"].search_read(
                [("project_id", "=", self.project_fixed.id)],
                ["hours", "hours_cost", "invoiced_amount", "scheduled_amount"])[0]

        figures = row(self.as_user(self.user_b_only, self.company_b))
        self.assertEqual(figures["hours"], 3.0)
        self.assertAlmostEqual(figures["hours_cost"], 120.0)
        self.assertAlmostEqual(figures["invoiced_amount"], 1000.0)
        self.assertAlmostEqual(figures["scheduled_amount"], 1000.0)
        figures = row(self.as_user(self.user_both, self.company_a, self.company_b))
        self.assertEqual(figures["hours"], 5.0)
        self.assertAlmostEqual(figures["hours_cost"], 220.0)
        self.assertAlmostEqual(figures["invoiced_amount"], 3000.0)
