# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestPostCalculation(HieCase):
    """Worked example, figures by hand.

    Project "Fixed": contract sum 10,000, cost budget 8,000.
    Hours: Anna 40 h × 50 = 2,000; Bram 25 h × 60 = 1,500  → hours 65, hours cost 3,500.
    Other costs: 10 × 35 = 350.                              → actual cost 3,850.
    Terms: 30 % = 3,000 (posted), 2,500 (posted, then a posted credit note of 500),
           20 % = 2,000 (draft invoice)                      → scheduled 7,500,
                                                               invoiced to date 5,000.
    Budget used 3,850 / 8,000 = 48.125 %; forecast cost = budget 8,000 (not exceeded);
    forecast result 10,000 − 8,000 = 2,000; margin 2,000 / 10,000 = 20 %;
    result to date 5,000 − 3,850 = 1,150.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["project.post.calculation"]
        project = cls.project_fixed
        cls.book_hours(project, hours=40, employee=cls.employee, date="2026-01-12")
        cls.book_hours(project, hours=25, employee=cls.employee_rated, date="2026-02-03")
        cls.book_cost(project, cls.material_unpriced, quantity=10, unit_cost=35)
        Term = cls.env["project.installment"]
        cls.term_start = Term.create({"project_id": project.id, "name": "Start",
                                      "percentage": 30, "planned_date": "2026-01-15"})
        cls.term_walls = Term.create({"project_id": project.id, "name": "Walls",
                                      "amount_type": "amount", "fixed_amount": 2500,
                                      "planned_date": "2026-02-15"})
        cls.term_roof = Term.create({"project_id": project.id, "name": "Roof",
                                     "percentage": 20, "planned_date": "2026-03-15"})
        with freeze_time("2026-03-20"):
            (cls.term_start | cls.term_walls | cls.term_roof)._create_invoices()
            (cls.term_start | cls.term_walls).invoice_id.action_post()
            walls = cls.term_walls.invoice_id
            cls.credit_note = cls.env["account.move"].create({
                "move_type": "out_refund",
                "partner_id": walls.partner_id.id,
                "reversed_entry_id": walls.id,
                "invoice_date": "2026-03-20",
                "invoice_line_ids": [(0, 0, {
                    "name": "Walls: discount", "quantity": 1, "price_unit": 500.0,
                    "tax_ids": [(5, 0, 0)],
                })],
            })
            cls.credit_note.action_post()
        # a second fixed-price project: contract 5,000, budget 4,000, Anna 20 h = 1,000 cost
        cls.project_small = cls.env["project.project"].create({
            "name": "Small", "partner_id": cls.customer.id, "invoicing_type": "fixed_price",
            "contract_sum": 5000.0, "cost_budget": 4000.0, "company_id": cls.company.id,
        })
        cls.book_hours(cls.project_small, hours=20, employee=cls.employee)

    def row(self, project):
        self.env.invalidate_all()
        return self.Report.search([("project_id", "=", project.id)])

    def test_worked_example(self):
        row = self.row(self.project_fixed)
        self.assertEqual(len(row), 1)
        self.assertEqual(row.id, self.project_fixed.id)
        expected = {
            "contract_sum": 10000.0,
            "scheduled_amount": 7500.0,
            "invoiced_amount": 5000.0,
            "draft_invoiced_amount": 2000.0,
            "to_invoice_amount": 5000.0,
            "cost_budget": 8000.0,
            "hours": 65.0,
            "hours_cost": 3500.0,
            "other_cost": 350.0,
            "actual_cost": 3850.0,
            "budget_remaining": 4150.0,
            "budget_used_pct": 48.125,
            "result_to_date": 1150.0,
            "forecast_cost": 8000.0,
            "forecast_result": 2000.0,
            "forecast_margin_pct": 20.0,
        }
        for fname, value in expected.items():
            with self.subTest(field=fname):
                self.assertAlmostEqual(row[fname], value, places=2)
        self.assertEqual(row.partner_id, self.customer)
        # the project's revenue is its installment invoices, here and on the project
        self.assertAlmostEqual(self.project_fixed.installment_invoiced, 5000.0)
        # booked costs of a fixed-price project are never invoiced
        lines = self.env["account.analytic.line"].search(
            [("booking_project_id", "=", self.project_fixed.id)]
        )
        self.assertEqual(set(lines.mapped("billing_status")), {"not_billable"})
        self.assertFalse(lines.invoice_id)
        # the posted installment invoices put their revenue on the project's analytic
        # account (3,000 + 2,500); those lines are revenue, not booked costs
        revenue = self.env["account.analytic.line"].search([
            ("account_id", "=", self.project_fixed.account_id.id),
            ("move_line_id", "!=", False),
        ])
        self.assertAlmostEqual(sum(revenue.mapped("amount")), 5500.0)
        self.assertFalse(revenue.booking_project_id)

    def test_over_budget(self):
        """100 h more of Bram (6,000): actual cost 9,850 > budget 8,000, so the forecast cost
        is the actual cost: result 10,000 − 9,850 = 150, margin 1.5 %, budget used
        9,850 / 8,000 = 123.125 %."""
        self.book_hours(self.project_fixed, hours=100, employee=self.employee_rated)
        row = self.row(self.project_fixed)
        self.assertAlmostEqual(row.actual_cost, 9850.0)
        self.assertAlmostEqual(row.budget_used_pct, 123.125)
        self.assertAlmostEqual(row.forecast_cost, 9850.0)
        self.assertAlmostEqual(row.forecast_result, 150.0)
        self.assertAlmostEqual(row.forecast_margin_pct, 1.5)
        self.assertAlmostEqual(row.budget_remaining, -1850.0)
        over = self.Report.search([("budget_used_pct", ">", 100)])
        self.assertIn(self.project_fixed.id, over.ids)
        self.assertNotIn(self.project_small.id, over.ids)

    def test_cancelled_invoice_not_counted(self):
        self.term_roof.invoice_id.button_cancel()
        row = self.row(self.project_fixed)
        self.assertAlmostEqual(row.draft_invoiced_amount, 0.0)
        self.assertAlmostEqual(row.invoiced_amount, 5000.0)

    def test_group_totals_are_ratios_of_sums(self):
        """Both projects together: contract 15,000, budget 12,000, actual cost 4,850 →
        budget used 4,850 / 12,000 = 40.4167 % (not the average 36.56 % of 48.125 and 25);
        forecast result 2,000 + 1,000 = 3,000 → margin 3,000 / 15,000 = 20 %."""
        projects = self.project_fixed | self.project_small
        groups = self.Report.read_group(
            [("project_id", "in", projects.ids)],
            ["contract_sum", "cost_budget", "actual_cost", "forecast_result",
             "budget_used_pct", "forecast_margin_pct"],
            ["partner_id"],
        )
        self.assertEqual(len(groups), 1)
        group = groups[0]
        self.assertAlmostEqual(group["contract_sum"], 15000.0)
        self.assertAlmostEqual(group["cost_budget"], 12000.0)
        self.assertAlmostEqual(group["actual_cost"], 4850.0)
        self.assertAlmostEqual(group["budget_used_pct"], 40.41667, places=4)
        self.assertAlmostEqual(group["forecast_result"], 3000.0)
        self.assertAlmostEqual(group["forecast_margin_pct"], 20.0)
        # percentages asked alone still come out as ratios
        group = self.Report.read_group(
            [("project_id", "in", projects.ids)], ["budget_used_pct"], [],
        )[0]
        self.assertAlmostEqual(group["budget_used_pct"], 40.41667, places=4)

    def test_only_fixed_price_projects(self):
        self.book_hours(self.project_tm, hours=3)
        rows = self.Report.search([])
        self.assertIn(self.project_fixed.id, rows.ids)
        self.assertNotIn(self.project_tm.id, rows.ids)
        self.assertNotIn(self.project_internal.id, rows.ids)

    def test_project_button_and_panel(self):
        action = self.project_fixed.action_open_post_calculation()
        self.assertEqual(action["res_model"], "project.post.calculation")
        self.assertEqual(action["res_id"], self.project_fixed.id)
        items = self.project_fixed.with_user(self.user_manager)._get_profitability_items()
        revenues = {d["id"]: d for d in items["revenues"]["data"]}
        costs = {d["id"]: d for d in items["costs"]["data"]}
        self.assertAlmostEqual(revenues["hie_installments"]["invoiced"], 5000.0)
        self.assertAlmostEqual(revenues["hie_installments"]["to_invoice"], 5000.0)
        self.assertNotIn("hie_booking_revenue", revenues)  # nothing billable on fixed price
        self.assertAlmostEqual(costs["hie_hours_cost"]["billed"], -3500.0)
        self.assertAlmostEqual(costs["hie_other_costs"]["billed"], -350.0)

    def test_access_and_companies(self):
        plain = new_test_user(
            self.env, login="hie_plain_pc",
            groups="base.group_user,hr_timesheet.group_hr_timesheet_user",
        )
        with self.assertRaises(AccessError):
            self.Report.with_user(plain).search([])
        manager_rows = self.Report.with_user(self.user_manager).search([])
        self.assertIn(self.project_fixed.id, manager_rows.ids)
        company_b = self.env["res.company"].create({"name": "HIE B.V."})
        project_b = self.env["project.project"].create({
            "name": "Fixed B", "partner_id": self.customer.id, "company_id": company_b.id,
            "invoicing_type": "fixed_price", "contract_sum": 1000.0,
        })
        self.env.flush_all()
        self.assertIn(project_b.id, self.Report.search([]).ids)
        rows = self.Report.with_user(self.user_manager).search([])
        self.assertNotIn(project_b.id, rows.ids)
