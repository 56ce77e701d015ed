# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A seeded random walk over the recurring-invoice paths: days passing (and days missed), the
daily run once or twice, the contract's button, a draft invoice deleted, an invoice posted.
After every step each contract line has invoiced exactly the periods the Odoo-free
arithmetic (services/recurring.py) says, each once, and no more than one invoice per contract
and period exists."""

import datetime as dt
import random
from collections import Counter

from freezegun import freeze_time

from odoo.tests import tagged

from ..services import recurring
from .test_recurring_contract import RecurringCase

SEEDS = (7, 2024, 31337)
STEPS = 18
SHAPES = (
    # start, rule, invoicing type, end date of the lines
    ("2026-01-31", "monthly", "pre-paid", None),
    ("2026-01-15", "monthly", "post-paid", "2026-07-20"),
    ("2026-02-01", "quarterly", "pre-paid", None),
    ("2026-01-01", "quarterly", "post-paid", None),
    ("2025-12-29", "yearly", "pre-paid", None),
)


@tagged("post_install", "-at_install")
class TestRecurringRandomWalk(RecurringCase):

    def _contracts(self):
        contracts = self.Contract
        for index, (start, rule, kind, end) in enumerate(SHAPES):
            contract = self.make_contract(
                name=f"Walk {index}", date_start=start, recurring_rule_type=rule,
                recurring_invoicing_type=kind, hie_indexation_pct=2.5,
                lines=[(self.maintenance, 100.0 + index, 1.0), (self.licence, 20.0, 2.0)])
            if end:
                contract.contract_line_ids.date_end = end
            contracts |= contract
        return contracts

    def _expected_periods(self, line, today):
        """The periods of ``line`` invoiced by a daily run on ``today`` (all due ones)."""
        months = recurring.period_months(line.recurring_rule_type, line.recurring_interval)
        return [(start, end) for start, end, _day in recurring.periods(
            line.date_start, months, line.recurring_invoicing_type,
            date_end=line.date_end or None, until=today)]

    def _check(self, contracts, today, ahead):
        """Each line's periods: unique, contiguous from the start, and the due ones all
        there (the button may have invoiced one period ahead of the run)."""
        for contract in contracts:
            moves = contract._get_related_invoices()
            rows = contract.hie_period_ids
            keys = Counter((row.contract_line_id.id, row.date_start) for row in rows)
            self.assertFalse([key for key, count in keys.items() if count > 1])
            for line in contract.contract_line_ids:
                got = sorted((row.date_start, row.date_end)
                             for row in rows if row.contract_line_id == line)
                expected = self._expected_periods(line, today)
                extra = ahead[contract.id]  # periods the button invoiced ahead of the run
                self.assertEqual(got[:len(expected)], expected, (contract.name, today))
                self.assertLessEqual(len(got), len(expected) + extra, (contract.name, today))
                for (_s1, end), (start, _e2) in zip(got, got[1:], strict=False):
                    self.assertEqual(start, end + dt.timedelta(days=1))
                # every line billed each period once: on invoice lines too
                billed = moves.invoice_line_ids.filtered(lambda aml, ln=line:
                                                         aml.contract_line_id == ln)
                self.assertLessEqual(len(billed), len(got))
            # one invoice per contract and period (both lines share the contract's periods)
            periods = {row.date_start for row in rows}
            self.assertLessEqual(len(moves), len(periods), (contract.name, today))

    def _walk(self, seed):
        rng = random.Random(seed)
        contracts = self._contracts()
        today = dt.date(2026, 1, 1)
        ahead = Counter()
        ran_until = None
        for _step in range(STEPS):
            today += dt.timedelta(days=rng.choice((0, 1, 1, 3, 12, 31, 45)))
            action = rng.choice(("run", "run", "run_twice", "button", "delete", "post"))
            contract = rng.choice(contracts)
            with freeze_time(today):
                if action in ("run", "run_twice"):
                    for _time in range(1 + (action == "run_twice")):
                        self.Contract.cron_recurring_create_invoice()
                    ran_until = today
                elif action == "button" and contract.create_invoice_visibility:
                    # the next period, even ahead of its date (never one invoiced already)
                    if contract.recurring_create_invoice():
                        ahead[contract.id] += 1
                elif action == "delete":
                    drafts = contract._get_related_invoices().filtered(
                        lambda m: m.state == "draft")
                    if drafts:
                        # deleting the invoice does not reopen its period
                        periods = len(contract.hie_period_ids)
                        drafts[:1].unlink()
                        self.assertEqual(len(contract.hie_period_ids), periods)
                        self.assertTrue(any(not row.move_id for row in contract.hie_period_ids))
                elif action == "post":
                    contract._get_related_invoices().filtered(
                        lambda m: m.state == "draft")[:1].action_post()
            if ran_until:
                self._check(contracts, ran_until, ahead)
        return contracts

    def test_random_walk_seed_7(self):
        self.assertTrue(self._walk(SEEDS[0]).hie_period_ids)

    def test_random_walk_seed_2024(self):
        self.assertTrue(self._walk(SEEDS[1]).hie_period_ids)

    def test_random_walk_seed_31337(self):
        self.assertTrue(self._walk(SEEDS[2]).hie_period_ids)

    def test_lines_share_the_contract_period(self):
        contract = self.make_contract(
            date_start="2026-01-31", lines=[(self.maintenance, 1.0, 1.0),
                                            (self.licence, 2.0, 1.0)])
        self.run_cron("2026-05-01")
        by_line = {line: sorted(contract.hie_period_ids.filtered(
            lambda row, ln=line: row.contract_line_id == ln).mapped("date_start"))
            for line in contract.contract_line_ids}
        first, second = by_line.values()
        self.assertEqual(first, second)
        self.assertEqual(len(contract._get_related_invoices()), len(first))
        self.assertTrue(all(len(move.invoice_line_ids) == 2
                            for move in contract._get_related_invoices()))
