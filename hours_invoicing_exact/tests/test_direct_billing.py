# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest.mock import patch

from odoo import models
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestDirectAndBillingStatus(HieCase):
    def test_matrix(self):
        """Direct flag and billing status for every project type × line kind."""
        expected = {
            # (type, kind): (is_direct, billing_status)
            ("time_material", "hours"): (True, "to_invoice"),
            ("time_material", "indirect_hours"): (False, "not_billable"),
            ("time_material", "cost"): (True, "to_invoice"),
            ("fixed_price", "hours"): (True, "not_billable"),
            ("fixed_price", "indirect_hours"): (False, "not_billable"),
            ("fixed_price", "cost"): (True, "not_billable"),
            ("internal", "hours"): (False, "not_billable"),
            ("internal", "indirect_hours"): (False, "not_billable"),
            ("internal", "cost"): (False, "not_billable"),
        }
        projects = {
            "time_material": self.project_tm,
            "fixed_price": self.project_fixed,
            "internal": self.project_internal,
        }
        for (ptype, kind), (direct, status) in expected.items():
            with self.subTest(type=ptype, kind=kind):
                project = projects[ptype]
                if kind == "hours":
                    line = self.book_hours(project, product=self.activity)
                elif kind == "indirect_hours":
                    line = self.book_hours(project, product=self.activity_indirect)
                else:
                    line = self.book_cost(project, self.material)
                self.assertEqual(line.booking_kind, "hours" if "hours" in kind else "cost")
                self.assertEqual(line.booking_project_id, project)
                self.assertEqual(line.is_direct, direct)
                self.assertEqual(line.billing_status, status)

    def test_user_changes_direct_flag(self):
        line = self.book_hours(self.project_tm, product=self.activity)
        line.is_direct = False
        self.assertEqual(line.billing_status, "not_billable")
        line.is_direct = True
        self.assertEqual(line.billing_status, "to_invoice")
        internal_line = self.book_hours(self.project_internal)
        with self.assertRefused(ValidationError, "indirect"):
            internal_line.is_direct = True

    def test_invoiced_status_and_type_change(self):
        line = self.book_hours(self.project_tm, product=self.activity)
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_line_ids": [(0, 0, {"name": "x", "quantity": 1, "price_unit": 1})],
        })
        self.env["hie.billing.link"]._link([(line.id, invoice.invoice_line_ids.id, invoice.id)])
        self.assertEqual(line.billing_status, "invoiced")
        other = self.book_hours(self.project_tm, product=self.activity)
        self.project_tm.invoicing_type = "fixed_price"
        self.assertEqual(other.billing_status, "not_billable")
        self.assertEqual(line.billing_status, "invoiced")

    def test_billing_link_search_and_group(self):
        """The billing fields are read from the link table: searching and grouping on them
        gives what reading them gives, for every operator the UI and the code use."""
        Line = self.env["account.analytic.line"]
        billed1 = self.book_hours(self.project_tm, product=self.activity)
        billed2 = self.book_hours(self.project_tm, product=self.activity_other)
        linked = self.book_hours(self.project_tm, product=self.activity)
        unbilled = self.book_hours(self.project_tm, product=self.activity)
        indirect = self.book_hours(self.project_tm, product=self.activity_indirect)
        fixed = self.book_hours(self.project_fixed)
        mine = billed1 | billed2 | linked | unbilled | indirect | fixed
        move = self.project_tm._hie_create_invoices("2099-12-31", line_ids=(billed1 | billed2).ids)
        amls = billed1.invoice_line_id | billed2.invoice_line_id
        self.assertEqual(len(amls), 2)
        other = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_line_ids": [(0, 0, {"name": "by hand", "quantity": 1, "price_unit": 9})],
        })
        self.env["hie.billing.link"]._link([(linked.id, False, other.id)])  # no invoice line
        self.assertFalse(linked.invoice_line_id)

        def found(domain):
            return Line.search([("id", "in", mine.ids)] + domain)

        cases = [
            ([("billing_status", "=", "invoiced")], billed1 | billed2 | linked),
            ([("billing_status", "=", "to_invoice")], unbilled),
            ([("billing_status", "=", "not_billable")], indirect | fixed),
            ([("billing_status", "!=", "invoiced")], unbilled | indirect | fixed),
            ([("billing_status", "in", ["to_invoice", "invoiced"])],
             billed1 | billed2 | linked | unbilled),
            ([("billing_status", "not in", ["to_invoice", "not_billable"])],
             billed1 | billed2 | linked),
            ([("invoice_id", "=", False)], unbilled | indirect | fixed),
            ([("invoice_id", "!=", False)], billed1 | billed2 | linked),
            ([("invoice_id", "=", move.id)], billed1 | billed2),
            ([("invoice_id", "in", [other.id, False])], linked | unbilled | indirect | fixed),
            ([("invoice_id", "not in", [move.id])], linked | unbilled | indirect | fixed),
            ([("invoice_id", "not in", [move.id, False])], linked),
            ([("invoice_id", "=", other)], linked),
            ([("invoice_line_id", "=", False)], linked | unbilled | indirect | fixed),
            ([("invoice_line_id", "in", amls[:1].ids)], amls[:1].hie_booking_line_ids),
            ([("invoice_line_id", "!=", False)], billed1 | billed2),
            ([("invoice_id.partner_id", "=", self.customer.id)],
             mine.filtered(lambda line: line.invoice_id.partner_id == self.customer)),
        ]
        self.assertIn(linked, cases[-1][1])
        for domain, expected in cases:
            with self.subTest(domain=domain):
                self.assertEqual(found(domain), expected)
                if not isinstance(domain[0][2], models.BaseModel):
                    self.assertEqual(mine.filtered_domain(domain), expected)
        groups = Line._read_group([("id", "in", mine.ids)], ["billing_status"], ["__count"])
        self.assertEqual(dict(groups), {"invoiced": 3, "to_invoice": 1, "not_billable": 2})
        self.assertTrue(Line.fields_get(["billing_status"])["billing_status"]["groupable"])
        # released again: searched and grouped as unbilled
        move.unlink()
        self.assertEqual(found([("billing_status", "=", "to_invoice")]),
                         billed1 | billed2 | unbilled)
        self.assertFalse(found([("invoice_id", "=", move.id)]))

    def test_cost_amounts(self):
        hours = self.book_hours(self.project_tm, hours=3)
        self.assertAlmostEqual(hours.cost_amount, 150.0)  # 3 h × hourly cost 50
        cost = self.book_cost(self.project_tm, self.material, quantity=4, unit_cost=7.5)
        self.assertAlmostEqual(cost.amount, -30.0)
        self.assertAlmostEqual(cost.cost_amount, 30.0)
        cost.unit_amount = 2
        self.assertAlmostEqual(cost.cost_amount, 15.0)
        # recharged at cost: the revenue follows a change of the cost alone
        at_cost = self.book_cost(self.project_tm, self.material_unpriced, quantity=2,
                                 unit_cost=10.0)
        self.assertAlmostEqual(at_cost.revenue_amount, 20.0)
        at_cost.cost_unit_price = 15.0
        self.assertAlmostEqual(at_cost.revenue_amount, 30.0)
        at_cost.amount = -50.0
        self.assertAlmostEqual(at_cost.revenue_amount, 50.0)

    def _booking_values(self, lines):
        self.env.invalidate_all()  # read back what the database holds
        return [
            (line.booking_project_id, line.booking_kind, line.cost_amount, line.amount,
             line.revenue_amount, line.revenue_unit_rate, line.revenue_source, line.is_direct,
             line.billing_status)
            for line in lines
        ]

    def test_bulk_create_same_as_one_by_one(self):
        """One create() of many lines stores the same booking values as creating them one
        at a time: cost (minus the amount), revenue, direct flag and billing status."""
        self.agreement(project_id=self.project_tm.id, kind="hours",
                       employee_id=self.employee.id, hourly_rate=95.0, discount=5.0)
        projects = (self.project_tm, self.project_fixed, self.project_internal)
        products = (self.activity, self.activity_indirect, self.env["product.product"])
        vals_list = [{
            "name": f"work {i}", "project_id": projects[i % 3].id,
            "employee_id": (self.employee, self.employee_rated)[i % 2].id,
            "product_id": products[i % 5 % 3].id, "unit_amount": 0.25 + i % 7 / 4,
        } for i in range(40)]
        vals_list += [{
            "name": f"cost {i}", "account_id": projects[i % 2].account_id.id,
            "product_id": (self.material, self.material_unpriced)[i % 2].id,
            "unit_amount": 1 + i, "cost_unit_price": 2.5 * (i + 1),
        } for i in range(6)]
        Line = self.env["account.analytic.line"]
        bulk = Line.create([dict(vals) for vals in vals_list])
        one_by_one = Line.concat(*(Line.create(dict(vals)) for vals in vals_list))
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT count(*) FROM account_analytic_line WHERE id = ANY(%s) "
            "AND cost_amount IS DISTINCT FROM -amount", [bulk.ids],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0, "the cost of every line is stored")
        expected = self._booking_values(one_by_one)
        self.assertEqual(self._booking_values(bulk), expected)
        # the batch covers what it is meant to: the project agreement, cost lines, billable
        # and non-billable lines
        self.assertIn((self.project_tm, "project", 90.25),
                      {(values[0], values[6], values[5]) for values in expected})
        self.assertIn("cost", {values[1] for values in expected})
        self.assertTrue(all(values[2] == -values[3] for values in expected))
        self.assertEqual({values[8] for values in expected},
                         {"to_invoice", "not_billable"})

    def test_amount_written_during_create(self):
        """A line whose amount is written while a create() runs (hr_timesheet does so for
        the cost of every new timesheet; here an existing line) gets its cost too."""
        existing = self.book_hours(self.project_tm, hours=2)
        self.assertAlmostEqual(existing.cost_amount, 100.0)
        Line = type(self.env["account.analytic.line"])
        check_can_create = Line._check_can_create

        def check_and_touch(lines):
            existing.sudo().amount = -123.0
            return check_can_create(lines)

        with patch.object(Line, "_check_can_create", check_and_touch):
            new = self.book_hours(self.project_tm, hours=1)
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertAlmostEqual(existing.cost_amount, 123.0)
        self.assertAlmostEqual(new.cost_amount, 50.0)
        # outside a create, the cost is written with the amount
        existing.amount = -80.0
        self.assertAlmostEqual(existing.cost_amount, 80.0)

    def test_vendor_bill_costs_count(self):
        """Costs from a vendor bill with the project's analytic account are booking lines."""
        bill = self.env["account.move"].create({
            "move_type": "in_invoice",
            "partner_id": self.other_customer.id,
            "invoice_date": "2026-01-15",
            "invoice_line_ids": [(0, 0, {
                "name": "Subcontractor", "quantity": 1, "price_unit": 400.0,
                "product_id": self.material_unpriced.id,
                "analytic_distribution": {str(self.project_tm.account_id.id): 100},
                "tax_ids": [(5, 0, 0)],
            })],
        })
        bill.action_post()
        line = self.env["account.analytic.line"].search(
            [("move_line_id", "in", bill.invoice_line_ids.ids)]
        )
        self.assertEqual(line.booking_project_id, self.project_tm)
        self.assertEqual(line.booking_kind, "cost")
        self.assertAlmostEqual(line.cost_amount, 400.0)
        self.assertAlmostEqual(line.revenue_amount, 400.0)
        self.assertEqual(line.billing_status, "to_invoice")
