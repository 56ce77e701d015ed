# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .. import hooks
from .common import HieCase


@tagged("post_install", "-at_install")
class TestInstallDefaults(HieCase):
    def _null_out(self, projects, lines):
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            "UPDATE project_project SET invoicing_type = NULL, project_status = 'closed' "
            "WHERE id = ANY(%s)", [projects.ids],
        )
        assignments = ", ".join(f"{column} = NULL" for column in hooks.LINE_COLUMNS)
        cr.execute(
            f"UPDATE account_analytic_line SET {assignments} WHERE id = ANY(%s)", [lines.ids]
        )
        self.env.invalidate_all()

    def test_existing_projects(self):
        with_customer = self.env["project.project"].create(
            {"name": "Old customer project", "partner_id": self.customer.id,
             "invoicing_type": "fixed_price", "project_status": "closed"}
        )
        without = self.env["project.project"].create({"name": "Old internal project"})
        time_off = self.env.company.internal_project_id
        time_off.partner_id = self.customer  # even with a customer, time off stays internal
        projects = with_customer | without | time_off
        self._null_out(projects, self.env["account.analytic.line"])
        hooks.fill_project_defaults(self.env.cr, projects.ids)
        self.env.invalidate_all()
        self.assertEqual(
            [(p.invoicing_type, p.project_status) for p in projects],
            [("time_material", "order"), ("internal", "order"), ("internal", "order")],
        )

    def test_existing_lines_in_bulk(self):
        self.env["project.rate.agreement"].search([]).unlink()
        vals = []
        for i in range(1000):
            project = (self.project_tm, self.project_fixed, self.project_internal)[i % 3]
            product = (self.activity, self.activity_indirect, False)[i % 5 % 3]
            vals.append({
                "name": f"old {i}", "project_id": project.id, "employee_id": self.employee.id,
                "unit_amount": 1 + (i % 4), "product_id": product and product.id,
            })
        lines = self.env["account.analytic.line"].create(vals)
        lines |= self.book_cost(self.project_tm, self.material, 2, 8.0)
        lines |= self.book_cost(self.project_fixed, self.material_unpriced, 1, 50.0)
        expected = {
            line.id: (line.booking_project_id.id, line.booking_kind, line.cost_amount,
                      line.revenue_amount, line.is_direct, line.billing_status)
            for line in lines
        }
        self._null_out(self.env["project.project"], lines)
        self.assertFalse(lines[0].billing_status)

        with self.assertQueryCount(1):
            count = hooks.fill_line_defaults(self.env.cr, lines.ids)
        self.assertEqual(count, len(lines))
        self.env.invalidate_all()
        got = {
            line.id: (line.booking_project_id.id, line.booking_kind, line.cost_amount,
                      line.revenue_amount, line.is_direct, line.billing_status)
            for line in lines
        }
        self.assertEqual(got, expected, "bulk SQL and the ORM computes agree")
