# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Exact busy for a long time (daily budget spent, a spell of 429s or 5xx): the scheduled
runs stop without costing the waiting invoices anything; none goes to error, and all reach
Exact once the spell is over (defect 5)."""

import time
from unittest.mock import patch

from odoo.tests import tagged

from hie_testing.exact_server import DEFAULT_DIVISION

from ..services.exact.clock import VirtualClock
from .exact_common import ExactCase

RUNS = 8  # two hours of the quarter-hourly cron


@tagged("post_install", "-at_install")
class TestExactBusy(ExactCase):
    def setUp(self):
        super().setUp()
        # backoffs and 429 waits pass on a virtual clock of the client
        self.clock = VirtualClock(start=time.time())
        patcher = patch.object(type(self.connection), "_get_clock",
                               lambda connection: self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.moves = [self.make_invoice(date=f"2025-01-{day:02d}") for day in (10, 11, 12)]

    def cron(self):
        self.env["accounting.outbox"]._cron_process()
        self.env.invalidate_all()

    def assert_waiting_unharmed(self):
        records = self.env["accounting.outbox"].browse(
            [move.hie_exact_outbox_id.id for move in self.moves])
        self.assertNotIn("error", records.mapped("state"))
        waiting = records.filtered(lambda record: record.state != "sent")
        self.assertTrue(waiting)
        self.assertEqual(set(waiting.mapped("attempts")), {0})

    def assert_all_sent_once(self):
        # the spell is over: the client's clock, moved on by its waits, is real time again
        self.clock = VirtualClock(start=time.time())
        self.cron()
        self.assertEqual({move.hie_exact_outbox_id.state for move in self.moves}, {"sent"})
        self.assertEqual(self.server.entries_by_ref(),
                         {move.name: 1 for move in self.moves})

    def test_spent_daily_budget_over_many_runs(self):
        # calls left today: the relation look-up, the financial periods, the journal's
        # closed periods (once per run each) and one post
        self.server.daily_limit = 4 + self.server._usage[  # pylint: disable=protected-access
            (str(DEFAULT_DIVISION), "d", int(self.server.clock.now() // 86400))
        ]
        for _run in range(RUNS):
            self.cron()
        self.assertEqual(len(self.server.sales_entries), 1)
        self.assert_waiting_unharmed()
        self.server.daily_limit = 5000
        self.server.clock.advance(86400)
        self.connection.sudo().write({"rl_daily_remaining": 5000})
        self.assert_all_sent_once()

    def test_long_429_spell(self):
        self.server.inject("status", 10_000, status=429, path="/api/v1/")
        for _run in range(RUNS):
            self.cron()
        self.assertFalse(self.server.sales_entries)
        self.assert_waiting_unharmed()
        self.server.faults.clear()
        self.server.clock.advance(60)
        self.assert_all_sent_once()

    def test_long_5xx_spell(self):
        for status, method in ((503, None), (502, "POST")):
            self.server.inject("status", 10_000, status=status, method=method)
            for _run in range(RUNS):
                self.cron()
            self.assertFalse(self.server.sales_entries)
            self.assert_waiting_unharmed()
            self.server.faults.clear()
        self.assert_all_sent_once()

    def test_retry_while_exact_is_busy_says_it_was_queued(self):
        """Defect 6: Retry sends at once, or says clearly that the record was queued."""
        record = self.moves[0].hie_exact_outbox_id
        record.write({"state": "error", "attempts": 5,
                      "last_error": "Gave up after 5 attempts: Service Unavailable"})
        self.server.inject("status", 10_000, status=503)
        action = record.with_user(self.manager).action_retry()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("queued", action["params"]["message"])
        self.env.invalidate_all()
        self.assertEqual((record.state, record.attempts), ("to_send", 0))
        self.server.faults.clear()
        self.assert_all_sent_once()
