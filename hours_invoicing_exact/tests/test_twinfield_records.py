# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What Twinfield said, on the records: warnings inside an accepted answer (accounting-apis.md
B3) kept on the outbox record, the invoice and the memorial entry, and told in their chatter;
cost centres (KPL, B6) on the detail lines; a customer created exactly once when the answer to
its creation is lost; messages that name the package the company books in."""

import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from hie_testing.twinfield_server import DEBTORS, OFFICE

from ..services.outbox import OutcomeUnknown
from .twinfield_common import TwinfieldCase

WARNING = "Let op: de relatie heeft een kredietlimiet."


@tagged("post_install", "-at_install")
class TestTwinfieldWarnings(TwinfieldCase):
    def test_invoice_warning_on_record_invoice_and_chatter(self):
        self.twf.warn(WARNING, code="VRK")
        move = self.make_invoice()
        quiet = self.make_invoice([(50.0, self.revenue2, self.tax9)])
        report = self.process()
        self.assertEqual(report.posted, 2, report.stopped)
        record = self.outbox(move)
        self.assertEqual(record.state, "sent", "a warning does not stop the transaction")
        self.assertEqual(record.warning, WARNING)
        self.assertEqual(move.hie_sync_warning, WARNING)
        self.assertEqual(move.hie_sync_package, "Twinfield")
        self.assertFalse(self.outbox(quiet).warning)
        self.assertFalse(quiet.hie_sync_warning)
        bodies = move.message_ids.mapped("body")
        self.assertTrue(any(WARNING in body and "Twinfield" in body for body in bodies), bodies)
        self.assertFalse(any(WARNING in body for body in quiet.message_ids.mapped("body")))
        self.assertEqual(len(self.twf.transactions), 2)

    def test_twinfields_own_warning_due_date_before_invoice_date(self):
        move = self.make_invoice(post=False)
        move.invoice_date_due = "2025-01-10"  # before the invoice date: Twinfield warns
        move.action_post()
        self.process()
        record = self.outbox(move)
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertIn("Vervaldatum ligt voor de factuurdatum", record.warning)
        self.assertIn("Vervaldatum", move.hie_sync_warning)

    def test_memorial_entry_warning(self):
        journal = self.env["account.journal"].create({
            "name": "HIE Twinfield warning sales", "code": "HIETW", "type": "sale",
            "company_id": self.company.id,
        })
        self.company.write({
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(journal.ids)],
            "hie_period_vat_mode": "vat_journal",
        })
        receivable = self.customer.with_company(self.company).property_account_receivable_id
        vat21 = self.tax21.invoice_repartition_line_ids.account_id
        for account, code in ((receivable, DEBTORS), (vat21, "1500")):
            reference = self.connection.reference_ids.filtered(
                lambda r, c=code: r.kind == "gl_account" and r.code == c)
            mapping = self.connection._get_mapping("account", account)
            if mapping:
                mapping.reference_id = reference
            else:
                self.env["accounting.mapping"].create({
                    "connection_id": self.connection.id, "kind": "account",
                    "account_id": account.id, "reference_id": reference.id,
                })
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2025-01-20", "journal_id": journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Werk", "quantity": 1, "price_unit": 100.0,
                "account_id": self.revenue.id, "tax_ids": [Command.set(self.tax21.ids)],
            })],
        })
        move.action_post()
        self.twf.warn("Boekdatum ligt in een afgesloten btw-periode.", code="MEMO")
        entry = self.env["accounting.period.entry"]._run_company(
            self.company, dt.date(2025, 2, 15))
        self.assertEqual(entry.state, "sent", entry.error)
        self.assertIn("afgesloten btw-periode", entry.sync_warning)
        self.assertTrue(any("afgesloten btw-periode" in body
                            for body in entry.message_ids.mapped("body")))


@tagged("post_install", "-at_install")
class TestTwinfieldCostCentres(TwinfieldCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        plan = cls.env["account.analytic.plan"].create({"name": "Kostenplaatsen HIE"})
        cls.analytic = cls.env["account.analytic.account"].create({
            "name": "Project Kostenplaats A", "code": "100", "plan_id": plan.id,
            "company_id": cls.company.id,
        })
        cls.unmapped = cls.env["account.analytic.account"].create({
            "name": "Project zonder kostenplaats", "code": "ZZZ", "plan_id": plan.id,
            "company_id": cls.company.id,
        })
        cls.company.hie_twf_cost_centre_dim = "dim2"
        cls.connection.action_refresh_reference_data()  # reads KPL, maps analytic by code

    def invoice_with_analytic(self, distributions):
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2025-01-15", "journal_id": self.journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Werk", "quantity": 1, "price_unit": price,
                "account_id": self.revenue.id, "tax_ids": [Command.set(self.tax21.ids)],
                "analytic_distribution": distribution,
            }) for price, distribution in distributions],
        })
        move.action_post()
        return move

    def details(self, transaction):
        return sorted(((line["dim1"], line["dim2"], line["dim3"], line["signed"])
                       for line in transaction["lines"] if line["type"] == "detail"),
                      key=str)

    def test_analytic_account_auto_mapped_to_the_cost_centre(self):
        mapping = self.connection._get_mapping("analytic", self.analytic)
        self.assertEqual(mapping.reference_id.code, "100")
        self.assertEqual(mapping.reference_id.kind, "cost_centre")
        self.assertFalse(self.connection._get_mapping("analytic", self.unmapped))

    def test_detail_lines_carry_the_cost_centre_to_the_cent(self):
        move = self.invoice_with_analytic([
            (100.0, {str(self.analytic.id): 100}),
            (33.33, {str(self.analytic.id): 60, str(self.unmapped.id): 40}),
            (10.0, False),
        ])
        self.process()
        record = self.outbox(move)
        self.assertEqual(record.state, "sent", record.last_error)
        (transaction,) = self.twf.transactions
        details = self.details(transaction)
        with_centre = sum(amount for dim1, dim2, _dim3, amount in details if dim2 == "100")
        self.assertEqual(float(-with_centre), round(100.0 + 33.33 * 0.6, 2))
        self.assertEqual(float(-sum(line[3] for line in details)), move.amount_untaxed)
        self.assertEqual(-self.twf.vat_of(transaction), Decimal(str(round(move.amount_tax, 2))))
        self.assertEqual({line[2] for line in details}, {None})

    def test_cost_centre_on_dimension_3(self):
        self.company.hie_twf_cost_centre_dim = "dim3"
        self.twf.cost_centre_dim = "dim3"
        self.invoice_with_analytic([(100.0, {str(self.analytic.id): 100})])
        self.process()
        (transaction,) = self.twf.transactions
        self.assertEqual([(d[1], d[2]) for d in self.details(transaction)], [(None, "100")])

    def test_no_cost_centres_without_the_setting(self):
        self.company.hie_twf_cost_centre_dim = False
        self.invoice_with_analytic([(100.0, {str(self.analytic.id): 100})])
        self.process()
        (transaction,) = self.twf.transactions
        self.assertEqual([(d[1], d[2]) for d in self.details(transaction)], [(None, None)])

    def test_memorial_entry_lines_per_cost_centre(self):
        journal = self.env["account.journal"].create({
            "name": "HIE Twinfield cost centre sales", "code": "HIETK", "type": "sale",
            "company_id": self.company.id,
        })
        self.company.write({
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(journal.ids)],
            "hie_period_vat_mode": "vat_journal",
        })
        receivable = self.customer.with_company(self.company).property_account_receivable_id
        vat21 = self.tax21.invoice_repartition_line_ids.account_id
        for account, code in ((receivable, DEBTORS), (vat21, "1500")):
            reference = self.connection.reference_ids.filtered(
                lambda r, c=code: r.kind == "gl_account" and r.code == c)
            mapping = self.connection._get_mapping("account", account)
            if mapping:
                mapping.reference_id = reference
            else:
                self.env["accounting.mapping"].create({
                    "connection_id": self.connection.id, "kind": "account",
                    "account_id": account.id, "reference_id": reference.id,
                })
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": self.customer.id,
            "invoice_date": "2025-01-20", "journal_id": journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Werk", "quantity": 1, "price_unit": price,
                "account_id": self.revenue.id, "tax_ids": [Command.set(self.tax21.ids)],
                "analytic_distribution": distribution,
            }) for price, distribution in (
                (100.0, {str(self.analytic.id): 100}),
                (33.33, {str(self.analytic.id): 60, str(self.unmapped.id): 40}),
                (10.0, False),
            )],
        })
        move.action_post()
        Entry = self.env["accounting.period.entry"]
        entry = Entry._run_company(self.company, dt.date(2025, 2, 15))
        self.assertEqual(entry.state, "sent", entry.error)
        (memo,) = [t for t in self.twf.transactions if t["code"] == "MEMO"]
        revenue = [(line["dim2"], line["signed"]) for line in memo["lines"]
                   if line["dim1"] == "8000"]
        self.assertEqual(sorted(revenue, key=str), [
            ("100", Decimal("-120.00")), (None, Decimal("-23.33"))])
        self.assertEqual(sum(amount for _dim2, amount in revenue),
                         -Decimal(str(move.amount_untaxed)))
        self.assertEqual(-self.twf.vat_of(memo), Decimal(str(round(move.amount_tax, 2))))
        self.assertEqual(entry.line_ids.filtered("analytic_id").analytic_id, self.analytic)
        # sent once; a later run finds nothing changed, cost centre lines included
        self.assertFalse(Entry._run_company(self.company, dt.date(2025, 2, 16)))
        self.assertEqual(len([t for t in self.twf.transactions if t["code"] == "MEMO"]), 1)

    def test_cost_centre_unknown_to_twinfield_refused_on_the_record(self):
        with self.twf._lock:
            del self.twf.dimensions[(OFFICE, "KPL", "100")]
        move = self.invoice_with_analytic([(100.0, {str(self.analytic.id): 100})])
        self.process()
        record = self.outbox(move)
        self.assertEqual(record.state, "error")
        self.assertIn("Kostenplaats 100 bestaat niet", record.last_error)
        self.assertEqual(self.twf.transactions, [])


@tagged("post_install", "-at_install")
class TestTwinfieldCustomerOnce(TwinfieldCase):
    def new_partner(self, name):
        return self.env["res.partner"].create({"name": name, "is_company": True})

    def test_lost_answer_to_customer_creation_creates_it_once(self):
        partner = self.new_partner("Naamloos Bouwbedrijf")  # no VAT, KvK nor reference
        move = self.make_invoice(partner=partner)
        # the customer dimension is stored, its answer lost (the first write of the run)
        # (Odoo's tests raise request timeouts to 10 s at least: the answer comes after 11)
        self.twf.inject("timeout_after_store", target="write", delay=11.0)
        with patch.object(type(self.connection), "_get_timeout", lambda self: 10.0):
            report = self.process()
        self.assertGreaterEqual(report.unknown, 1, "the answer was lost")
        record = self.outbox(move)
        self.assertEqual(record.state, "sent", (record.last_error, report.stopped))
        codes = self.twf.customers_named("Naamloos Bouwbedrijf")
        self.assertEqual(len(codes), 1, codes)
        mapping = self.connection._get_mapping("partner", partner)
        self.assertEqual((mapping.remote_id, mapping.remote_code), (codes[0], codes[0]))
        (total,) = [line for line in self.twf.transactions[0]["lines"]
                    if line["type"] == "total"]
        self.assertEqual(total["dim2"], codes[0])
        self.assertEqual(self.twf.transactions_by_invoice()[move.name], 1)

    def test_lost_answer_then_a_later_run_records_the_reserved_customer(self):
        partner = self.new_partner("Naamloos Schildersbedrijf")
        connection = self.connection
        self.twf.inject("timeout_after_store", target="write", delay=11.0)
        # (no assertRaises: its savepoint would undo the reservation, which in production is
        # committed in a transaction of its own and shares the test's transaction here)
        raised = None
        with patch.object(type(connection), "_get_timeout", lambda self: 10.0):
            try:
                connection._twinfield_customer_code(
                    partner, connection._get_twinfield_client(), {})
            except OutcomeUnknown as exc:
                raised = exc
        self.assertIsInstance(raised, OutcomeUnknown)
        # stored in Twinfield, its answer lost: the code was reserved (committed) before
        mapping = connection._get_mapping("partner", partner)
        self.assertTrue(mapping.remote_code)
        self.assertFalse(mapping.remote_id, "reserved, not known to exist")
        self.assertEqual(self.twf.customers_named("Naamloos Schildersbedrijf"),
                         [mapping.remote_code])
        # a later run (its own list of customers) records it instead of creating another
        writes = self.twf.calls["write"]
        code = connection._twinfield_customer_code(
            partner, connection._get_twinfield_client(), {})
        self.assertEqual(code, mapping.remote_code)
        self.assertEqual(self.twf.calls["write"], writes, "no second creation")
        self.assertEqual(self.twf.customers_named("Naamloos Schildersbedrijf"), [code])
        mapping.invalidate_recordset()
        self.assertEqual(mapping.remote_id, code)
        # a reserved code Twinfield does not have (the call never arrived) is created then
        other = self.new_partner("Naamloos Dakdekkersbedrijf")
        self.env["accounting.mapping"].create({
            "connection_id": connection.id, "kind": "partner", "partner_id": other.id,
            "remote_code": "4711",
        })
        self.assertEqual(connection._twinfield_customer_code(
            other, connection._get_twinfield_client(), {}), "4711")
        self.assertEqual(self.twf.customers_named("Naamloos Dakdekkersbedrijf"), ["4711"])

    def test_lost_answer_in_a_memorial_run_creates_the_customer_once(self):
        journal = self.env["account.journal"].create({
            "name": "HIE Twinfield once sales", "code": "HIETO", "type": "sale",
            "company_id": self.company.id,
        })
        self.company.write({
            "hie_period_sync_mode": "month",
            "hie_period_sync_journal_ids": [Command.set(journal.ids)],
            "hie_period_vat_mode": "vat_journal",
        })
        partner = self.new_partner("Naamloos Loodgietersbedrijf")
        receivable = partner.with_company(self.company).property_account_receivable_id
        vat21 = self.tax21.invoice_repartition_line_ids.account_id
        for account, code in ((receivable, DEBTORS), (vat21, "1500")):
            reference = self.connection.reference_ids.filtered(
                lambda r, c=code: r.kind == "gl_account" and r.code == c)
            mapping = self.connection._get_mapping("account", account)
            if mapping:
                mapping.reference_id = reference
            else:
                self.env["accounting.mapping"].create({
                    "connection_id": self.connection.id, "kind": "account",
                    "account_id": account.id, "reference_id": reference.id,
                })
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": partner.id,
            "invoice_date": "2025-01-20", "journal_id": journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Werk", "quantity": 1, "price_unit": 250.0,
                "account_id": self.revenue.id, "tax_ids": [Command.set(self.tax21.ids)],
            })],
        })
        move.action_post()
        Entry = self.env["accounting.period.entry"]
        self.twf.inject("timeout_after_store", target="write", delay=11.0)
        with patch.object(type(self.connection), "_get_timeout", lambda self: 10.0):
            failed = Entry._run_company(self.company, dt.date(2025, 2, 15))
        self.assertEqual(failed.state, "error")
        self.assertIn("Naamloos Loodgietersbedrijf", failed.error)
        self.assertEqual(len(self.twf.customers_named("Naamloos Loodgietersbedrijf")), 1)
        self.assertFalse([t for t in self.twf.transactions if t["code"] == "MEMO"])
        # the next run builds the month again and records the customer created before
        entry = Entry._run_company(self.company, dt.date(2025, 2, 16))
        self.assertEqual(entry.state, "sent", entry.error)
        (code,) = self.twf.customers_named("Naamloos Loodgietersbedrijf")
        (memo,) = [t for t in self.twf.transactions if t["code"] == "MEMO"]
        self.assertEqual({line["dim2"] for line in memo["lines"] if line["dim1"] == DEBTORS},
                         {code})

    def test_reserved_code_taken_by_another_customer_is_a_clear_error(self):
        partner = self.new_partner("Naamloos Installatiebedrijf")
        self.env["accounting.mapping"].create({
            "connection_id": self.connection.id, "kind": "partner",
            "partner_id": partner.id, "remote_code": "1001",  # Tweede Klant BV's code
        })
        move = self.make_invoice(partner=partner)
        self.process()
        record = self.outbox(move)
        self.assertEqual(record.state, "error")
        self.assertIn("1001", record.last_error)
        self.assertIn("Tweede Klant BV", record.last_error)
        self.assertEqual(self.twf.customers_named("Naamloos Installatiebedrijf"), [])

    def test_invalid_vat_number_names_twinfield(self):
        # an invalid VAT number stored past base_vat's check (imported data)
        partner = self.env["res.partner"].with_context(no_vat_validation=True).create({
            "name": "Foutief BV", "is_company": True, "vat": "NL123456789B99",
            "country_id": self.env.ref("base.nl").id,
        })
        move = self.make_invoice(partner=partner)
        self.process()
        record = self.outbox(move)
        self.assertEqual(record.state, "error")
        self.assertIn("sent to Twinfield", record.last_error)
        self.assertNotIn("Exact", record.last_error)
        self.assertEqual(self.twf.calls["write"], 0)
