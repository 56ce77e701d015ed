# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import time
from decimal import Decimal
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from hie_testing.twinfield_server import CUSTOMER, OFFICE

from .twinfield_common import TwinfieldCase


def _cents(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


@tagged("post_install", "-at_install")
class TestTwinfieldSetup(TwinfieldCase):
    def test_office_choice_and_auto_match(self):
        offices = self.connection.reference_ids.filtered(lambda ref: ref.kind == "office")
        self.assertEqual(offices.mapped("code"), [OFFICE])
        self.assertEqual(self.connection.twf_office, OFFICE)
        self.assertTrue(self.connection._is_ready_to_sync())
        # codes kept as text, leading zeros included
        gl_codes = self.connection.reference_ids.filtered(
            lambda ref: ref.kind == "gl_account").mapped("code")
        self.assertIn("0110", gl_codes)
        self.assertEqual(self.connection._twinfield_code("account", self.revenue), "8000")
        self.assertEqual(self.connection._twinfield_code("tax", self.tax21), "VH")
        self.assertEqual(self.connection._twinfield_code("tax", self.tax9), "VL")
        self.assertEqual(self.connection._twinfield_code("journal", self.journal), "VRK")

    def test_get_for_company_needs_the_office(self):
        Connection = self.env["accounting.connection"]
        self.assertEqual(Connection._get_for_company(self.company, "twinfield"), self.connection)
        self.connection.twf_office_choice_id = False
        self.connection.twf_office = False
        with self.assertRaisesRegex(UserError, "Twinfield office"):
            Connection._get_for_company(self.company, "twinfield")

    def test_plain_user_sees_no_secret_nor_token(self):
        connection = self.connection.with_user(self.accountant)
        for field in ("client_secret", "twf_access_token", "twf_refresh_token", "twf_nonce"):
            with self.assertRaises(AccessError, msg=field):
                connection.read([field])
        self.assertEqual(connection.read(["twf_office"])[0]["twf_office"], OFFICE)
        self.assertTrue(self.connection.with_user(self.manager).twf_refresh_token)
        with self.assertRaises(AccessError):
            self.env["accounting.credit.budget"].with_user(self.accountant).search([])

    def test_credits_counted_in_the_database(self):
        budget = self.env["accounting.credit.budget"].search(
            [("key", "like", "twinfield/%")])
        self.assertEqual(len(budget), 1)
        before = budget.used
        self.connection.action_twinfield_load_offices()  # one read: 1 credit
        budget.invalidate_recordset()
        self.assertEqual(budget.used, before + 1)


@tagged("post_install", "-at_install")
class TestTwinfieldSync(TwinfieldCase):
    def test_invoice_sent_with_its_number_vat_to_the_cent(self):
        move = self.make_invoice([
            (10.05, self.revenue, self.tax21), (20.15, self.revenue, self.tax21),
            (33.33, self.revenue2, self.tax21), (7.77, self.revenue2, self.tax9),
            (0.35, self.revenue, self.tax9),
        ])
        record = self.outbox(move)
        self.assertEqual(record.state, "to_send")
        report = self.process()
        self.assertEqual(report.posted, 1, report.stopped)
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(self.twf.transactions_by_invoice()[move.name], 1)
        (transaction,) = self.twf.transactions
        self.assertEqual(record.remote_number, transaction["number"])
        self.assertEqual(record.remote_id, f"{OFFICE}/VRK/{transaction['number']}")
        self.assertEqual(move.hie_exact_sync_state, "sent")
        # Twinfield's VAT and total equal Odoo's to the cent
        self.assertEqual(-self.twf.vat_of(transaction), _cents(move.amount_tax))
        (total,) = [line for line in transaction["lines"] if line["type"] == "total"]
        self.assertEqual(total["signed"], _cents(move.amount_total))
        self.assertEqual(total["dim2"], CUSTOMER)
        for tax, code in ((self.tax21, "VH"), (self.tax9, "VL")):
            odoo_vat = sum(move.line_ids.filtered(lambda aml, t=tax: aml.tax_line_id == t)
                           .mapped("balance"))
            twf_vat = sum(line["signed"] for line in transaction["lines"]
                          if line["type"] == "vat" and line["vatcode"] == code)
            self.assertEqual(twf_vat, _cents(odoo_vat), code)
        # sent once: a new run sends nothing
        self.assertEqual(self.process().posted, 0)
        self.assertEqual(len(self.twf.transactions), 1)

    def test_credit_note(self):
        refund = self.make_invoice([(99.99, self.revenue, self.tax21)], move_type="out_refund")
        self.process()
        record = self.outbox(refund)
        self.assertEqual(record.state, "sent", record.last_error)
        (transaction,) = self.twf.transactions
        (total,) = [line for line in transaction["lines"] if line["type"] == "total"]
        self.assertEqual(total["signed"], -_cents(refund.amount_total))
        self.assertEqual(self.twf.vat_of(transaction), _cents(refund.amount_tax))

    def test_several_invoices_in_one_call(self):
        moves = self.make_invoice() | self.make_invoice([(12.34, self.revenue2, self.tax9)])
        self.process()
        self.assertEqual(set(self.twf.transactions_by_invoice()), set(moves.mapped("name")))
        self.assertEqual(self.twf.calls["write"], 1)

    def test_error_in_twinfields_words_on_the_record(self):
        self.env["accounting.mapping"].create({
            "connection_id": self.connection.id, "kind": "partner",
            "partner_id": self.customer.id, "remote_id": "9999", "remote_code": "9999",
        })
        good_partner = self.env["res.partner"].create({
            "name": "Tweede Klant BV", "is_company": True, "ref": "1001",
        })
        bad = self.make_invoice()
        good = self.make_invoice(partner=good_partner)
        report = self.process()
        self.assertEqual((report.posted, report.rejected), (1, 1))
        self.assertEqual(self.outbox(bad).state, "error")
        self.assertIn("Debiteur 9999 bestaat niet", self.outbox(bad).last_error)
        self.assertEqual(self.outbox(good).state, "sent")
        self.assertEqual(list(self.twf.transactions_by_invoice()), [good.name])

    def test_customer_created_when_missing(self):
        partner = self.env["res.partner"].create({
            "name": "Nieuwe Klant BV", "is_company": True, "vat": "NL004495445B01",
            "company_registry": "87654321", "country_id": self.env.ref("base.nl").id,
        })
        first = self.make_invoice(partner=partner)
        self.process()
        self.assertEqual(self.outbox(first).state, "sent", self.outbox(first).last_error)
        created = [dim for (office, dimtype, code), dim in self.twf.dimensions.items()
                   if dimtype == "DEB" and dim["name"] == "Nieuwe Klant BV"]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["vatnumber"], "NL004495445B01")
        self.assertEqual(created[0]["cocnumber"], "87654321")
        mapping = self.connection._get_mapping("partner", partner)
        self.assertEqual(mapping.remote_id, created[0]["code"])
        # known now: a second invoice creates nothing
        self.make_invoice(partner=partner)
        self.process()
        self.assertEqual(len(self.twf.transactions), 2)
        self.assertEqual(len([key for key in self.twf.dimensions if key[1] == "DEB"]),
                         len([key for key in self.twf_seed if key[1] == "DEB"]) + 1)

    def test_invalid_vat_refused_before_any_call(self):
        partner = self.env["res.partner"].create({
            "name": "Foute Klant BV", "is_company": True,
            "country_id": self.env.ref("base.nl").id,
        })
        # stored as typed past base_vat's check (imported or typed before the check)
        partner.with_context(no_vat_validation=True).vat = "NL123456789B01"
        move = self.make_invoice(partner=partner)
        self.process()
        self.assertEqual(self.outbox(move).state, "error")
        self.assertIn("NL123456789B01", self.outbox(move).last_error)
        self.assertEqual(self.twf.calls["write"], 0)

    def test_refused_refresh_means_reconnect_needed(self):
        move = self.make_invoice()
        self.twf.revoke_refresh_tokens()
        self.connection.sudo().write({"twf_token_expires_at": 0.0})
        report = self.process()
        self.assertTrue(report.reconnect_needed, report.stopped)
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "reconnect_needed")
        self.assertEqual(self.outbox(move).state, "reconnect_needed")
        activity = self.connection.activity_ids
        self.assertEqual(activity.summary, "Reconnect to Twinfield")
        self.assertFalse(self.twf.transactions)

    def test_token_refreshed_shortly_before_expiry(self):
        """Refreshed under the row lock; the reusable refresh token is kept."""
        refresh = self.connection.twf_refresh_token
        old = self.connection.twf_access_token
        self.connection.sudo().write({"twf_token_expires_at": time.time() + 10})
        move = self.make_invoice()
        self.process()
        self.connection.invalidate_recordset()
        self.assertEqual(self.outbox(move).state, "sent", self.outbox(move).last_error)
        self.assertNotEqual(self.connection.twf_access_token, old)
        self.assertEqual(self.connection.twf_refresh_token, refresh)
        self.assertGreater(self.connection.twf_token_expires_at, time.time() + 3000)
        self.assertEqual(self.twf.calls["token"], 1)

    def test_closed_period_refused_without_a_write(self):
        self.twf.close_period("2025/01")
        move = self.make_invoice()
        self.process()
        self.assertEqual(self.outbox(move).state, "error")
        self.assertIn("2025/01", self.outbox(move).last_error)
        self.assertEqual(self.twf.calls["write"], 0)

    def test_credit_budget_shared_through_the_database(self):
        """Another worker recorded a 429 spell in the shared budget: this run waits for
        nothing it may not, stops before any call and loses nothing."""
        move = self.make_invoice()
        budget = self.env["accounting.credit.budget"].search([("key", "like", "twinfield/%")])
        budget.write({"blocked_until": time.time() + 120})
        calls = sum(self.twf.calls.values())
        Connection = type(self.connection)
        with patch.object(Connection, "_get_twinfield_max_wait", lambda self: 5.0):
            report = self.process()
        self.assertIn("fair-use", report.stopped or "")
        self.assertGreater(report.resume_at, time.time() + 60)
        self.assertEqual(self.outbox(move).state, "to_send")
        self.assertEqual(sum(self.twf.calls.values()), calls)
        budget.write({"blocked_until": 0.0})
        self.process()
        self.assertEqual(self.outbox(move).state, "sent")
