# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Payment status read back from Exact Online and Twinfield by the scheduled action, against
the strict local servers: one read per run, the status on each synced invoice, information
only (no payment in Odoo, nothing sent back), a failed read keeps the last known status."""

from odoo.tests import Form, tagged

from .exact_common import ExactCase
from .twinfield_common import TwinfieldCase

RECEIVABLES = "read/financial/ReceivablesList"


class PaymentStatusAsserts:
    def read_cron(self):
        self.env["accounting.connection"]._cron_read_payment_status()
        self.env.invalidate_all()

    def assert_information_only(self, moves):
        self.assertFalse(self.env["account.payment"].search([("partner_id", "=",
                                                               self.customer.id)]))
        for move in moves:
            self.assertEqual(move.payment_state, "not_paid")
            self.assertEqual(move.amount_residual, move.amount_total)


@tagged("post_install", "-at_install")
class TestExactPaymentStatus(PaymentStatusAsserts, ExactCase):
    def test_status_read_in_one_call_per_run(self):
        paid, partial, still_open = (self.make_invoice(amount) for amount in (100, 200, 300))
        self.process()
        self.assertEqual({m.hie_exact_sync_state for m in (paid, partial, still_open)}, {"sent"})
        self.server.pay(paid.name)
        self.server.pay(partial.name, 50)
        self.server.calls.clear()
        self.read_cron()
        # one paged read, nothing written back
        self.assertEqual(self.server.calls[("GET", RECEIVABLES)], 1)
        self.assertFalse([key for key in self.server.calls if key[0] != "GET"])
        self.assertEqual(paid.hie_payment_status, "paid")
        self.assertEqual(paid.hie_payment_open_amount, 0.0)
        self.assertEqual(paid.hie_payment_status_text, "Paid in Exact Online")
        self.assertEqual(partial.hie_payment_status, "partial")
        self.assertAlmostEqual(partial.hie_payment_open_amount, 242.0 - 50)
        self.assertEqual(still_open.hie_payment_status, "open")
        self.assertAlmostEqual(still_open.hie_payment_open_amount, 363.0)
        self.assertTrue(still_open.hie_payment_read_at)
        self.assertFalse(still_open.hie_payment_read_warning)
        self.assert_information_only((paid, partial, still_open))
        # the rest paid later
        self.server.pay(partial.name)
        self.read_cron()
        self.assertEqual(partial.hie_payment_status, "paid")
        self.assertEqual(still_open._hie_is_open_for_reminders(), still_open)
        self.assertFalse((paid | partial)._hie_is_open_for_reminders())

    def test_failed_read_keeps_last_known_status_and_says_so(self):
        move = self.make_invoice(100)
        self.process()
        self.server.pay(move.name, 21)
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "partial")
        read_at = move.hie_payment_read_at
        self.server.pay(move.name)
        self.server.inject("status", 5, status=403, method="GET", path="ReceivablesList")
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "partial")
        self.assertAlmostEqual(move.hie_payment_open_amount, 100.0)
        self.assertEqual(move.hie_payment_read_at, read_at)
        self.assertIn("failed", move.hie_payment_read_warning)
        self.assertTrue(self.connection.payment_read_error)
        self.assertEqual(self.connection.state, "connected")
        # the next good read clears the warning
        self.server.faults.clear()
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "paid")
        self.assertFalse(move.hie_payment_read_warning)
        self.assertFalse(self.connection.payment_read_error)

    def test_unsynced_invoice_untouched_and_fields_on_form(self):
        synced = self.make_invoice(100)
        self.process()
        local = self.make_invoice(50, date="2024-12-01")  # before the sync start date
        self.read_cron()
        self.assertEqual(synced.hie_payment_status, "open")
        self.assertFalse(local.hie_payment_status)
        self.assertEqual(local._hie_is_open_for_reminders(), local)
        with Form(synced) as form:
            self.assertEqual(form.hie_payment_status_text, "Open in Exact Online")


@tagged("post_install", "-at_install")
class TestTwinfieldPaymentStatus(PaymentStatusAsserts, TwinfieldCase):
    def setUp(self):
        super().setUp()
        self.twf.payments.clear()

    def test_status_from_open_items(self):
        paid, partial, still_open = (
            self.make_invoice([(amount, self.revenue, self.tax21)]) for amount in (100, 200, 300))
        self.process()
        self.assertEqual({self.outbox(m).state for m in (paid, partial, still_open)}, {"sent"})
        self.twf.pay(paid.name)
        self.twf.pay(partial.name, "42.00")
        self.twf.calls.clear()
        self.read_cron()
        self.assertEqual(self.twf.calls["finder"], 1)
        self.assertEqual(self.twf.calls["write"], 0)
        self.assertEqual(paid.hie_payment_status, "paid")
        self.assertEqual(paid.hie_payment_status_text, "Paid in Twinfield")
        self.assertEqual(partial.hie_payment_status, "partial")
        self.assertAlmostEqual(partial.hie_payment_open_amount, 242.0 - 42)
        self.assertEqual(still_open.hie_payment_status, "open")
        self.assert_information_only((paid, partial, still_open))

    def test_failed_read_keeps_status(self):
        move = self.make_invoice()
        self.process()
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "open")
        self.twf.pay(move.name)
        self.twf.inject("status", 3, status=400, target="read")
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "open")
        self.assertIn("Twinfield", move.hie_payment_read_warning)
        self.twf.faults.clear()
        self.read_cron()
        self.assertEqual(move.hie_payment_status, "paid")
        self.assertFalse(move.hie_payment_read_warning)
