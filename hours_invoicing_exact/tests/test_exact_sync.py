# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime as dt
from unittest.mock import patch

import requests

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..services.testing.exact_server import (
    CUSTOMER_ID,
    DEFAULT_DIVISION,
    REVENUE_ACCOUNT_ID,
)
from .exact_common import ExactCase


@tagged("post_install", "-at_install")
class TestExactSetup(ExactCase):
    def test_division_choice(self):
        divisions = self.connection.reference_ids.filtered(lambda ref: ref.kind == "division")
        self.assertIn(str(DEFAULT_DIVISION), divisions.mapped("code"))
        self.assertEqual(self.connection.division, DEFAULT_DIVISION)
        self.assertEqual(self.env["accounting.connection"]._get_for_company(self.company),
                         self.connection)

    def test_get_for_company_refuses_unconnected(self):
        self.connection.state = "reconnect_needed"
        with self.assertRaises(UserError):
            self.env["accounting.connection"]._get_for_company(self.company)

    def test_mapping_auto_match(self):
        self.assertEqual(self.connection._get_gl_guid(self.revenue), REVENUE_ACCOUNT_ID)
        self.assertEqual(self.connection._get_vat_code(self.tax21), "2")
        self.assertEqual(self.connection._get_journal_code(self.journal), "70")
        unmapped = self.env["account.account"].create(
            {"name": "Omzet nieuw", "code": "8999", "account_type": "income"}
        )
        with self.assertRaises(UserError) as cm:
            self.connection._get_gl_guid(unmapped)
        self.assertIn("Omzet nieuw", str(cm.exception))
        # a manual mapping is kept by a new auto-match
        mapping = self.connection.mapping_ids.filtered(lambda m: m.account_id == self.revenue)
        other = self.connection.reference_ids.filtered(
            lambda ref: ref.kind == "gl_account" and ref.code == "8010"
        )
        mapping.reference_id = other
        self.connection.action_auto_match()
        self.assertEqual(self.connection._get_gl_guid(self.revenue), other.remote_id)

    def test_relation_found_by_vat_without_write(self):
        self.assertEqual(self.connection._get_relation_guid(self.customer), CUSTOMER_ID)
        self.assertEqual(self.posts("crm/Accounts"), 0)
        # mapped now: no further call
        calls = sum(self.server.calls.values())
        self.assertEqual(self.connection._get_relation_guid(self.customer), CUSTOMER_ID)
        self.assertEqual(sum(self.server.calls.values()), calls)

    def test_relation_created_with_valid_numbers(self):
        partner = self.env["res.partner"].create({
            "name": "Nieuw BV", "is_company": True, "vat": "NL004495445B01",
            "company_registry": "12345670", "country_id": self.env.ref("base.nl").id,
            "street": "Dam 1", "zip": "1012 JS", "city": "Amsterdam", "email": "a@nieuw.nl",
        })
        guid = self.connection._get_relation_guid(partner)
        self.assertEqual(self.posts("crm/Accounts"), 1)
        created = next(row for row in self.server.accounts if row["ID"] == guid)
        self.assertEqual(created["Name"], "Nieuw BV")
        self.assertEqual(created["VATNumber"], "NL004495445B01")
        self.assertEqual(created["ChamberOfCommerce"], "12345670")
        self.assertEqual(created["City"], "Amsterdam")
        self.assertEqual(created["Country"], "NL")
        self.assertEqual(created["Email"], "a@nieuw.nl")

    def test_relation_invalid_numbers_refused_before_any_call(self):
        nl = self.env.ref("base.nl").id
        bad_vat = self.env["res.partner"].create(
            {"name": "Fout BV", "is_company": True, "country_id": nl}
        )
        # stored as typed past base_vat's check (Odoo's own no_vat_validation: imported or
        # older data), so that our own check before any call is what refuses it
        bad_vat.with_context(no_vat_validation=True).vat = "NL123456789B99"
        calls = sum(self.server.calls.values())
        with self.assertRaises(ValidationError) as cm:
            self.connection._get_relation_guid(bad_vat)
        self.assertIn("NL123456789B99", str(cm.exception))
        bad_kvk = self.env["res.partner"].create(
            {"name": "Kvk BV", "is_company": True, "country_id": nl, "company_registry": "1234"}
        )
        with self.assertRaises(ValidationError) as cm:
            self.connection._get_relation_guid(bad_kvk)
        self.assertIn("1234", str(cm.exception))
        self.assertEqual(sum(self.server.calls.values()), calls)


