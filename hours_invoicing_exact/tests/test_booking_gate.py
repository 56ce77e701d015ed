# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import HieCase


@tagged("post_install", "-at_install")
class TestBookingGate(HieCase):
    def _count_lines(self):
        return self.env["account.analytic.line"].search_count([])

    def test_customer_projects_per_status(self):
        """Every type × status: create is allowed exactly in acquisition, quoted and order."""
        for invoicing_type in ("time_material", "fixed_price"):
            for status, allowed in (("acquisition", True), ("quoted", True), ("order", True),
                                    ("closed", False)):
                with self.subTest(invoicing_type=invoicing_type, status=status):
                    project = self.env["project.project"].create({
                        "name": f"{invoicing_type} {status}", "partner_id": self.customer.id,
                        "invoicing_type": invoicing_type, "project_status": status,
                    })
                    before = self._count_lines()
                    if allowed:
                        self.book_hours(project)
                        self.book_cost(project, self.material)
                        self.assertEqual(self._count_lines(), before + 2)
                    else:
                        for book in (lambda p=project: self.book_hours(p),
                                     lambda p=project: self.book_cost(p, self.material)):
                            with self.assertRefused(ValidationError, "status is Closed",
                                                    project.name):
                                book()
                        self.assertEqual(self._count_lines(), before, "nothing written")

    def test_no_principal_refused(self):
        for invoicing_type in ("time_material", "fixed_price"):
            project = self.env["project.project"].create({
                "name": f"No principal {invoicing_type}", "invoicing_type": invoicing_type,
                "project_status": "acquisition",
            })
            before = self._count_lines()
            with self.assertRefused(ValidationError, project.name) as cm:
                self.book_hours(project)
            self.assertIn("no principal", str(cm.exception))
            self.assertEqual(self._count_lines(), before)

    def test_internal_projects(self):
        for status in ("acquisition", "quoted", "order"):
            self.project_internal.project_status = status
            line = self.book_hours(self.project_internal)
            self.assertTrue(line.exists())
        self.project_internal.project_status = "closed"
        with self.assertRefused(ValidationError, "status is Closed"):
            self.book_hours(self.project_internal)

    def test_new_project_without_customer_stays_bookable(self):
        """Odoo's behaviour for people who do not use the feature is unchanged."""
        project = self.env["project.project"].create({"name": "Plain project"})
        self.assertEqual(project.invoicing_type, "internal")
        self.assertEqual(project.project_status, "order")
        self.assertTrue(self.book_hours(project))
        with_customer = self.env["project.project"].create(
            {"name": "Plain customer project", "partner_id": self.customer.id}
        )
        self.assertEqual(with_customer.invoicing_type, "time_material")
        self.assertTrue(self.book_hours(with_customer))

    def test_move_line_onto_blocked_project(self):
        line = self.book_hours(self.project_tm, hours=2)
        closed = self.env["project.project"].create({
            "name": "Closed one", "partner_id": self.customer.id, "project_status": "closed",
        })
        no_principal = self.env["project.project"].create({
            "name": "Anonymous", "invoicing_type": "time_material",
        })
        for target, message in ((closed, "status is Closed"), (no_principal, "no principal")):
            with self.assertRefused(ValidationError, message):
                line.write({"project_id": target.id})
            self.assertEqual(line.project_id, self.project_tm, "nothing written")
        cost = self.book_cost(self.project_tm, self.material)
        with self.assertRefused(ValidationError, "status is Closed"):
            cost.write({"account_id": closed.account_id.id})
        self.assertEqual(cost.booking_project_id, self.project_tm)
        # moving onto an open project works, and editing lines of a closed project is no move
        line.write({"project_id": self.project_fixed.id})
        self.assertEqual(line.booking_project_id, self.project_fixed)
        self.project_fixed.project_status = "closed"
        line.write({"name": "still describable"})

    def test_batch_create_refuses_whole_batch(self):
        closed = self.env["project.project"].create({
            "name": "Closed batch", "partner_id": self.customer.id, "project_status": "closed",
        })
        before = self._count_lines()
        with self.assertRaises(ValidationError):
            self.env["account.analytic.line"].create([
                {"name": "ok", "project_id": self.project_tm.id,
                 "employee_id": self.employee.id, "unit_amount": 1},
                {"name": "ko", "project_id": closed.id,
                 "employee_id": self.employee.id, "unit_amount": 1},
            ])
        self.assertEqual(self._count_lines(), before)

    def test_import_path(self):
        """``load`` (import) goes through the same rule and reports it as a message."""
        closed = self.env["project.project"].create({
            "name": "Closed import", "partner_id": self.customer.id, "project_status": "closed",
        })
        before = self._count_lines()
        result = self.env["account.analytic.line"].load(
            ["name", "project_id/.id", "employee_id/.id", "unit_amount"],
            [["imported", str(closed.id), str(self.employee.id), "1.5"]],
        )
        self.assertFalse(result["ids"])
        self.assertIn("status is Closed", " ".join(m["message"] for m in result["messages"]))
        self.assertEqual(self._count_lines(), before)

    def test_blocked_reason_shown_on_project(self):
        self.assertFalse(self.project_tm.booking_blocked_reason)
        self.project_tm.project_status = "closed"
        self.assertIn("Closed", self.project_tm.booking_blocked_reason)
