# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command
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

    def test_existing_journal_items_get_their_base_tax(self):
        taxes = self.env["account.tax"].create([
            {"name": f"HIE hook VAT {pct}", "amount": pct, "type_tax_use": "sale"}
            for pct in (21, 9)
        ])
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2024-03-01",
            "invoice_line_ids": [
                Command.create({"name": "one tax", "price_unit": 100,
                                "tax_ids": [Command.set(taxes[:1].ids)]}),
                Command.create({"name": "two taxes", "price_unit": 50,
                                "tax_ids": [Command.set(taxes.ids)]}),
                Command.create({"name": "no tax", "price_unit": 10,
                                "tax_ids": [Command.clear()]}),
            ],
        })
        expected = {line.id: (line.hie_base_tax_id.id, line.hie_base_tax_count)
                    for line in move.line_ids}
        by_name = {line.name: expected[line.id] for line in move.invoice_line_ids}
        self.assertEqual(by_name, {"one tax": (taxes[0].id, 1), "two taxes": (taxes[0].id, 2),
                                   "no tax": (False, 0)})
        self.assertEqual({expected[line.id] for line in move.line_ids.filtered("tax_line_id")},
                         {(False, 0)})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE account_move_line SET hie_base_tax_id = NULL, hie_base_tax_count = NULL "
            "WHERE move_id = %s", [move.id])
        self.env.invalidate_all()
        with self.assertQueryCount(1):
            hooks.fill_move_line_base_taxes(self.env.cr)
        self.env.invalidate_all()
        self.assertEqual({line.id: (line.hie_base_tax_id.id, line.hie_base_tax_count)
                          for line in move.line_ids}, expected)