@tagged("post_install", "-at_install")
class TestExactOutbox(ExactCase):
    def test_invoice_posted_then_sent_once(self):
        move = self.make_invoice()
        record = move.exact_outbox_id
        self.assertEqual(record.state, "to_send")
        self.assertEqual(move.exact_sync_state, "to_send")
        self.assertEqual(record.reference, move.name)
        self.assertEqual(record.payload["lines"][0]["amount"], 100.0)
        report = self.process()
        self.assertEqual(report.posted, 1)
        self.assertEqual(record.state, "sent")
        self.assertEqual(move.exact_sync_state, "sent")
        [entry] = self.server.sales_entries
        self.assertEqual(record.remote_id, entry["EntryID"])
        self.assertEqual(record.remote_number, str(entry["EntryNumber"]))
        self.assertEqual(entry["YourRef"], move.name)
        self.assertEqual(entry["Type"], 20)
        self.assertEqual(entry["Customer"], CUSTOMER_ID)
        self.assertEqual(entry["Journal"], "70")
        self.assertEqual(entry["_lines"][0]["GLAccount"], REVENUE_ACCOUNT_ID)
        self.assertEqual(entry["_lines"][0]["VATCode"].strip(), "2")
        self.assertEqual(entry["AmountFC"], 121.0)
        # a second run sends nothing
        self.process()
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)
        self.assertEqual(self.posts(), 1)

    def test_reset_to_draft(self):
        """Not sent yet: back to draft leaves the outbox, re-posting queues the new amounts.
        Sent: Exact cannot change its entry, so the invoice stays posted."""
        move = self.make_invoice(amount=100.0)
        move.button_draft()
        self.assertFalse(move.exact_outbox_id)
        move.invoice_line_ids.price_unit = 80.0
        move.action_post()
        self.assertEqual(move.exact_outbox_id.payload["lines"][0]["amount"], 80.0)
        self.process()
        self.assertEqual(move.exact_sync_state, "sent")
        with self.assertRaises(UserError) as cm:
            move.button_draft()
        self.assertIn(move.exact_outbox_id.remote_number, str(cm.exception))
        self.assertEqual(move.state, "posted")
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)
        self.assertEqual(self.server.sales_entries[0]["AmountFC"], 96.8)

    def test_credit_note(self):
        move = self.make_invoice(amount=50.0)
        self.process()
        refund = self.make_invoice(amount=50.0, move_type="out_refund")
        self.process()
        self.assertEqual(refund.exact_outbox_id.state, "sent")
        entry = next(e for e in self.server.sales_entries if e["YourRef"] == refund.name)
        self.assertEqual(entry["Type"], 21)
        self.assertEqual(entry["AmountFC"], -60.5)
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)

    def test_only_synced_journals_and_dates(self):
        old = self.make_invoice(date="2024-12-31")
        self.assertFalse(old.exact_outbox_id)
        self.connection.sync_journal_ids = False
        self.assertFalse(self.make_invoice().exact_outbox_id)

    def test_business_error_then_retry(self):
        # the relation the partner is mapped to was deleted in Exact
        self.env["accounting.mapping"].create({
            "connection_id": self.connection.id, "kind": "partner",
            "partner_id": self.customer.id, "remote_id": "00000000-dead-0000-0000-000000000000",
        })
        other_customer = self.env["res.partner"].create({"name": "Ander BV", "is_company": True})
        move = self.make_invoice()
        other = self.make_invoice(date="2025-02-03", partner=other_customer)
        report = self.process()
        record = move.exact_outbox_id
        self.assertEqual(record.state, "error")
        self.assertEqual(record.last_error, "Invalid reference: Relationship")  # Exact's text
        self.assertEqual((report.rejected, report.posted), (1, 1))
        self.assertEqual(other.exact_outbox_id.state, "sent")  # went on with the others
        self.connection.mapping_ids.filtered(lambda m: m.partner_id == self.customer).unlink()
        with self.assertRaises(AccessError):
            record.with_user(self.accountant).action_retry()
        record.with_user(self.manager).action_retry()
        self.env.invalidate_all()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)

    def test_closed_period_is_an_error_without_post(self):
        self.server.close_period("70", 2025, 1)
        january = [self.make_invoice(date=f"2025-01-{day:02d}") for day in (10, 11)]
        february = self.make_invoice(date="2025-02-03")
        report = self.process()
        self.assertEqual((report.rejected, report.posted), (2, 1))
        for move in january:
            self.assertEqual(move.exact_outbox_id.state, "error")
            self.assertIn("1/2025", move.exact_outbox_id.last_error)
            self.assertIn("closed", move.exact_outbox_id.last_error)
        self.assertEqual(february.exact_outbox_id.state, "sent")
        # one status call for the journal and year, one post: no call wasted on Exact's error
        self.assertEqual(
            self.server.calls[("GET", "read/financial/JournalStatusByFinancialPeriod")], 1
        )
        self.assertEqual(self.posts(), 1)
        self.assertEqual(self.server.statuses[500], 0)
        # reopened in Exact: a retry posts them
        with self.server._lock:
            self.server.journal_status.clear()
        january[0].exact_outbox_id.with_user(self.manager).action_retry()
        self.env.invalidate_all()
        self.assertEqual(january[0].exact_outbox_id.state, "sent")

    def test_line_with_two_taxes_is_refused_with_a_clear_error(self):
        second = self.tax21.copy({"name": "Second tax HIE", "amount": 9.0})
        move = self.make_invoice(post=False)
        move.invoice_line_ids.tax_ids = self.tax21 | second
        move.action_post()  # posting in Odoo is never blocked by the link
        self.process()
        self.assertEqual(move.exact_outbox_id.state, "error")
        self.assertIn("several taxes", move.exact_outbox_id.last_error)
        self.assertIn("Consultancy", move.exact_outbox_id.last_error)
        self.assertEqual(self.posts(), 0)

    def test_closed_four_weekly_period_is_found_by_its_dates(self):
        # Exact's 2025 in 13 periods of four weeks: 3 February lies in period 2
        start = dt.date(2025, 1, 1)
        self.server.set_financial_periods([
            (2025, n + 1, start + dt.timedelta(days=28 * n),
             start + dt.timedelta(days=28 * n + 27)) for n in range(13)
        ])
        self.addCleanup(self.server.set_financial_periods, [])
        self.server.close_period("70", 2025, 2)
        closed = self.make_invoice(date="2025-02-03")  # period 2 (29 January - 25 February)
        open_ = self.make_invoice(date="2025-02-27")  # period 3, although still February
        self.process()
        self.assertEqual(closed.exact_outbox_id.state, "error")
        self.assertIn("2/2025", closed.exact_outbox_id.last_error)
        self.assertEqual(open_.exact_outbox_id.state, "sent")
        self.assertEqual(self.posts(), 1)

    def test_missing_mapping_is_an_error_without_call(self):
        self.connection.mapping_ids.filtered(lambda m: m.kind == "tax").unlink()
        move = self.make_invoice()
        self.process()
        self.assertEqual(move.exact_outbox_id.state, "error")
        self.assertIn("BTW 21%", move.exact_outbox_id.last_error)
        self.assertEqual(self.posts(), 0)

    def test_timeout_after_store_is_looked_up_not_resent(self):
        move = self.make_invoice()
        # Odoo's test framework raises every timeout to 10 s: the server answers after 11 s.
        self.server.inject("timeout_after_store", method="POST", path="SalesEntries", delay=11)
        with patch.object(type(self.connection), "_get_timeout", lambda self: 10.0):
            report = self.process(limit=1)
        record = move.exact_outbox_id
        self.assertEqual(report.unknown, 1)
        self.assertEqual(record.state, "sending")
        self.assertIn("may or may not exist", record.last_error)
        self.assertEqual(len(self.server.sales_entries), 1)  # stored by Exact meanwhile
        report = self.process()
        self.assertEqual((report.recovered, report.posted, report.lookups), (1, 0, 1))
        self.assertEqual(record.state, "sent")
        self.assertEqual(record.remote_id, self.server.sales_entries[0]["EntryID"])
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)
        self.assertEqual(self.posts(), 1)

    def test_connection_reset_after_store(self):
        move = self.make_invoice()
        self.server.inject("reset_after_store", method="POST", path="SalesEntries")
        self.process(limit=1)
        self.assertEqual(move.exact_outbox_id.state, "sending")
        report = self.process()
        self.assertEqual((report.recovered, report.posted), (1, 0))
        self.assertEqual(move.exact_outbox_id.state, "sent")
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)

    def test_reset_before_store_is_posted_after_lookup(self):
        move = self.make_invoice()
        self.server.inject("reset_before_store", method="POST", path="SalesEntries")
        self.process(limit=1)
        self.assertEqual(move.exact_outbox_id.state, "sending")
        report = self.process()
        self.assertEqual((report.lookups, report.recovered, report.posted), (1, 0, 1))
        self.assertEqual(move.exact_outbox_id.state, "sent")
        self.assertEqual(self.server.entries_by_ref()[move.name], 1)

    def test_expired_access_token_refreshed_once(self):
        move = self.make_invoice()
        old_refresh = self.connection.exact_refresh_token
        self.server.clock.advance(600)  # Exact considers the access token expired
        self.process()
        self.assertEqual(move.exact_outbox_id.state, "sent")
        self.assertNotEqual(self.connection.exact_refresh_token, old_refresh)
        self.assertEqual(self.server.token_calls["refresh_token"], 1)

    def test_reconnect_needed_then_resume(self):
        move = self.make_invoice()
        # another party used the stored refresh token: the chain is broken
        self.server.clock.advance(600)
        answer = requests.post(self.server.base_url + "/api/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": self.connection.exact_refresh_token,
            "client_id": self.server.client_id, "client_secret": self.server.client_secret,
        }, timeout=10)
        self.assertEqual(answer.status_code, 200)
        self.server.revoke_access_tokens()
        report = self.process()
        self.assertTrue(report.reconnect_needed)
        self.assertEqual(self.connection.state, "reconnect_needed")
        self.assertIn("Old refresh token used", self.connection.last_error)
        self.assertEqual(move.exact_outbox_id.state, "reconnect_needed")
        self.assertEqual(self.server.sales_entries, [])
        activity = self.connection.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertTrue(activity.user_id.has_group("account.group_account_manager"))
        later = self.make_invoice(date="2025-03-01")
        self.assertEqual(later.exact_outbox_id.state, "reconnect_needed")
        with self.assertRaises(UserError):
            self.env["accounting.connection"]._get_for_company(self.company)
        # a new consent resumes everything
        self.connection.with_user(self.manager)._start_authorization()
        self.env["accounting.connection"].with_user(self.manager)._finish_authorization(
            self.connection.oauth_state, self.authorization_code(self.connection)
        )
        self.env.invalidate_all()
        self.assertEqual(self.connection.state, "connected")
        self.process()
        self.assertEqual(move.exact_outbox_id.state, "sent")
        self.assertEqual(later.exact_outbox_id.state, "sent")
        self.assertEqual(len(self.server.sales_entries), 2)

    def test_daily_budget_exhausted_stops_and_resumes(self):
        moves = [self.make_invoice(date=f"2025-01-{day:02d}") for day in (10, 11, 12)]
        # four calls left today: the relation look-up, Exact's financial periods and the
        # journal's closed periods (once per run each), one post
        self.server.daily_limit = 4 + self.server._usage[
            (str(DEFAULT_DIVISION), "d", int(self.server.clock.now() // 86400))
        ]
        report = self.process()
        self.assertTrue(report.stopped)
        states = [move.exact_outbox_id.state for move in moves]
        self.assertEqual(states.count("sent"), 1)
        self.assertEqual(states.count("to_send"), 2)
        statuses_429 = self.server.statuses[429]
        self.process()  # still exhausted: no call at all
        self.assertEqual(self.server.statuses[429], statuses_429)
        self.server.daily_limit = 5000
        self.server.clock.advance(86400)
        self.connection.sudo().write({"rl_daily_remaining": 5000})
        self.process()
        self.assertEqual({move.exact_outbox_id.state for move in moves}, {"sent"})
        self.assertEqual(len(self.server.sales_entries), 3)

    def test_cron_and_send_now(self):
        move = self.make_invoice()
        with self.assertRaises(AccessError):
            move.exact_outbox_id.with_user(self.accountant).action_send_now()
        self.env["accounting.outbox"]._cron_process()
        self.env.invalidate_all()
        self.assertEqual(move.exact_outbox_id.state, "sent")
        other = self.make_invoice(date="2025-01-20")
        other.exact_outbox_id.with_user(self.manager).action_send_now()
        self.env.invalidate_all()
        self.assertEqual(other.exact_outbox_id.state, "sent")

    def test_access_rights(self):
        connection = self.connection.with_user(self.accountant)
        self.assertEqual(connection.state, "connected")  # may read the state
        for secret in ("client_secret", "exact_refresh_token", "exact_access_token"):
            with self.assertRaises(AccessError):
                connection.read([secret])
        self.assertNotIn("client_secret", connection.fields_get())
        with self.assertRaises(AccessError):
            connection.write({"sync_start_date": "2020-01-01"})
        with self.assertRaises(AccessError):
            connection.action_process_outbox()
        move = self.make_invoice()
        record = move.exact_outbox_id.with_user(self.accountant)
        self.assertEqual(record.state, "to_send")  # may read the outbox
        with self.assertRaises(AccessError):
            record.write({"state": "sent"})
        self.assertEqual(self.connection.with_user(self.manager).client_secret,
                         self.server.client_secret)

    def test_multi_company_rule(self):
        company_b = self.env["res.company"].create({"name": "Company B"})
        user_b = self.env["res.users"].create({
            "name": "B", "login": "hie_exact_b", "company_id": company_b.id,
            "company_ids": [(6, 0, company_b.ids)],
            "groups_id": [(6, 0, [self.env.ref("account.group_account_manager").id,
                                  self.env.ref("base.group_user").id])],
        })
        self.make_invoice()
        self.assertFalse(self.env["accounting.connection"].with_user(user_b).search([]))
        self.assertFalse(self.env["accounting.outbox"].with_user(user_b).search([]))
        self.assertFalse(self.env["accounting.mapping"].with_user(user_b).search([]))
