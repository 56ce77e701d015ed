# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestSecurity(HieCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agreement_a = cls.agreement(partner_id=cls.customer.id, kind="hours",
                                        hourly_rate=90.0)
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        cls.user_b = new_test_user(
            cls.env, login="hie_user_b", company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
            groups="base.group_user,project.group_project_manager,"
            "hr_timesheet.group_hr_timesheet_approver",
        )

    def test_plain_user_cannot_edit_agreements(self):
        agreements = self.env["project.rate.agreement"].with_user(self.user_employee)
        self.assertTrue(agreements.browse(self.agreement_a.id).hourly_rate)  # may read
        with self.assertRaises(AccessError):
            agreements.browse(self.agreement_a.id).write({"hourly_rate": 1.0})
        with self.assertRaises(AccessError):
            agreements.create({"partner_id": self.customer.id, "kind": "cost", "markup": 5})
        with self.assertRaises(AccessError):
            agreements.browse(self.agreement_a.id).unlink()
        # project managers may
        self.agreement_a.with_user(self.user_manager).hourly_rate = 95.0
        self.assertEqual(self.agreement_a.hourly_rate, 95.0)

    def test_plain_user_cannot_edit_project_invoicing(self):
        with self.assertRaises(AccessError):
            self.project_tm.with_user(self.user_employee).write({"project_status": "closed"})

    def test_plain_user_books_hours_but_no_manual_revenue(self):
        line = self.env["account.analytic.line"].with_user(self.user_employee).create({
            "name": "own work", "project_id": self.project_tm.id, "unit_amount": 2,
        })
        self.assertEqual(line.employee_id, self.employee)
        self.assertEqual(line.billing_status, "to_invoice")
        with self.assertRaises(AccessError):
            line.write({"revenue_override": True, "revenue_manual": 1.0})
        line.with_user(self.user_manager).write({"revenue_override": True,
                                                 "revenue_manual": 1.0})
        self.assertEqual(line.revenue_amount, 1.0)

    def test_company_b_sees_nothing_of_company_a(self):
        project_a = self.agreement(project_id=self.project_tm.id, kind="hours",
                                   hourly_rate=100.0)
        Agreement = self.env["project.rate.agreement"].with_user(self.user_b)
        self.assertFalse(Agreement.search([("id", "in", project_a.ids)]))
        self.assertFalse(
            self.env["project.project"].with_user(self.user_b).search(
                [("id", "=", self.project_tm.id)]
            )
        )
        line = self.book_hours(self.project_tm)
        self.assertFalse(
            self.env["account.analytic.line"].with_user(self.user_b).search(
                [("id", "=", line.id)]
            )
        )
        with self.assertRaises(AccessError):
            Agreement.browse(project_a.id).read(["hourly_rate"])
        # an agreement of company B is invisible to company A's manager
        project_b = self.env["project.project"].with_user(self.user_b).create({
            "name": "B project", "partner_id": self.other_customer.id,
        })
        agreement_b = Agreement.create({"project_id": project_b.id, "kind": "hours",
                                        "hourly_rate": 10.0})
        self.assertEqual(agreement_b.company_id, self.company_b)
        self.assertFalse(
            self.env["project.rate.agreement"].with_user(self.user_manager).search(
                [("id", "=", agreement_b.id)]
            )
        )
