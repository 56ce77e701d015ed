# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestRateAgreements(HieCase):
    def _fresh_project(self, name):
        return self.env["project.project"].create({
            "name": name, "partner_id": self.customer.id, "invoicing_type": "time_material",
        })

    def test_hours_precedence_table(self):
        """Each row adds one level; the highest level present decides."""
        rows = [
            # (levels present, employee, expected revenue for 2 h, expected source)
            ((), self.employee, 160.0, "product"),            # activity list price 80
            ((), self.employee_rated, 200.0, "employee"),     # employee's default rate 100
            (("principal",), self.employee_rated, 180.0, "principal"),  # 90/h
            (("principal", "project"), self.employee_rated, 216.0, "project"),  # 120 −10%
            (("principal", "project", "override"), self.employee_rated, 333.0, "override"),
        ]
        for index, (levels, employee, expected, source) in enumerate(rows):
            with self.subTest(levels=levels, employee=employee.name):
                project = self._fresh_project(f"Hours precedence {index}")
                customer = self.env["res.partner"].create(
                    {"name": f"Customer {index}", "is_company": True}
                )
                project.partner_id = customer
                if "principal" in levels:
                    self.agreement(partner_id=customer.id, kind="hours",
                                   product_id=self.activity.id, hourly_rate=90.0)
                if "project" in levels:
                    self.agreement(project_id=project.id, kind="hours",
                                   product_id=self.activity.id, hourly_rate=120.0, discount=10.0)
                vals = {}
                if "override" in levels:
                    vals = {"revenue_override": True, "revenue_manual": 333.0}
                line = self.book_hours(project, 2.0, employee=employee, product=self.activity,
                                       **vals)
                self.assertEqual(line.revenue_amount, expected)
                self.assertEqual(line.revenue_source, source)

    def test_costs_precedence_table(self):
        rows = [
            # (levels, product, quantity, unit cost, expected revenue, source)
            ((), self.material, 3, 8.0, 36.0, "product"),          # sales price 12
            ((), self.material_unpriced, 1, 100.0, 100.0, "cost"),  # recharged at cost
            (("principal",), self.material, 3, 8.0, 26.4, "principal"),  # parent categ +10%
            (("principal", "project"), self.material, 3, 8.0, 28.8, "project"),  # child +20%
            (("principal", "project", "project_product"), self.material, 3, 8.0, 27.0,
             "project"),  # product: 25% off sales price
            (("principal", "project", "override"), self.material, 3, 8.0, 50.0, "override"),
        ]
        for index, (levels, product, qty, unit_cost, expected, source) in enumerate(rows):
            with self.subTest(levels=levels, product=product.name):
                project = self._fresh_project(f"Cost precedence {index}")
                customer = self.env["res.partner"].create(
                    {"name": f"Cost customer {index}", "is_company": True}
                )
                project.partner_id = customer
                if "principal" in levels:
                    self.agreement(partner_id=customer.id, kind="cost",
                                   categ_id=self.categ_parent.id, cost_pricing="markup",
                                   markup=10.0)
                if "project" in levels:
                    self.agreement(project_id=project.id, kind="cost",
                                   categ_id=self.categ_child.id, cost_pricing="markup",
                                   markup=20.0)
                if "project_product" in levels:
                    self.agreement(project_id=project.id, kind="cost",
                                   product_id=self.material.id, cost_pricing="discount",
                                   discount=25.0)
                vals = {}
                if "override" in levels:
                    vals = {"revenue_override": True, "revenue_manual": 50.0}
                line = self.book_cost(project, product, qty, unit_cost, **vals)
                self.assertAlmostEqual(line.cost_amount, qty * unit_cost)
                self.assertAlmostEqual(line.revenue_amount, expected)
                self.assertEqual(line.revenue_source, source)

    def test_specificity_within_level(self):
        project = self._fresh_project("Specificity")
        self.agreement(project_id=project.id, kind="hours", hourly_rate=70.0)
        self.agreement(project_id=project.id, kind="hours", product_id=self.activity.id,
                       hourly_rate=75.0)
        self.agreement(project_id=project.id, kind="hours", employee_id=self.employee.id,
                       hourly_rate=85.0)
        self.agreement(project_id=project.id, kind="hours", employee_id=self.employee.id,
                       product_id=self.activity.id, hourly_rate=95.0)
        self.assertEqual(self.book_hours(project, 1, product=self.activity).revenue_amount, 95.0)
        self.assertEqual(
            self.book_hours(project, 1, product=self.activity_other).revenue_amount, 85.0
        )
        self.assertEqual(self.book_hours(project, 1, employee=self.employee_rated,
                                         product=self.activity).revenue_amount, 75.0)
        self.assertEqual(self.book_hours(project, 1, employee=self.employee_rated,
                                         product=self.activity_other).revenue_amount, 70.0)

    def test_list_rate_with_discount(self):
        project = self._fresh_project("List rate")
        self.agreement(project_id=project.id, kind="hours", rate_type="list", discount=25.0)
        line = self.book_hours(project, 4, employee=self.employee_rated, product=self.activity)
        self.assertEqual(line.revenue_amount, 300.0)  # employee rate 100 − 25% × 4 h
        self.assertEqual(line.revenue_unit_rate, 75.0)

    def test_recompute_on_agreement_change(self):
        project = self._fresh_project("Recompute")
        plain = self.book_hours(project, 2, product=self.activity)
        manual = self.book_hours(project, 2, product=self.activity,
                                 revenue_override=True, revenue_manual=10.0)
        invoiced = self.book_hours(project, 2, product=self.activity)
        self.env["hie.billing.link"]._link([(invoiced.id, False, self._dummy_invoice().id)])
        self.assertEqual(invoiced.billing_status, "invoiced")
        self.assertEqual(plain.revenue_amount, 160.0)

        agreement = self.agreement(partner_id=self.customer.id, kind="hours",
                                   product_id=self.activity.id, hourly_rate=90.0)
        self.assertEqual(plain.revenue_amount, 180.0)
        agreement.hourly_rate = 100.0
        self.assertEqual(plain.revenue_amount, 200.0)
        project_agreement = self.agreement(project_id=project.id, kind="hours", hourly_rate=50.0)
        self.assertEqual(plain.revenue_amount, 100.0)
        self.assertEqual(plain.revenue_agreement_id, project_agreement)
        project_agreement.unlink()
        self.assertEqual(plain.revenue_amount, 200.0)
        agreement.active = False
        self.assertEqual(plain.revenue_amount, 160.0)
        # the manual line kept its value, visibly marked; the invoiced line was not touched
        self.assertEqual(manual.revenue_amount, 10.0)
        self.assertEqual(manual.revenue_source, "override")
        self.assertEqual(invoiced.revenue_amount, 160.0)
        # dropping the override returns the line to the agreements
        manual.revenue_override = False
        self.assertEqual(manual.revenue_amount, 160.0)

    def _dummy_invoice(self):
        return self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_line_ids": [(0, 0, {"name": "x", "quantity": 1, "price_unit": 1})],
        })

    def test_agreement_validation(self):
        with self.assertRaises(ValidationError):
            self.agreement(kind="hours", hourly_rate=10.0)  # neither customer nor project
        with self.assertRaises(ValidationError):
            self.agreement(partner_id=self.customer.id, kind="cost", employee_id=self.employee.id)
        with self.assertRaises(ValidationError):
            self.agreement(partner_id=self.customer.id, kind="hours",
                           categ_id=self.categ_parent.id)
        with self.assertRaises(ValidationError):
            self.agreement(partner_id=self.customer.id, kind="hours", discount=120.0)
        self.agreement(partner_id=self.other_customer.id, kind="hours", hourly_rate=10.0)
        with self.assertRefused(ValidationError, "already an agreement"):
            self.agreement(partner_id=self.other_customer.id, kind="hours", hourly_rate=20.0)

    def test_agreement_of_contact_applies_via_commercial_partner(self):
        contact = self.env["res.partner"].create(
            {"name": "Site manager", "parent_id": self.other_customer.id}
        )
        project = self.env["project.project"].create(
            {"name": "Via contact", "partner_id": contact.id}
        )
        self.agreement(partner_id=self.other_customer.id, kind="hours", hourly_rate=77.0)
        self.assertEqual(self.book_hours(project, 1).revenue_amount, 77.0)
