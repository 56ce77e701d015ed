# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestBookingAnalysis(HieCase):
    """Six booking lines, figures by hand (Anna costs 50/h, no sales rate; Bram costs 60/h,
    sells at 100/h; Consultancy lists at 80/h; Cable lists at 12):

    =  =========  =====  ==================  ======  ======  =======  ============  ======
       project    month  who / what          hours   cost    revenue  status        direct
    =  =========  =====  ==================  ======  ======  =======  ============  ======
    A  T&M        01     Anna, Consultancy    8       400     640      on_draft      yes
    B  T&M        02     Bram, Consultancy    5       300     500      to_invoice    yes
    C  T&M        02     Anna, Sales meeting  2       100     0        not_billable  no
    D  T&M        02     4 × Cable at 7.50    (cost)  30      48       to_invoice    yes
    E  Fixed      02     Anna                 10      500     0        not_billable  yes
    F  Internal   01     Bram                 3       180     (300)    not_billable  no
    =  =========  =====  ==================  ======  ======  =======  ============  ======

    A is on a draft invoice to "Other N.V." (not the project's invoice debtor): not invoiced
    until the invoice is posted. F's line carries a revenue of 300 (Bram's rate), but an
    internal line has no billable revenue: the analysis counts none.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Analysis = cls.env["project.booking.analysis"]
        cls.activity_indirect.list_price = 0.0
        cls.line_a = cls.book_hours(cls.project_tm, 8, cls.employee, cls.activity,
                                    date="2026-01-10")
        cls.line_b = cls.book_hours(cls.project_tm, 5, cls.employee_rated, cls.activity,
                                    date="2026-02-03")
        cls.line_c = cls.book_hours(cls.project_tm, 2, cls.employee, cls.activity_indirect,
                                    date="2026-02-04")
        cls.line_d = cls.book_cost(cls.project_tm, cls.material, quantity=4, unit_cost=7.5,
                                   date="2026-02-05")
        cls.line_e = cls.book_hours(cls.project_fixed, 10, cls.employee, date="2026-02-06")
        cls.line_f = cls.book_hours(cls.project_internal, 3, cls.employee_rated,
                                    date="2026-01-20")
        cls.invoice = cls.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": cls.other_customer.id,
            "invoice_line_ids": [(0, 0, {"name": "Consultancy January", "quantity": 8,
                                         "price_unit": 80.0})],
        })
        cls.env["hie.billing.link"]._link(
            [(cls.line_a.id, cls.invoice.invoice_line_ids.id, cls.invoice.id)])
        cls.projects = cls.project_tm | cls.project_fixed | cls.project_internal
        cls.measures = ["hours", "billed_hours", "draft_hours", "unbilled_hours",
                        "cost_amount", "revenue_amount", "billed_revenue", "draft_revenue",
                        "unbilled_revenue"]

    def grouped(self, groupby, domain=(), measures=None, model=None):
        """{group key: {measure: value}} of a read_group on the analysis."""
        model = model or self.Analysis
        key = groupby.split(":")[0]
        rows = model.read_group(
            [("project_id", "in", self.projects.ids), *domain], measures or self.measures,
            [groupby], lazy=False,
        )
        result = {}
        for row in rows:
            value = row[groupby] if ":" in groupby else row[key]
            if isinstance(value, tuple):
                value = value[0]
            result[value] = {m: row[m] for m in measures or self.measures}
        return result

    def assertFigures(self, actual, expected):
        self.assertEqual(set(actual), set(expected))
        for key, figures in expected.items():
            for measure, value in figures.items():
                with self.subTest(group=key, measure=measure):
                    self.assertAlmostEqual(actual[key][measure], value, places=2)

    def test_lines_as_expected(self):
        """The booking lines themselves, so that the figures below rest on known lines."""
        lines = (self.line_a | self.line_b | self.line_c | self.line_d | self.line_e
                 | self.line_f)
        self.assertEqual(lines.mapped("cost_amount"), [400.0, 300.0, 100.0, 30.0, 500.0, 180.0])
        self.assertEqual(lines.mapped("revenue_amount"), [640.0, 500.0, 0.0, 48.0, 0.0, 300.0])
        self.assertEqual(lines.mapped("billing_status"), [
            "invoiced", "to_invoice", "not_billable", "to_invoice", "not_billable",
            "not_billable",
        ])

    def test_by_project(self):
        self.assertFigures(self.grouped("project_id"), {
            self.project_tm.id: {"hours": 15, "billed_hours": 0, "draft_hours": 8,
                                 "unbilled_hours": 5, "cost_amount": 830,
                                 "revenue_amount": 1188, "billed_revenue": 0,
                                 "draft_revenue": 640, "unbilled_revenue": 548},
            self.project_fixed.id: {"hours": 10, "cost_amount": 500, "revenue_amount": 0,
                                    "billed_revenue": 0, "unbilled_revenue": 0},
            self.project_internal.id: {"hours": 3, "cost_amount": 180, "revenue_amount": 0,
                                       "billed_revenue": 0, "unbilled_revenue": 0},
        })
        # posting the invoice makes A invoiced
        self.invoice.action_post()
        self.assertFigures(self.grouped("project_id"), {
            self.project_tm.id: {"hours": 15, "billed_hours": 8, "draft_hours": 0,
                                 "unbilled_hours": 5, "revenue_amount": 1188,
                                 "billed_revenue": 640, "draft_revenue": 0,
                                 "unbilled_revenue": 548},
            self.project_fixed.id: {"revenue_amount": 0},
            self.project_internal.id: {"revenue_amount": 0},
        })

    def test_by_billing_status_and_direct(self):
        self.assertFigures(self.grouped("billing_status"), {
            "on_draft": {"hours": 8, "cost_amount": 400, "revenue_amount": 640,
                         "billed_revenue": 0, "draft_revenue": 640, "unbilled_revenue": 0},
            "to_invoice": {"hours": 5, "cost_amount": 330, "revenue_amount": 548,
                           "billed_revenue": 0, "draft_revenue": 0, "unbilled_revenue": 548},
            "not_billable": {"hours": 15, "cost_amount": 780, "revenue_amount": 0,
                             "billed_revenue": 0, "draft_revenue": 0, "unbilled_revenue": 0},
        })
        self.invoice.action_post()
        self.assertFigures(self.grouped("billing_status"), {
            "invoiced": {"hours": 8, "cost_amount": 400, "revenue_amount": 640,
                         "billed_revenue": 640, "draft_revenue": 0},
            "to_invoice": {"hours": 5, "revenue_amount": 548, "unbilled_revenue": 548},
            "not_billable": {"hours": 15, "cost_amount": 780, "revenue_amount": 0},
        })
        self.assertFigures(self.grouped("is_direct"), {
            True: {"hours": 23, "cost_amount": 1230},
            False: {"hours": 5, "cost_amount": 280},
        })

    def test_by_employee_month_principal_debtor(self):
        self.assertFigures(self.grouped("employee_id"), {
            self.employee.id: {"hours": 20, "cost_amount": 1000},
            self.employee_rated.id: {"hours": 8, "cost_amount": 480},
            False: {"hours": 0, "cost_amount": 30},
        })
        months = self.Analysis.read_group(
            [("project_id", "in", self.projects.ids)], ["hours", "cost_amount"],
            ["date:month"], lazy=False,
        )
        self.assertEqual(
            [(row["__range"]["date:month"]["from"], row["hours"], row["cost_amount"])
             for row in months],
            [("2026-01-01", 11.0, 580.0), ("2026-02-01", 17.0, 930.0)],
        )
        self.assertFigures(self.grouped("principal_id"), {
            self.customer.id: {"hours": 25, "revenue_amount": 1188},
            False: {"hours": 3, "revenue_amount": 0},
        })
        # billed lines count for the debtor of their invoice, the others for the project's
        self.assertFigures(self.grouped("invoice_partner_id"), {
            self.other_customer.id: {"hours": 8, "draft_revenue": 640, "billed_revenue": 0},
            self.customer_invoice.id: {"hours": 17, "unbilled_revenue": 548},
            False: {"hours": 3},
        })

    def test_matches_booking_lines(self):
        """The report agrees with a read_group on the booking lines themselves: all their
        cost, the revenue of the billable ones only."""
        Line = self.env["account.analytic.line"]
        lines = Line.read_group([("booking_project_id", "in", self.projects.ids)],
                                ["cost_amount"], ["booking_project_id"])
        billable = {
            row["booking_project_id"][0]: row["revenue_amount"]
            for row in Line.read_group(
                [("booking_project_id", "in", self.projects.ids),
                 ("billing_status", "!=", "not_billable")],
                ["revenue_amount"], ["booking_project_id"],
            )
        }
        report = self.grouped("project_id")
        for row in lines:
            project_id = row["booking_project_id"][0]
            self.assertAlmostEqual(report[project_id]["cost_amount"], row["cost_amount"])
            self.assertAlmostEqual(report[project_id]["revenue_amount"],
                                   billable.get(project_id, 0.0))

    def test_billed_vs_unbilled_hours_dashboard(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_billed_unbilled_hours"
        )
        self.assertEqual(action["res_model"], "project.booking.analysis")
        self.assertEqual(action["view_mode"].split(",")[0], "graph")
        domain = eval(action["domain"])  # noqa: S307 pylint: disable=eval-used
        rows = self.Analysis.read_group(
            [("project_id", "in", self.projects.ids), *domain], ["hours"],
            ["date:month", "billing_status"], lazy=False,
        )
        self.assertEqual(
            sorted((row["__range"]["date:month"]["from"], row["billing_status"], row["hours"])
                   for row in rows),
            [("2026-01-01", "on_draft", 8.0),
             ("2026-02-01", "not_billable", 10.0),
             ("2026-02-01", "to_invoice", 5.0)],
        )
        menus = self.env["ir.ui.menu"].search(
            [("action", "=", f"ir.actions.act_window,{action['id']}")]
        )
        self.assertEqual(
            set(menus.parent_id.mapped("complete_name")),
            {"Timesheets/Reporting", "Project/Reporting"},
        )

    def test_project_smart_buttons(self):
        project = self.project_tm.with_user(self.user_manager)
        self.assertAlmostEqual(project.hie_billed_revenue, 640.0)
        self.assertAlmostEqual(project.hie_unbilled_revenue, 548.0)
        for method, line in (("action_view_hie_billed_revenue", self.line_a),
                             ("action_view_hie_unbilled_revenue", self.line_b | self.line_d)):
            action = getattr(project, method)()
            self.assertEqual(action["res_model"], "project.booking.analysis")
            found = self.Analysis.with_user(self.user_manager).search(action["domain"])
            self.assertEqual(found.line_id, line)

    def test_profitability_panel(self):
        project = self.project_tm.with_user(self.user_manager)
        panel = project.get_panel_data()
        items = panel["profitability_items"]
        revenues = {d["id"]: d for d in items["revenues"]["data"]}
        costs = {d["id"]: d for d in items["costs"]["data"]}
        self.assertAlmostEqual(revenues["hie_booking_revenue"]["invoiced"], 640.0)
        self.assertAlmostEqual(revenues["hie_booking_revenue"]["to_invoice"], 548.0)
        self.assertAlmostEqual(costs["hie_hours_cost"]["billed"], -800.0)
        self.assertAlmostEqual(costs["hie_other_costs"]["billed"], -30.0)
        # Odoo's own "other costs" section does not count our booking lines a second time
        self.assertNotIn("other_costs_aal", costs)
        self.assertAlmostEqual(items["revenues"]["total"]["invoiced"], 640.0)
        self.assertAlmostEqual(items["revenues"]["total"]["to_invoice"], 548.0)
        self.assertAlmostEqual(items["costs"]["total"]["billed"], -830.0)
        labels = panel["profitability_labels"]
        for section in ("hie_booking_revenue", "hie_hours_cost", "hie_other_costs"):
            self.assertIn(section, labels)
        action = project.action_profitability_items("hie_hours_cost")
        found = self.Analysis.with_user(self.user_manager).search(action["domain"])
        self.assertEqual(found.line_id, self.line_a | self.line_b | self.line_c)

    def test_access_rights(self):
        plain = new_test_user(
            self.env, login="hie_plain_an",
            groups="base.group_user,hr_timesheet.group_hr_timesheet_user",
        )
        with self.assertRaises(AccessError):
            self.Analysis.with_user(plain).read_group([], ["hours"], ["project_id"])
        approver = new_test_user(
            self.env, login="hie_approver_an",
            groups="base.group_user,hr_timesheet.group_hr_timesheet_approver",
        )
        self.assertFigures(self.grouped("billing_status", model=self.Analysis.with_user(approver),
                                        measures=["hours"]), {
            "on_draft": {"hours": 8}, "to_invoice": {"hours": 5}, "not_billable": {"hours": 15},
        })
        # the figures are not on the project for plain users
        with self.assertRaises(AccessError):
            self.project_tm.with_user(plain).read(["hie_unbilled_revenue"])

    def test_multi_company(self):
        company_b = self.env["res.company"].create({"name": "HIE B.V."})
        project_b = self.env["project.project"].create({
            "name": "T&M B", "partner_id": self.customer.id, "company_id": company_b.id,
            "invoicing_type": "time_material",
        })
        employee_b = self.env["hr.employee"].create(
            {"name": "Cees", "company_id": company_b.id, "hourly_cost": 45.0}
        )
        line_b = self.env["account.analytic.line"].with_company(company_b).create({
            "name": "work", "project_id": project_b.id, "employee_id": employee_b.id,
            "unit_amount": 2.0, "date": "2026-02-10",
        })
        self.assertEqual(line_b.company_id, company_b)
        self.env.flush_all()
        manager = self.Analysis.with_user(self.user_manager)
        self.assertFalse(manager.search([("project_id", "=", project_b.id)]))
        self.assertEqual(self.Analysis.search([("project_id", "=", project_b.id)]).line_id,
                         line_b)
