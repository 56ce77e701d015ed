# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import closing

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestInvoicingConcurrency(BaseCase):
    """Two real transactions invoice the same hours at the same moment."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = self._env(cr)
            customer = env["res.partner"].create({"name": "Concurrent B.V.", "is_company": True})
            project = env["project.project"].create({
                "name": "Concurrent", "partner_id": customer.id,
                "invoicing_type": "time_material", "project_status": "order",
            })
            employee = env["hr.employee"].create({"name": "Cora", "timesheet_sale_rate": 80.0})
            lines = env["account.analytic.line"].create([
                {"name": f"work {i}", "project_id": project.id, "employee_id": employee.id,
                 "unit_amount": 1 + i, "date": "2026-01-05"}
                for i in range(3)
            ])
            self.ids = {"customer": customer.id, "project": project.id,
                        "employee": employee.id, "lines": lines.ids}
        self.addCleanup(self._cleanup)

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            lines = env["account.analytic.line"].browse(self.ids["lines"])
            lines.invoice_id.unlink()
            lines.unlink()
            env["project.project"].browse(self.ids["project"]).unlink()
            env["hr.employee"].browse(self.ids["employee"]).unlink()
            env["res.partner"].browse(self.ids["customer"]).unlink()

    def _invoice(self, cr):
        return self._env(cr)["project.project"].browse(self.ids["project"])._hie_create_invoices(
            "2026-01-31")

    def _check_billed_once(self):
        with closing(self.registry.cursor()) as cr:
            env = self._env(cr)
            lines = env["account.analytic.line"].browse(self.ids["lines"])
            moves = env["account.move"].search(
                [("hie_project_ids", "in", self.ids["project"])])
            self.assertEqual(len(moves), 1)
            self.assertEqual(lines.invoice_id, moves)
            self.assertEqual(set(lines.mapped("billing_status")), {"invoiced"})
            self.assertEqual(moves.amount_untaxed, sum(lines.mapped("revenue_amount")))

    def test_second_waits_for_the_first(self):
        """While the first transaction holds the lines, the second gets a clear error; after
        the first committed, the second finds nothing left to invoice."""
        with closing(self.registry.cursor()) as cr1, closing(self.registry.cursor()) as cr2:
            moves = self._invoice(cr1)
            self.assertEqual(len(moves), 1)
            with self.assertRaises(UserError) as cm:
                self._invoice(cr2)
            self.assertIn("being invoiced by someone else", str(cm.exception))
            cr2.rollback()
            cr1.commit()
            self.assertFalse(self._invoice(cr2))
            cr2.commit()
        self._check_billed_once()

    def test_second_started_before_the_first_committed(self):
        """The second transaction's snapshot still shows the lines unbilled: the lock and
        re-check refuse them instead of billing them again."""
        with closing(self.registry.cursor()) as cr1, closing(self.registry.cursor()) as cr2:
            env2 = self._env(cr2)
            lines2 = env2["account.analytic.line"].browse(self.ids["lines"])
            self.assertEqual(set(lines2.mapped("billing_status")), {"to_invoice"})  # snapshot
            self.assertEqual(len(self._invoice(cr1)), 1)
            cr1.commit()
            with self.assertRaises(UserError):
                self._invoice(cr2)
            cr2.rollback()
            self.assertFalse(self._invoice(cr2))
            cr2.commit()
        self._check_billed_once()

    def test_change_waits_for_a_billing_in_progress(self):
        """Changing the hours of a line while another transaction bills its project waits
        for that billing (here: until the lock timeout) instead of slipping in."""
        with closing(self.registry.cursor()) as cr1, closing(self.registry.cursor()) as cr2:
            self.assertEqual(len(self._invoice(cr1)), 1)
            cr2.execute("SET LOCAL lock_timeout = '300ms'")
            line2 = self._env(cr2)["account.analytic.line"].browse(self.ids["lines"][0])
            with self.assertRaises(pg_errors.LockNotAvailable), mute_logger("odoo.sql_db"):
                line2.write({"unit_amount": 9})
            cr2.rollback()
            cr1.commit()
        self._check_billed_once()

    def test_change_after_a_billing_committed_since(self):
        """A transaction whose snapshot still shows the line unbilled cannot change it once
        another transaction billed it: it fails as a concurrent update (which Odoo retries),
        and the retry is refused with the invoice named."""
        with closing(self.registry.cursor()) as cr1, closing(self.registry.cursor()) as cr2:
            line2 = self._env(cr2)["account.analytic.line"].browse(self.ids["lines"][0])
            self.assertEqual(line2.billing_status, "to_invoice")  # snapshot taken
            moves = self._invoice(cr1)
            cr1.commit()
            with self.assertRaises(pg_errors.SerializationFailure), mute_logger("odoo.sql_db"):
                line2.write({"unit_amount": 9})
            cr2.rollback()
            line2 = self._env(cr2)["account.analytic.line"].browse(self.ids["lines"][0])
            with self.assertRaises(UserError) as cm:
                line2.write({"unit_amount": 9})
            self.assertIn(moves.with_env(self._env(cr2)).display_name, str(cm.exception))
            cr2.rollback()
        self._check_billed_once()
