# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fault injection on the Odoo side of the Twinfield link: invoices go through the real
outbox (database repository, token and credit stores) to the local Twinfield server, which
fails on purpose. After each fault the server holds exactly one sales transaction per
invoice, equal to the cent, and each record shows what happened to it.

Waits (back-off, ``Retry-After``, the fair-use minute) run on the server's virtual clock."""

from decimal import Decimal
from unittest.mock import patch

from odoo.tests import tagged

from .twinfield_common import TwinfieldCase

CENT = Decimal("0.01")


@tagged("post_install", "-at_install")
class TestTwinfieldFaults(TwinfieldCase):

    def setUp(self):
        super().setUp()
        Connection = type(self.connection)
        clock = self.twf.clock
        patcher = patch.object(Connection, "_get_clock", lambda connection: clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.moves = (
            self.make_invoice([(100.0, self.revenue, self.tax21), (33.33, self.revenue2,
                                                                    self.tax9)])
            | self.make_invoice([(250.55, self.revenue, self.tax21)])
            | self.make_invoice([(40.0, self.revenue, self.tax21)], move_type="out_refund")
        )

    def records(self):
        return self.env["accounting.outbox"].search(
            [("res_model", "=", "account.move"), ("res_id", "in", self.moves.ids)])

    def assert_once_to_the_cent(self):
        """The server holds one sales transaction per invoice, equal to Odoo's to the cent,
        and each record carries the number Twinfield gave its transaction."""
        self.assertEqual(dict(self.twf.transactions_by_invoice()),
                         dict.fromkeys(self.moves.mapped("name"), 1))
        by_number = {trs["invoicenumber"]: trs for trs in self.twf.transactions}
        for move in self.moves:
            trs = by_number[move.name]
            (total,) = [line for line in trs["lines"] if line["type"] == "total"]
            self.assertEqual(total["signed"],
                             Decimal(str(move.amount_total_signed)).quantize(CENT))
            self.assertEqual(-self.twf.vat_of(trs),
                             Decimal(str(move.amount_tax_signed)).quantize(CENT))
            record = self.outbox(move)
            self.assertEqual(record.state, "sent", record.last_error)
            self.assertEqual(record.remote_number, trs["number"])

    def test_timeout_after_store_is_looked_up_not_posted_again(self):
        self.twf.inject("timeout_after_store", target="write", delay=10.5)
        # Odoo's test HTTP guard raises any timeout below 10 s to 10 s: wait 10 s
        with patch.object(type(self.connection), "_get_timeout", lambda self: 10.0):
            report = self.process()
        # the call was stored but its answer lost: the three invoices are looked up by their
        # numbers (one browse) and recorded, not posted again
        self.assertEqual((report.unknown, report.recovered, report.posted), (3, 3, 0), report)
        self.assertEqual(report.lookups, 1)
        self.assertEqual(self.twf.calls["write"], 1)
        self.assertEqual(set(self.records().mapped("attempts")), {1})
        self.assert_once_to_the_cent()
        self.assertEqual(self.process().posted, 0)
        self.assertEqual(self.twf.calls["write"], 1)

    def test_connection_reset_after_store_is_looked_up(self):
        self.twf.inject("reset_after_store", target="write")
        report = self.process()
        self.assertEqual((report.recovered, report.posted, report.lookups), (3, 0, 1), report)
        self.assertEqual(self.twf.calls["write"], 1)
        self.assert_once_to_the_cent()

    def test_connection_reset_before_store_is_looked_up_then_posted(self):
        self.twf.inject("reset_before_store", target="write")
        report = self.process()
        # not found by the look-up: posted again, once
        self.assertEqual((report.unknown, report.recovered, report.posted), (3, 0, 3), report)
        self.assertEqual(report.lookups, 1)
        self.assertEqual(self.twf.calls["write"], 1)  # the reset call was never processed
        self.assertEqual(set(self.records().mapped("attempts")), {2})
        self.assert_once_to_the_cent()

    def test_5xx_burst_on_writes_and_reads(self):
        self.twf.inject("status", count=2, status=503, target="write")
        self.twf.inject("status", count=2, status=500, target="read")
        reports = [self.process()]
        while reports[-1].stopped is None and set(self.records().mapped("state")) != {"sent"} \
                and len(reports) < 4:
            reports.append(self.process())
        # an HTTP 5xx on a write is an unknown outcome: looked up before any second write;
        # reads are retried with back-off (on the virtual clock)
        self.assertTrue(all(report.lookups for report in reports[:1]), reports)
        self.assertEqual(sum(report.posted for report in reports), 3, reports)
        self.assertEqual(self.twf.statuses[503], 2)
        self.assertEqual(self.twf.statuses[500], 2)
        self.assert_once_to_the_cent()

    def test_429_with_retry_after_is_waited_out(self):
        self.twf.inject("status", status=429, target="write", retry_after=7)
        start = self.twf.clock.now()
        report = self.process()
        self.assertEqual((report.posted, report.lookups, report.unknown), (3, 0, 0), report)
        self.assertEqual(self.twf.statuses[429], 1)
        self.assertGreaterEqual(self.twf.clock.now() - start, 7.0, "Retry-After honoured")
        # the spell was recorded in the budget every worker shares
        budget = self.env["accounting.credit.budget"].search([("key", "like", "twinfield/%")])
        self.assertGreaterEqual(budget.blocked_until, start + 7.0)
        self.assertEqual(self.twf.calls["write"], 1)
        self.assertEqual(set(self.records().mapped("attempts")), {1})
        self.assert_once_to_the_cent()

    def test_long_429_spell_stops_the_run_and_costs_nothing(self):
        self.twf.inject("status", count=20, status=429, target="write", retry_after=3)
        report = self.process()
        self.assertIn("429", report.stopped or "")
        self.assertEqual((report.posted, report.unknown, report.lookups), (0, 0, 0), report)
        self.assertEqual(self.twf.calls["write"], 0, "Twinfield processed no write")
        self.assertEqual(set(self.records().mapped("state")), {"to_send"})
        self.assertEqual(set(self.records().mapped("attempts")), {0})
        self.twf.faults.clear()
        self.twf.clock.advance(60)
        report = self.process()
        self.assertEqual((report.posted, report.lookups), (3, 0), report)
        self.assert_once_to_the_cent()

    def test_credits_exhausted_mid_run_stop_and_resume(self):
        """Uncertified (25 credits a minute), one invoice per call: the run stops when the
        minute's credits are spent; the records not sent keep their attempts; the next
        minute the run goes on. Nothing twice."""
        self.moves |= self.make_invoice([(12.34, self.revenue, self.tax9)])
        for index in range(6):
            self.moves |= self.make_invoice([(10.0 + index, self.revenue, self.tax21)])
        self.connection.twf_certified = False
        Connection, Outbox = type(self.connection), type(self.env["accounting.outbox"])
        with patch.object(Connection, "_get_twinfield_max_wait", lambda self: 5.0), \
                patch.object(Outbox, "_get_batch_size", lambda self: 1):
            self.twf.clock.advance(60 - self.twf.clock.now() % 60)  # a fresh minute
            first = self.process()
            self.assertIn("fair-use", first.stopped or "")
            self.assertTrue(0 < first.posted < len(self.moves), first)
            waiting = self.records().filtered(lambda r: r.state == "to_send")
            self.assertEqual(len(waiting), len(self.moves) - first.posted)
            self.assertEqual(set(waiting.mapped("attempts")), {0})
            self.assertEqual(self.twf.statuses[429], 0, "stopped before Twinfield refused")
            reports = [first]
            while set(self.records().mapped("state")) != {"sent"} and len(reports) < 6:
                self.twf.clock.advance(60)
                reports.append(self.process())
        self.assertEqual(sum(report.posted for report in reports), len(self.moves), reports)
        self.assertEqual(sum(report.lookups for report in reports), 0)
        self.assertEqual(self.twf.calls["write"], len(self.moves))
        self.assert_once_to_the_cent()

    def test_partly_successful_batch_records_each_outcome(self):
        """Three invoices in one call; Twinfield refuses the middle one (unknown customer):
        the others are recorded with their own numbers, the refused one carries Twinfield's
        words. After the fix, Retry sends only that one."""
        stranger = self.env["res.partner"].create({"name": "Onbekend BV", "is_company": True})
        self.env["accounting.mapping"].create({
            "connection_id": self.connection.id, "kind": "partner",
            "partner_id": stranger.id, "remote_id": "9999", "remote_code": "9999",
        })
        bad = self.make_invoice([(77.77, self.revenue, self.tax21)], partner=stranger)
        good = self.make_invoice([(88.88, self.revenue2, self.tax9)])
        report = self.process()
        self.assertEqual((report.posted, report.rejected), (4, 1), report)
        self.assertEqual(self.twf.calls["write"], 1, "one call for the five")
        self.assertEqual(self.outbox(bad).state, "error")
        self.assertIn("Debiteur 9999 bestaat niet", self.outbox(bad).last_error)
        self.assertFalse(self.outbox(bad).remote_number)
        self.assertEqual(self.outbox(good).state, "sent")
        numbers = (self.records() | self.outbox(good)).mapped("remote_number")
        self.assertEqual(len(set(numbers)), 4, "each its own transaction number")
        self.assertNotIn(bad.name, self.twf.transactions_by_invoice())
        # fixed in Odoo, retried: sent once, the others untouched
        self.connection._get_mapping("partner", stranger).write(
            {"remote_id": "1001", "remote_code": "1001"})
        self.outbox(bad).action_retry()
        self.env.invalidate_all()
        self.assertEqual(self.outbox(bad).state, "sent", self.outbox(bad).last_error)
        self.moves |= bad | good
        self.assert_once_to_the_cent()

    def test_duplicate_refusal_is_a_hint_to_look_up(self):
        """Twinfield refuses an invoice number it holds already (when it enforces that):
        the record is looked up and recorded with the transaction Twinfield has, never
        counted as sent without it."""
        self.twf.reject_duplicate_invoice_numbers = True
        self.addCleanup(setattr, self.twf, "reject_duplicate_invoice_numbers", False)
        self.process()
        self.assert_once_to_the_cent()
        first = self.outbox(self.moves[0])
        number = first.remote_number
        # as after a lost commit: the record is to send again, its transaction in Twinfield
        first.write({"state": "to_send", "remote_number": False, "remote_id": False})
        report = self.process()
        self.assertEqual((report.posted, report.rejected), (1, 0), report)
        self.assertEqual(first.remote_number, number)
        self.assert_once_to_the_cent()
