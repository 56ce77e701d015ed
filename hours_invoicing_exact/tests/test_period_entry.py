# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime as dt
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import tagged

from hie_testing.exact_server import RECEIVABLE_ACCOUNT_ID, REVENUE_ACCOUNT_ID

from .period_common import PeriodCase

POSTS = ("POST", "generaljournalentry/GeneralJournalEntries")
LINE_GETS = ("GET", "generaljournalentry/GeneralJournalEntryLines")
D = dt.date


@tagged("post_install", "-at_install")
class TestPeriodRuns(PeriodCase):
    def test_month_is_sent_only_after_it_ended_plus_grace(self):
        self._invoice("2024-03-05", 100.0)
        self._invoice("2024-03-31", 50.0)
        self.assertFalse(self.run_on(D(2024, 3, 31)))
        self.company.hie_period_grace_days = 2
        self.assertFalse(self.run_on(D(2024, 4, 2)))
        self.assertEqual(self.server.calls[POSTS], 0)
        entry = self.run_on(D(2024, 4, 3))
        self.assertEqual(len(entry), 1)
        self.assertEqual((entry.state, entry.reference, entry.kind),
                         ("sent", f"C{self.company.id}-90-2024-03-1", "regular"))
        self.assertEqual(entry.exact_entry_number, "1")
        self.assertEqual(entry.item_count, 6)  # 2 invoices x (revenue, VAT, receivable)
        self.assertEqual(self.exact_totals(), {
            (REVENUE_ACCOUNT_ID, "2"): (-150.0, -31.5),
            (RECEIVABLE_ACCOUNT_ID, ""): (181.5, 0.0),
        })
        # a second run finds nothing new: no second entry, no call
        self.assertFalse(self.run_on(D(2024, 4, 4)))
        self.assertEqual(self.server.calls[POSTS], 1)
        run = self.env["accounting.period.sync.run"].search(
            [("company_id", "=", self.company.id)], limit=1)
        self.assertEqual((run.state, run.periods_checked, run.entry_count), ("done", 3, 0))

    def test_day_mode_one_entry_per_day(self):
        self.company.hie_period_sync_mode = "day"
        self._invoice("2024-03-04", 10.0)
        self._invoice("2024-03-05", 20.0)
        self._invoice("2024-03-06", 40.0)
        entries = self.run_on(D(2024, 3, 6))  # the 6th has not ended yet
        self.assertEqual(entries.mapped("date_from"), [D(2024, 3, 4), D(2024, 3, 5)])
        self.assertEqual(set(entries.mapped("state")), {"sent"})
        self.assertEqual(len(self.server.general_journal_entries), 2)
        self.assertEqual(self.run_on(D(2024, 3, 7)).date_from, D(2024, 3, 6))

    def test_cron_runs_once_a_day_at_the_configured_hour(self):
        self._invoice("2024-03-05", 100.0)
        self.company.hie_period_sync_hour = 7
        self.company.partner_id.tz = "Europe/Amsterdam"  # UTC+2 in April
        with freeze_time("2024-04-01 04:30:00"):  # 06:30 in Amsterdam
            self.Entry._cron_run_period_sync()
        self.assertFalse(self.Entry.search([("company_id", "=", self.company.id)]))
        with freeze_time("2024-04-01 05:10:00"):  # 07:10 in Amsterdam
            self.Entry._cron_run_period_sync()
            self.Entry._cron_run_period_sync()
        entries = self.Entry.search([("company_id", "=", self.company.id)])
        self.assertEqual(len(entries), 1)
        self.assertEqual(self.company.hie_period_last_run_date, D(2024, 4, 1))

    def test_vat_is_odoos_to_the_cent(self):
        # three invoices of 0.07: Odoo's VAT 0.01 each; Exact alone would compute 0.04
        for _i in range(3):
            self._invoice("2024-02-10", 0.07)
        entry = self.run_on(D(2024, 3, 1))
        self.assertEqual(entry.state, "sent")
        revenue = entry.line_ids.filtered(lambda line: line.account_id == self.revenue)
        self.assertEqual((revenue.amount, revenue.vat_amount), (-0.21, -0.03))
        self.assertEqual(self.exact_totals()[(REVENUE_ACCOUNT_ID, "2")], (-0.21, -0.03))

    def test_vat_rounded_per_line_is_carried_to_the_cent(self):
        # rounding per line: ten lines of 0.07 have VAT 0.01 each in Odoo (0.10), where 21 %
        # of the summed 0.70 is 0.15; ten roundings of half a cent explain the difference
        self.company.tax_calculation_rounding_method = "round_per_line"
        self._invoice("2024-02-10", *([0.07] * 10))
        entry = self.run_on(D(2024, 3, 1))
        self.assertEqual(entry.state, "sent", entry.error)
        revenue = entry.line_ids.filtered(lambda line: line.account_id == self.revenue)
        self.assertEqual((revenue.amount, revenue.vat_amount), (-0.70, -0.10))
        self.assertEqual(self.exact_totals()[(REVENUE_ACCOUNT_ID, "2")], (-0.70, -0.10))

    def test_vat_beyond_rounding_is_refused(self):
        invoice = self._invoice("2024-02-10", 100.0)
        vat_line = invoice.line_ids.filtered("tax_line_id")
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable")
        # a VAT line changed behind Odoo's back by 5 cents (the move still balances)
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move_line SET balance = balance - 0.05 "
                            "WHERE id = %s", [vat_line.id])
        self.env.cr.execute("UPDATE account_move_line SET balance = balance + 0.05 "
                            "WHERE id = %s", [receivable.id])
        self.env.invalidate_all()
        entry = self.run_on(D(2024, 3, 1))
        self.assertEqual(entry.state, "error")
        self.assertIn("cannot be built", entry.error)
        self.assertEqual(self.server.calls[POSTS], 0)

    def test_item_with_two_taxes_is_refused(self):
        second = self.tax.copy({"name": "Second VAT HIE", "amount": 9.0})
        invoice = self._invoice("2024-02-10", 100.0, post=False)
        invoice.invoice_line_ids.tax_ids = self.tax | second
        invoice.action_post()
        line = invoice.invoice_line_ids
        self.assertEqual((line.hie_base_tax_id, line.hie_base_tax_count),
                         (min(self.tax, second, key=lambda tax: tax.id), 2))
        entry = self.run_on(D(2024, 3, 1))
        self.assertEqual(entry.state, "error")
        self.assertIn("several taxes", entry.error)
        self.assertEqual(self.server.calls[POSTS], 0)

    def test_correction_after_reset_and_late_posting(self):
        invoice = self._invoice("2024-03-05", 100.0)
        first = self.run_on(D(2024, 4, 1))
        self.assertEqual(first.state, "sent")
        # the invoice is reset, changed and posted again; another one is posted late
        invoice.button_draft()
        invoice.invoice_line_ids[0].price_unit = 120.0
        invoice.action_post()
        self._invoice("2024-03-20", 10.0)
        correction = self.run_on(D(2024, 4, 10))
        self.assertEqual((correction.kind, correction.sequence, correction.state),
                         ("correction", 2, "sent"))
        self.assertEqual(correction.reference, f"C{self.company.id}-90-2024-03-2")
        lines = {line.account_id: (line.amount, line.vat_amount) for line in correction.line_ids}
        self.assertEqual(lines, {self.revenue: (-30.0, -6.3), self.receivable: (36.3, 0.0)})
        self.assertEqual(self.exact_totals(), {
            (REVENUE_ACCOUNT_ID, "2"): (-130.0, -27.3),
            (RECEIVABLE_ACCOUNT_ID, ""): (157.3, 0.0),
        })
        self.assertFalse(self.run_on(D(2024, 4, 11)))

    def test_closed_period_error_then_first_open_period(self):
        self._invoice("2024-03-05", 100.0)
        self.server.close_period("90", 2024, 3)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "error")
        self.assertIn("closed for period 3/2024", entry.error)
        self.assertEqual(self.server.calls[POSTS], 0)
        self.company.hie_period_closed_policy = "next_open"
        retry = self.run_on(D(2024, 4, 2))
        self.assertEqual(entry.state, "cancelled")
        self.assertEqual((retry.state, retry.sequence, retry.exact_year, retry.exact_period),
                         ("sent", 2, 2024, 4))
        self.assertEqual(self.server.general_journal_entries[0]["FinancialPeriod"], 4)

    def test_entry_goes_into_exacts_own_financial_period(self):
        # Exact's year in thirteen periods of four weeks: 31 March 2024 lies in period 4
        # (25 March - 21 April), not in "period 3" as a calendar month would say
        start = D(2024, 1, 1)
        self.server.set_financial_periods([
            (2024, n + 1, start + dt.timedelta(days=28 * n),
             start + dt.timedelta(days=28 * n + 27)) for n in range(13)
        ])
        self._invoice("2024-03-05", 100.0)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual((entry.state, entry.exact_year, entry.exact_period),
                         ("sent", 2024, 4), entry.error)
        self.assertEqual(self.server.general_journal_entries[0]["FinancialPeriod"], 4)

    def test_closed_four_weekly_period_moves_to_the_next_exact_period(self):
        start = D(2024, 1, 1)
        self.server.set_financial_periods([
            (2024, n + 1, start + dt.timedelta(days=28 * n),
             start + dt.timedelta(days=28 * n + 27)) for n in range(13)
        ])
        self.server.close_period("90", 2024, 4)
        self.company.hie_period_closed_policy = "next_open"
        self._invoice("2024-03-05", 100.0)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual((entry.state, entry.exact_year, entry.exact_period),
                         ("sent", 2024, 5), entry.error)
        # dated on the first day of Exact's period 5 (22 April), not on "1 May"
        self.assertEqual({line["Date"][:10] for line in self.server.general_journal_entry_lines},
                         {"2024-04-22"})

    def test_no_exact_financial_period_is_a_clear_error(self):
        self.server.set_financial_periods([(2025, 1, D(2025, 1, 1), D(2025, 12, 31))])
        self._invoice("2024-03-05", 100.0)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "error")
        self.assertIn("no financial period", entry.error)
        self.assertEqual(self.server.calls[POSTS], 0)

    def test_entries_of_another_company_stay_hidden(self):
        self._invoice("2024-03-05", 100.0)
        entry = self.run_on(D(2024, 4, 1))
        company_b = self.env["res.company"].create({"name": "Company B periods"})
        user_b = self.env["res.users"].create({
            "name": "B", "login": "hie_period_b", "company_id": company_b.id,
            "company_ids": [(6, 0, company_b.ids)],
            "groups_id": [(6, 0, [self.env.ref("account.group_account_manager").id,
                                  self.env.ref("base.group_user").id])],
        })
        self.assertTrue(entry.line_ids)
        for model in ("accounting.period.entry", "accounting.period.entry.line",
                      "accounting.period.sync.run"):
            self.assertTrue(self.env[model].search([("company_id", "=", self.company.id)]))
            self.assertFalse(self.env[model].with_user(user_b).search([]), model)

    def test_entry_refused_by_exact_is_superseded_and_cannot_be_retried(self):
        self._invoice("2024-03-05", 100.0)
        revenue_gl = next(a for a in self.server.gl_accounts if a["ID"] == REVENUE_ACCOUNT_ID)
        self.server.gl_accounts.remove(revenue_gl)  # Exact refuses the entry
        try:
            refused = self.run_on(D(2024, 4, 1))
        finally:
            self.server.gl_accounts.append(revenue_gl)
        self.assertEqual((refused.state, refused.outbox_id.state), ("error", "error"))
        self.assertIn("G/L account", refused.error)
        self.assertFalse(self.server.general_journal_entries)
        retry = self.run_on(D(2024, 4, 2))  # built again under the next sequence, and sent
        self.assertEqual((retry.state, retry.sequence), ("sent", 2))
        self.assertEqual((refused.state, refused.outbox_id.state), ("cancelled", "cancelled"))
        with self.assertRaises(UserError):
            refused.outbox_id.action_retry()
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_items_before_the_sync_start_date_stay_out(self):
        self.connection.sync_start_date = "2024-03-15"
        self._invoice("2024-03-05", 100.0)  # in Exact already
        self._invoice("2024-03-20", 40.0)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "sent", entry.error)
        revenue = entry.line_ids.filtered(lambda line: line.account_id == self.revenue)
        self.assertEqual((revenue.amount, revenue.vat_amount), (-40.0, -8.4))

    def test_missing_mapping_is_a_clear_error_and_nothing_is_sent(self):
        unmapped = self.env["account.account"].create(
            {"name": "Unmapped revenue", "code": "800098", "account_type": "income"})
        self._invoice("2024-03-05", 100.0, account=unmapped)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "error")
        self.assertIn("Unmapped revenue", entry.error)
        self.assertEqual(self.server.calls[POSTS], 0)

    def test_unmapped_partner_is_looked_up_or_created_in_exact_when_sent(self):
        stranger = self.env["res.partner"].create({"name": "Nieuwe Klant BV", "is_company": True})
        self._invoice("2024-03-05", 100.0, partner=stranger)
        accounts = len(self.server.accounts)
        entry = self.run_on(D(2024, 4, 1))
        self.assertEqual(entry.state, "sent")
        self.assertEqual(len(self.server.accounts), accounts + 1)
        created = self.server.accounts[-1]
        self.assertEqual(created["Name"], "Nieuwe Klant BV")
        self.assertEqual(self.connection._get_mapping("partner", stranger).remote_id,
                         created["ID"])
        self.assertIn(created["ID"], {line["Account"] for line in
                                      self.server.general_journal_entry_lines})


