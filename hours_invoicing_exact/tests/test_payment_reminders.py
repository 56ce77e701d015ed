# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Payment reminders on account_credit_control, extended: levels 7/21/35 days after the due
date, one e-mail per customer listing its overdue invoices with their PDFs, in the customer's
language, the statutory collection costs text on the final notice, a text message through
Odoo's SMS service (a local server standing in for it), excluded partners, a chatter note on
every invoice, the preview, the overview - and no reminder for an invoice paid in Exact."""

import datetime
import threading
from contextlib import contextmanager

from freezegun import freeze_time

from odoo import Command
from odoo.tests import TransactionCase, tagged

from hie_testing.sms_server import SmsServer

from .exact_common import ExactCase

WIK_EN = "statutory compensation for collection costs"
WIK_NL = "wettelijke vergoeding voor incassokosten"


class ReminderMixin:
    @classmethod
    def setup_reminders(cls):
        cls.env["res.lang"]._activate_lang("nl_NL")
        # the addon's Dutch terms (mail template, level texts) as when Dutch is installed
        cls.env["ir.module.module"].search(
            [("name", "=", "hours_invoicing_exact")])._update_translations("nl_NL")
        cls.receivable = cls.env["res.partner"].with_company(
            cls.company).new({}).property_account_receivable_id
        template = cls.env.ref("hours_invoicing_exact.mail_template_payment_reminder")

        def level(number, name, days, **extra):
            return Command.create({
                "name": name, "level": number, "computation_mode": "net_days",
                "delay_days": days, "channel": "email", "email_template_id": template.id,
                "custom_text": name, "custom_mail_text": f"<p>{name}: please pay.</p>",
                "mail_show_invoice_detail": True, **extra})

        cls.policy = cls.env["credit.control.policy"].create({
            "name": "Herinneringen", "company_id": cls.company.id,
            "account_ids": [Command.set(cls.receivable.ids)],
            "level_ids": [
                level(1, "Friendly reminder", 7),
                level(2, "Second reminder", 21, hie_attach_invoices=False),
                level(3, "Final notice", 35, hie_attach_invoices=False,
                      hie_collection_costs=True, hie_send_sms=True),
            ],
        })
        cls.final = cls.policy.level_ids.filtered(lambda lvl: lvl.level == 3)
        cls.final.write({
            "hie_collection_costs_text": cls.final._hie_default_collection_costs_text(),
            "hie_sms_body": cls.final._hie_default_sms_body()})
        cls.final.with_context(lang="nl_NL").write({
            "hie_collection_costs_text": "Betaalt u niet binnen 14 dagen, dan brengen wij de "
            "wettelijke vergoeding voor incassokosten in rekening.",
            "hie_sms_body": "Herinnering van {company}: {count} facturen, samen {amount}, "
            "zijn over de vervaldatum.",
        })
        cls.company.credit_policy_id = cls.policy

    def run_reminders(self, date, send=True):
        run = self.env["credit.control.run"].create({
            "date": date, "policy_ids": [Command.set(self.policy.ids)],
            "company_id": self.company.id})
        with freeze_time(date):
            run.generate_credit_lines()
            if send:
                run.set_to_ready_lines()
                run.run_channel_action()
        self.env.invalidate_all()
        return run

    def reminder_mails(self, run):
        communications = run.line_ids.communication_id
        return self.env["mail.mail"].search([
            ("model", "=", "credit.control.communication"),
            ("res_id", "in", communications.ids)])

    def chatter_notes(self, invoice):
        return invoice.message_ids.filtered(lambda m: "Payment reminder" in (m.body or ""))


@contextmanager
def odoo_sms_service(server, env):
    """Point Odoo's ``sms`` module at ``server`` (system parameter ``sms.endpoint``) and lift
    the test guard of ``iap_jsonrpc`` (it refuses any IAP call in a test thread), so that the
    real JSON-RPC request goes to the local server."""
    env["ir.config_parameter"].sudo().set_param("sms.endpoint", server.endpoint)
    thread = threading.current_thread()
    previous = getattr(thread, "testing", False)
    thread.testing = False
    try:
        yield
    finally:
        thread.testing = previous


@tagged("post_install", "-at_install")
class TestPaymentReminders(ReminderMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.email = "debiteuren@example.nl"
        cls.setup_reminders()
        cls.sms = SmsServer().start()
        cls.addClassCleanup(cls.sms.stop)
        cls.income = cls.env["account.account"].search([
            ("account_type", "=", "income"), ("company_ids", "in", cls.company.id)], limit=1)
        cls.tax21 = cls.env["account.chart.template"].with_company(cls.company).ref("btw_21")
        Partner = cls.env["res.partner"]
        cls.klant_nl = Partner.create({
            "name": "Bouwbedrijf Jansen BV", "is_company": True, "lang": "nl_NL",
            "email": "admin@jansen.example", "mobile": "+31612345678"})
        cls.klant_en = Partner.create({
            "name": "Acme Ltd", "is_company": True, "lang": "en_US",
            "email": "ap@acme.example"})
        cls.excluded = Partner.create({
            "name": "Gemeente Voorbeeld", "is_company": True, "email": "f@gemeente.example",
            "hie_no_payment_reminders": True})

    def setUp(self):
        super().setUp()
        self.sms.sent.clear()
        self.sms.requests.clear()

    def invoice(self, partner, due, amount=100.0):
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": partner.id,
            "invoice_date": "2025-01-01", "invoice_date_due": due,
            "invoice_line_ids": [Command.create({
                "name": "Onderhoud", "quantity": 1, "price_unit": amount,
                "account_id": self.income.id, "tax_ids": [Command.set(self.tax21.ids)]})],
        })
        move.action_post()
        return move

    def test_levels_one_mail_per_customer_sms_and_notes(self):
        nl1 = self.invoice(self.klant_nl, "2025-01-31", 100)
        nl2 = self.invoice(self.klant_nl, "2025-01-31", 200)
        en1 = self.invoice(self.klant_en, "2025-02-05", 50)
        excluded = self.invoice(self.excluded, "2025-01-31")
        paid = self.invoice(self.klant_nl, "2025-01-31", 10)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=paid.ids).create({})._create_payments()
        self.assertIn(paid.payment_state, ("paid", "in_payment"))

        # 6 days after the due date: nothing yet
        self.assertFalse(self.run_reminders("2025-02-06").line_ids)

        # 7 days: the friendly reminder; preview first, nothing sent
        run = self.run_reminders("2025-02-07", send=False)
        self.assertEqual(run.line_ids.invoice_id, nl1 | nl2)
        self.assertEqual(set(run.line_ids.mapped("state")), {"draft"})
        rows = run._hie_preview_rows()
        self.assertEqual([(r["partner"], r["level"].level, len(r["lines"])) for r in rows],
                         [(self.klant_nl, 1, 2)])
        self.assertIn(nl1.name, run.hie_preview)
        self.assertIn("Bouwbedrijf Jansen BV", run.hie_preview)
        self.assertFalse(self.reminder_mails(run))
        run.set_to_ready_lines()
        run.run_channel_action()
        mails = self.reminder_mails(run)
        self.assertEqual(len(mails), 1)  # one e-mail for the customer, both invoices in it
        self.assertEqual(mails.recipient_ids, self.klant_nl)
        self.assertIn(nl1.name, mails.body_html)
        self.assertIn(nl2.name, mails.body_html)
        self.assertNotIn(paid.name, mails.body_html)
        self.assertEqual(len(mails.attachment_ids), 2)  # the invoice PDFs
        self.assertEqual(len(self.chatter_notes(nl1)), 1)
        self.assertEqual(len(self.chatter_notes(nl2)), 1)
        self.assertFalse(self.chatter_notes(excluded) | self.chatter_notes(paid))
        self.assertEqual((nl1 | nl2).mapped("hie_reminder_level"), [1, 1])

        # 21 days: second reminder for the Dutch customer, first for the English one
        run = self.run_reminders("2025-02-21")
        levels = {(line.partner_id, line.level) for line in run.line_ids}
        self.assertEqual(levels, {(self.klant_nl, 2), (self.klant_en, 1)})
        self.assertEqual(len(self.reminder_mails(run)), 2)

        # 35 days: final notice with the collection costs text in Dutch, and a text message
        with odoo_sms_service(self.sms, self.env):
            run = self.run_reminders("2025-03-07")
        self.assertEqual({(line.partner_id, line.level) for line in run.line_ids},
                         {(self.klant_nl, 3), (self.klant_en, 2)})
        mails = self.reminder_mails(run)
        self.assertEqual(len(mails), 2)
        mail = mails.filtered(lambda m: m.recipient_ids == self.klant_nl)
        self.assertIn(WIK_NL, mail.body_html)
        self.assertNotIn(WIK_EN, mail.body_html)
        self.assertIn("Beste Bouwbedrijf Jansen BV", mail.body_html)  # template in Dutch
        self.assertIn("betalingsherinnering", mail.subject)
        self.assertEqual(len(self.sms.sent), 1)
        self.assertEqual(self.sms.sent[0]["number"], "+31612345678")
        self.assertIn("2 facturen", self.sms.sent[0]["content"])
        self.assertIn(self.company.name, self.sms.sent[0]["content"])
        self.assertEqual(len(self.chatter_notes(nl1)), 4)  # 3 e-mails and 1 text message
        self.assertFalse(self.chatter_notes(en1).filtered(lambda m: "Final" in m.body))

        # overview: overdue and open, by customer and reminder level
        with freeze_time("2025-03-07"):
            overdue = self.env["account.move"].search([("hie_is_overdue_open", "=", True)])
            self.assertEqual(overdue & (nl1 | nl2 | en1 | excluded | paid),
                             nl1 | nl2 | en1 | excluded)
            groups = self.env["account.move"].read_group(
                [("hie_is_overdue_open", "=", True), ("id", "in", (nl1 | nl2 | en1).ids)],
                ["hie_open_amount:sum"], ["partner_id", "hie_reminder_level"], lazy=False)
        by_key = {(g["partner_id"][0], g["hie_reminder_level"]): g["hie_open_amount"]
                  for g in groups}
        self.assertEqual(by_key, {(self.klant_nl.id, 3): 363.0, (self.klant_en.id, 2): 60.5})

    def test_memorial_mode_invoice_gets_no_reminder(self):
        """Per-month memorial entries carry period totals: whether an invoice is paid in the
        package cannot be read, so it is never reminded automatically."""
        invoice = self.invoice(self.klant_en, "2025-01-01")
        journal = invoice.journal_id
        self.assertEqual(invoice._hie_is_open_for_reminders(), invoice)
        self.company.write({"hie_period_sync_mode": "month",
                            "hie_period_sync_journal_ids": [Command.set(journal.ids)]})
        self.assertEqual(invoice._hie_is_open_for_reminders(), invoice)  # no connection
        self.env["accounting.connection"].create({"company_id": self.company.id,
                                                  "sync_start_date": "2024-01-01"})
        self.assertFalse(invoice._hie_is_open_for_reminders())
        run = self.run_reminders("2025-01-10", send=False)
        self.assertNotIn(invoice, run.line_ids.invoice_id)

    def test_standard_policy_in_dutch_and_english(self):
        policy = self.env["credit.control.policy"]._hie_create_standard_policy(self.company)
        self.assertEqual(self.company.credit_policy_id, policy)
        levels = policy.level_ids.sorted("level")
        self.assertEqual(levels.mapped("delay_days"), [7, 21, 35])
        self.assertEqual(levels.mapped("hie_collection_costs"), [False, False, True])
        self.assertEqual(levels[0].name, "Friendly reminder")
        self.assertEqual(levels[0].with_context(lang="nl_NL").name, "Vriendelijke herinnering")
        self.assertIn("wettelijke vergoeding voor incassokosten",
                      levels[2].with_context(lang="nl_NL")._hie_default_collection_costs_text())
        self.assertEqual(policy.account_ids, self.receivable)

    def test_english_customer_gets_english_texts(self):
        self.invoice(self.klant_en, "2025-01-01")
        self.run_reminders("2025-01-08")
        self.run_reminders("2025-01-22")
        self.klant_en.mobile = "06 1234"  # not in international format: refused by the service
        with odoo_sms_service(self.sms, self.env):
            run = self.run_reminders("2025-02-05")
        mail = self.reminder_mails(run)
        self.assertIn(WIK_EN, mail.body_html)
        self.assertIn("Dear Acme Ltd", mail.body_html)
        self.assertFalse(self.sms.sent)
        sms = self.env["sms.sms"].sudo().search([("number", "=", "06 1234")])
        self.assertEqual(sms.state, "error")

    def test_no_number_no_text_message(self):
        self.invoice(self.klant_en, "2025-01-01")
        for date in ("2025-01-08", "2025-01-22"):
            self.run_reminders(date)
        with odoo_sms_service(self.sms, self.env):
            run = self.run_reminders("2025-02-05")
        communication = run.line_ids.communication_id
        self.assertTrue(communication.message_ids.filtered(
            lambda m: "No text message sent" in (m.body or "")))
        self.assertFalse(self.sms.requests)


@tagged("post_install", "-at_install")
class TestRemindersExactStatus(ReminderMixin, ExactCase):
    """An invoice synced to Exact is never paid in Odoo: the reminder follows Exact."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.write({"email": "ap@klant.example", "lang": "nl_NL"})
        cls.setup_reminders()

    def test_no_reminder_for_invoice_paid_in_exact(self):
        paid, partial, still_open = (self.make_invoice(amount, date="2025-01-15")
                                     for amount in (100, 200, 300))
        unread = None
        self.process()
        self.server.pay(paid.name)
        self.server.pay(partial.name, 42)
        self.env["accounting.connection"]._cron_read_payment_status()
        self.env.invalidate_all()
        self.assertEqual(paid.payment_state, "not_paid")  # Odoo does not know the payment
        unread = self.make_invoice(50, date="2025-01-15")
        self.process()  # sent, but its status not read yet
        due = max((paid | partial | still_open | unread).mapped("invoice_date_due"))
        run = self.run_reminders(due + datetime.timedelta(days=8), send=False)
        ours = paid | partial | still_open | unread
        self.assertEqual(run.line_ids.invoice_id & ours, partial | still_open)
        line = run.line_ids.filtered(lambda cl: cl.invoice_id == partial)
        self.assertAlmostEqual(line.balance_due, 242.0 - 42)
        rows = [row for row in run._hie_preview_rows() if row["partner"] == self.customer]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["lines"].invoice_id, partial | still_open)
