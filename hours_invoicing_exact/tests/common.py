# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager

from odoo import Command
from odoo.tests import TransactionCase, new_test_user


class HieCase(TransactionCase):
    """Shared fixtures: a customer with an invoice address, employees, activities and one
    project of each type."""

    @contextmanager
    def assertRefused(self, exception, *texts):
        """Odoo's ``assertRaises`` (savepoint rolled back, as a refused request would be),
        checking that the error names what is wrong."""
        with self.assertRaises(exception) as cm:
            yield cm
        for text in texts:
            self.assertIn(text, str(cm.exception))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.customer = cls.env["res.partner"].create({"name": "Bouw B.V.", "is_company": True})
        cls.customer_invoice = cls.env["res.partner"].create({
            "name": "Bouw B.V. invoices", "type": "invoice", "parent_id": cls.customer.id,
        })
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Other N.V.", "is_company": True}
        )
        uom_hour = cls.env.ref("uom.product_uom_hour")
        cls.activity = cls.env["product.product"].create({
            "name": "Consultancy", "type": "service", "list_price": 80.0,
            "uom_id": uom_hour.id, "uom_po_id": uom_hour.id,
        })
        cls.activity_other = cls.env["product.product"].create({
            "name": "Drafting", "type": "service", "list_price": 60.0,
            "uom_id": uom_hour.id, "uom_po_id": uom_hour.id,
        })
        cls.activity_indirect = cls.env["product.product"].create({
            "name": "Sales meeting", "type": "service", "hours_kind": "indirect",
            "uom_id": uom_hour.id, "uom_po_id": uom_hour.id,
        })
        cls.categ_parent = cls.env["product.category"].create({"name": "Materials"})
        cls.categ_child = cls.env["product.category"].create(
            {"name": "Electrical", "parent_id": cls.categ_parent.id}
        )
        cls.material = cls.env["product.product"].create({
            "name": "Cable", "type": "consu", "list_price": 12.0, "standard_price": 8.0,
            "categ_id": cls.categ_child.id,
        })
        cls.material_unpriced = cls.env["product.product"].create({
            "name": "Subcontracting", "type": "service", "list_price": 0.0,
            "categ_id": cls.categ_parent.id,
        })
        cls.user_employee = new_test_user(
            cls.env, login="hie_employee",
            groups="base.group_user,hr_timesheet.group_hr_timesheet_user",
        )
        cls.user_manager = new_test_user(
            cls.env, login="hie_manager",
            groups="base.group_user,base.group_partner_manager,project.group_project_manager,"
            "hr_timesheet.group_hr_timesheet_approver",
        )
        cls.employee = cls.env["hr.employee"].create({
            "name": "Anna", "user_id": cls.user_employee.id, "hourly_cost": 50.0,
        })
        cls.employee_rated = cls.env["hr.employee"].create({
            "name": "Bram", "hourly_cost": 60.0, "timesheet_sale_rate": 100.0,
        })
        Project = cls.env["project.project"]
        cls.project_tm = Project.create({
            "name": "T&M", "partner_id": cls.customer.id, "invoicing_type": "time_material",
            "project_status": "order", "company_id": cls.company.id,
        })
        cls.project_fixed = Project.create({
            "name": "Fixed", "partner_id": cls.customer.id, "invoicing_type": "fixed_price",
            "project_status": "order", "contract_sum": 10000.0, "cost_budget": 8000.0,
        })
        cls.project_internal = Project.create({"name": "Internal", "invoicing_type": "internal"})

    @classmethod
    def book_hours(cls, project, hours=1.0, employee=None, product=None, **vals):
        return cls.env["account.analytic.line"].create(dict({
            "name": "work",
            "project_id": project.id,
            "employee_id": (employee or cls.employee).id,
            "unit_amount": hours,
            "product_id": product.id if product else False,
        }, **vals))

    @classmethod
    def book_cost(cls, project, product, quantity=1.0, unit_cost=10.0, **vals):
        return cls.env["account.analytic.line"].create(dict({
            "name": "cost",
            "account_id": project.account_id.id,
            "product_id": product.id,
            "unit_amount": quantity,
            "cost_unit_price": unit_cost,
        }, **vals))

    @classmethod
    def agreement(cls, **vals):
        return cls.env["project.rate.agreement"].create(vals)


__all__ = ["HieCase", "Command"]