@tagged("post_install", "-at_install")
class TestPeriodExactlyOnce(PeriodCase):
    def test_timeout_after_store_is_looked_up_not_posted_twice(self):
        self._invoice("2024-03-05", 100.0)
        self.server.inject("timeout_after_store", method="POST", path="GeneralJournal",
                           delay=10.5)
        # Odoo's test HTTP guard raises any timeout below 10 s to 10 s: wait 10 s, not 60
        with patch.object(type(self.connection), "_get_timeout", lambda self: 10.0):
            entry = self.run_on(D(2024, 4, 1))
        # the engine claims the record again (it stays "sending"), looks its reference up
        # and records the entry Exact stored: one POST, one entry
        self.assertEqual(entry.state, "sent")
        self.assertEqual(entry.outbox_id.attempts, 1)
        self.assertEqual(entry.exact_entry_id,
                         self.server.general_journal_entries[0]["EntryID"])
        self.assertEqual(self.server.calls[LINE_GETS], 1)
        self.assertEqual(self.server.calls[POSTS], 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)
        self.assertFalse(self.run_on(D(2024, 4, 2)))
        self.assertEqual(self.server.calls[POSTS], 1)

    def test_crash_after_post_is_looked_up_by_the_next_run(self):
        """A worker killed between its POST and the commit of the answer: the record stays
        "sending" (committed before the POST); the next run finds it in Exact."""
        self._invoice("2024-03-05", 100.0)
        entry = self.Entry._sync_periods(
            self.company, self.Entry._periods_due(self.company, D(2024, 4, 1)), send=False)
        outbox = entry.outbox_id
        outbox.write({"state": "sending", "attempts": 1})  # what mark_sending committed
        outbox._get_adapter().post(outbox.payload)  # the killed worker's POST, stored
        self.assertEqual(len(self.server.general_journal_entries), 1)
        self.assertFalse(self.run_on(D(2024, 4, 2)))  # nothing new to build ...
        entry.action_send()  # ... and Send now (as the next cron) looks it up
        self.assertEqual(entry.state, "sent")
        self.assertEqual(entry.exact_entry_id,
                         self.server.general_journal_entries[0]["EntryID"])
        self.assertEqual(self.server.calls[POSTS], 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_concurrent_run_is_refused_while_another_holds_the_company(self):
        self._invoice("2024-03-05", 100.0)
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_lock(%s, %s)", [470_512, self.company.id])
            self.assertFalse(self.run_on(D(2024, 4, 1)))
            run = self.env["accounting.period.sync.run"].search([], limit=1)
            self.assertEqual(run.state, "error")
            self.assertIn("busy", run.message)
        finally:
            other.execute("SELECT pg_advisory_unlock_all()")
            other.close()
        self.assertEqual(self.server.calls[POSTS], 0)
        self.assertEqual(len(self.run_on(D(2024, 4, 1))), 1)
        self.assertEqual(len(self.server.general_journal_entries), 1)

    def test_reference_is_stored_before_sending(self):
        self._invoice("2024-03-05", 100.0)
        self.server.inject("reset_before_store", method="POST", path="GeneralJournal")
        entry = self.run_on(D(2024, 4, 1))
        # connection reset, outcome unknown: the reference stored with the entry is looked
        # up (not found) before the second POST
        self.assertEqual(entry.outbox_id.reference, entry.reference)
        self.assertEqual(entry.state, "sent")
        self.assertEqual(entry.outbox_id.attempts, 2)
        self.assertEqual(self.server.calls[LINE_GETS], 1)
        self.assertEqual(self.server.calls[POSTS], 1)  # the reset one was never processed
        self.assertEqual(len(self.server.general_journal_entries), 1)
