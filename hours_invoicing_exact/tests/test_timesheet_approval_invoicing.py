# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .timesheet_week_common import MONDAY, TimesheetWeekCase


@tagged("post_install", "-at_install")
class TestApprovedHoursInvoicing(TimesheetWeekCase):
    """A worked example: Anna's week on T&M (rate 95/h) is approved for 16 h; her next
    week (10 h) is submitted, not approved; a material cost needs no approval."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.approved = cls.fill(cls.week_of(), {cls.project_tm: [8.0, 8.0]})
        cls.approved.with_user(cls.user_employee).action_submit()
        cls.approved.with_user(cls.user_pm).action_approve()
        cls.waiting = cls.fill(cls.week_of(day=MONDAY + timedelta(7)),
                               {cls.project_tm: [6.0, 4.0]})
        cls.waiting.with_user(cls.user_employee).action_submit()
        cls.cost = cls.book_cost(cls.project_tm, cls.material, quantity=2, unit_cost=8.0,
                                 date=MONDAY + timedelta(8))

    def _wizard(self, **vals):
        form = Form(self.env["hie.project.invoice.wizard"].with_context(
            active_model="project.project", active_ids=self.project_tm.ids))
        form.date_to = MONDAY + timedelta(20)
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save()

    def test_only_approved_hours_are_invoiced(self):
        wizard = self._wizard()
        self.assertEqual(wizard.line_count, 3)  # 2 approved hours lines and the cost
        self.assertEqual(wizard.hours, 16.0)
        self.assertEqual(wizard.awaiting_count, 2)
        self.assertEqual(wizard.awaiting_hours, 10.0)
        self.assertEqual(wizard.awaiting_amount, 950.0)  # 10 h × 95
        self.assertIn("awaiting approval", wizard.left_out_summary)
        # the project's figures: unbilled without the hours awaiting approval
        project = self.project_tm.with_user(self.user_manager)
        self.assertEqual(project.hie_awaiting_approval_revenue, 950.0)
        self.assertEqual(project.hie_awaiting_approval_count, 2)
        self.assertEqual(project.hie_unbilled_revenue, 16 * 95.0 + self.cost.revenue_amount)
        move = self.env["account.move"].browse(wizard.action_create_invoices()["res_id"])
        self.assertEqual(move.hie_booking_line_ids.filtered(
            lambda line: line.booking_kind == "hours").mapped("unit_amount"), [8.0, 8.0])
        self.assertIn(self.cost, move.hie_booking_line_ids)
        self.assertEqual(set(self.lines_of(self.waiting).mapped("billing_status")),
                         {"to_invoice"})
        # once approved, they are invoiced
        self.waiting.with_user(self.user_pm).action_approve()
        wizard = self._wizard()
        self.assertEqual((wizard.line_count, wizard.hours, wizard.awaiting_count),
                         (2, 10.0, 0))

    def test_setting_off_invoices_all(self):
        self.company.hie_invoice_approved_only = False
        wizard = self._wizard()
        self.assertEqual((wizard.line_count, wizard.hours, wizard.awaiting_count),
                         (5, 26.0, 0))

    def test_nothing_approved_says_why(self):
        self.env["hie.timesheet.send.back"].with_user(self.user_pm).create({
            "week_ids": [Command.set(self.approved.ids)], "reason": "Check",
        }).action_send_back()
        wizard = self._wizard(date_to=MONDAY + timedelta(6))
        self.assertEqual(wizard.line_count, 0)
        with self.assertRaises(UserError) as cm:
            wizard.action_create_invoices()
        self.assertIn("awaiting approval", str(cm.exception))

    def test_automatic_invoicing_leaves_unapproved_hours_for_later(self):
        self.project_tm.invoicing_frequency = "weekly"
        with freeze_time(MONDAY + timedelta(21)):
            self.env["project.project"]._cron_hie_invoice_projects()
        billed = self.lines_of(self.approved) | self.lines_of(self.waiting)
        self.assertEqual(
            {(line.hie_approval_state, line.billing_status) for line in billed},
            {("approved", "invoiced"), ("submitted", "to_invoice")},
        )
        self.assertEqual(self.cost.billing_status, "invoiced")
        self.waiting.with_user(self.user_pm).action_approve()
        with freeze_time(MONDAY + timedelta(28)):
            self.env["project.project"]._cron_hie_invoice_projects()
        self.assertEqual(set(self.lines_of(self.waiting).mapped("billing_status")),
                         {"invoiced"})

    def test_booking_analysis_approved_vs_unapproved(self):
        Analysis = self.env["project.booking.analysis"]
        [(approved, unapproved)] = Analysis._read_group(
            [("project_id", "=", self.project_tm.id)], [],
            ["approved_hours:sum", "unapproved_hours:sum"])
        self.assertEqual((approved, unapproved), (16.0, 10.0))
        groups = dict(Analysis._read_group(
            [("project_id", "=", self.project_tm.id), ("booking_kind", "=", "hours")],
            ["approval_state"], ["hours:sum"]))
        self.assertEqual(groups, {"approved": 16.0, "submitted": 10.0})

    def test_new_companies_invoice_approved_hours_only(self):
        company = self.env["res.company"].create({"name": "Nieuw B.V."})
        self.assertTrue(company.hie_invoice_approved_only)


@tagged("post_install", "-at_install")
class TestTimesheetWeekMultiCompany(TimesheetWeekCase):
    def test_reviewer_setting_of_the_weeks_company(self):
        company_b = self.env["res.company"].create({
            "name": "HIE B.V.", "hie_timesheet_reviewer": "employee_manager",
        })
        groups = "base.group_user,hr_timesheet.group_hr_timesheet_user"
        user_b = new_test_user(self.env, login="hie_b_employee", groups=groups,
                               company_id=company_b.id,
                               company_ids=[Command.set(company_b.ids)])
        boss_b_user = new_test_user(self.env, login="hie_b_boss", groups=groups,
                                    company_id=company_b.id,
                               company_ids=[Command.set(company_b.ids)])
        boss_b = self.env["hr.employee"].create({
            "name": "Baas B", "user_id": boss_b_user.id, "company_id": company_b.id})
        employee_b = self.env["hr.employee"].create({
            "name": "Bert", "user_id": user_b.id, "company_id": company_b.id,
            "parent_id": boss_b.id,
        })
        project_b = self.env["project.project"].create({
            "name": "B project", "partner_id": self.customer.id, "company_id": company_b.id,
            "invoicing_type": "time_material", "user_id": self.user_pm.id,
        })
        self.user_pm.write({"company_ids": [Command.link(company_b.id)]})
        week = self.Week.with_user(user_b).with_company(company_b).create({
            "employee_id": employee_b.id, "date_start": MONDAY})
        self.assertEqual(week.company_id, company_b)
        self.fill(week, {project_b: [5.0]})
        week.with_user(user_b).action_submit()
        # company B: the employee's manager reviews, not the project manager
        with self.assertRaises(UserError):
            week.with_user(self.user_pm).with_company(company_b).action_approve()
        week.with_user(boss_b_user).with_company(company_b).action_approve()
        self.assertEqual(week.state, "approved")
        # the main company's weeks are not visible to company B's users
        main_week = self.fill(self.week_of(), {self.project_tm: [1.0]})
        self.assertFalse(self.Week.with_user(boss_b_user).search([("id", "=", main_week.id)]))


@tagged("post_install", "-at_install")
class TestTimesheetReminder(TimesheetWeekCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["hr.employee"].search([
            ("id", "not in", (cls.employee | cls.boss).ids)]).write({"active": False})
        cls.boss.user_id.lang = "en_US"

    def _notifications(self, week, user):
        return self.env["mail.message"].search([
            ("model", "=", week._name), ("res_id", "=", week.id),
            ("partner_ids", "in", user.partner_id.ids),
        ])

    def _cron(self, day):
        with freeze_time(day):
            return self.Week._cron_hie_remind_missing_weeks()

    def test_reviewers_are_shown_what_waits(self):
        self.activate_dutch()
        self.user_pm.lang = "nl_NL"
        week = self.fill(self.week_of(), {self.project_tm: [8.0, 1.5]})
        week.with_user(self.user_employee).action_submit()
        digest = self.env["mail.message"].search([
            ("model", "=", False), ("partner_ids", "in", self.user_pm.partner_id.ids)])
        self.assertFalse(digest)
        self._cron(MONDAY + timedelta(7))
        digest = self.env["mail.message"].search([
            ("model", "=", False), ("partner_ids", "in", self.user_pm.partner_id.ids)])
        self.assertEqual(len(digest), 1)
        self.assertIn("1 weken met uren wachten op uw goedkeuring", digest.subject)
        self.assertIn(week.with_context(lang="nl_NL").name, digest.body)  # "week 2 van"
        self.assertIn("09:30 h", digest.body)
        # approved: nothing waits any more, no message the next week
        week.with_user(self.user_pm).action_approve()
        self._cron(MONDAY + timedelta(14))
        self.assertEqual(len(self.env["mail.message"].search([
            ("model", "=", False), ("partner_ids", "in", self.user_pm.partner_id.ids)])), 1)

    def test_reminds_weeks_not_submitted(self):
        self.activate_dutch()
        self.user_employee.lang = "nl_NL"
        self.fill(self.week_of(), {self.project_tm: [8.0]})
        # Monday of the next week: Anna's week is a draft, Bas has none
        self.assertEqual(self._cron(MONDAY + timedelta(7)), 2)
        anna = self.Week.search([("employee_id", "=", self.employee.id),
                                 ("date_start", "=", MONDAY)])
        bas = self.Week.search([("employee_id", "=", self.boss.id),
                                ("date_start", "=", MONDAY)])
        self.assertEqual(bas.state, "draft")  # created to remind
        self.assertEqual(anna.activity_ids.user_id, self.user_employee)
        self.assertIn("Dien uw uren", anna.activity_ids.summary)
        # the e-mail (next to the activity's own notice)
        mail = self._notifications(anna, self.user_employee).filtered(
            lambda message: "ingediend" in message.body)
        self.assertEqual(len(mail), 1)
        self.assertIn("Uw uren van de week van", mail.body)
        self.assertIn("Dien uw uren", mail.subject)
        self.assertEqual(mail.message_type, "user_notification")
        self.assertTrue(self._notifications(bas, self.user_boss).filtered(
            lambda message: "not submitted yet" in message.body))
        # the same week again: no second activity
        self._cron(MONDAY + timedelta(8))
        self.assertEqual(len(anna.activity_ids), 1)
        # submitted weeks are not reminded
        anna.with_user(self.user_employee).action_submit()
        bas.with_user(self.user_boss).action_submit()
        self.assertEqual(self._cron(MONDAY + timedelta(9)), 0)
        # a week later the next week is due
        self.assertEqual(self._cron(MONDAY + timedelta(14)), 2)
