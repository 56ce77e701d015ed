# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Twinfield section of the Accounting settings, on a brand-new Dutch company: choose
Twinfield as the company's package, point the login host at the local Twinfield server,
save, connect through the controller (the local server plays the OpenID Connect login),
pick the office; in-app errors instead of tracebacks; and the same path in a browser tour
that ends with a month sent to Twinfield as one memorial entry."""

import datetime as dt

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from hie_testing.twinfield_server import CUSTOMER, OFFICE

from .twinfield_common import TwinfieldServerMixin


@tagged("post_install", "-at_install")
class TestTwinfieldSettings(TwinfieldServerMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_twinfield_server()
        cls.company = cls.env["res.company"].create({
            "name": "Nieuw Administratiekantoor BV", "country_id": cls.env.ref("base.nl").id,
        })
        cls.env["account.chart.template"].try_loading("nl", company=cls.company)
        cls.manager = new_test_user(
            cls.env, login="hie_twf_newcomer", password="hie_twf_newcomer",
            groups="base.group_user,base.group_system,account.group_account_manager",
            company_id=cls.company.id, company_ids=[(6, 0, cls.company.ids)],
        )

    def setUp(self):
        super().setUp()
        self.reset_twinfield_server()

    def settings_form(self):
        settings = self.env["res.config.settings"].with_user(self.manager).with_context(
            allowed_company_ids=self.company.ids)
        return Form(settings)

    def connection(self):
        return self.env["accounting.connection"].search(
            [("company_id", "=", self.company.id), ("target", "=", "twinfield")])

    def test_choose_twinfield_connect_and_pick_office(self):
        self.assertFalse(self.connection())
        form = self.settings_form()
        form.hie_accounting_target = "twinfield"
        # the URI to register with the Twinfield app is known before anything is saved
        self.assertTrue(form.hie_twf_redirect_uri.endswith("/twinfield/callback"))
        form.hie_twf_login_host = self.twf.base_url
        form.hie_twf_client_id = self.twf.client_id
        form.hie_twf_client_secret = self.twf.client_secret
        form.hie_twf_cost_centre_dim = "dim2"
        settings = form.save()
        connection = self.connection()
        self.assertEqual(len(connection), 1)
        self.assertEqual(connection.twf_login_host, self.twf.base_url)
        self.assertEqual(connection.sudo().client_id, self.twf.client_id)
        self.assertEqual(self.company.hie_accounting_target, "twinfield")
        Connection = self.env["accounting.connection"]
        self.assertEqual(Connection._get_company_target(self.company), "twinfield")
        self.assertFalse(self.company.hie_exact_connection_id, "no Exact connection made")
        self.assertEqual(
            settings.with_user(self.manager).action_twf_open_connection()["res_id"],
            connection.id)
        # Connect: the controller, the login at the (strict) local server, the callback
        self.authenticate("hie_twf_newcomer", "hie_twf_newcomer")
        action = settings.with_user(self.manager).action_twf_connect()
        self.assertEqual(action["url"], f"/twinfield/connect/{connection.id}")
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("/twinfield/callback", response.history[-1].url)
        self.assertIn(f"action_accounting_connection/{connection.id}", response.url)
        connection.invalidate_recordset()
        self.assertEqual(connection.state, "connected", connection.last_error)
        self.assertEqual(connection.twf_cluster_url, self.twf.cluster_url)
        # the office picker was filled on the way back; loading again keeps the one office
        office = connection.reference_ids.filtered(lambda ref: ref.kind == "office")
        self.assertEqual(office.mapped("code"), [OFFICE])
        self.assertEqual(settings.with_user(self.manager).action_twf_load_offices()["tag"],
                         "reload")
        self.assertEqual(connection.reference_ids.filtered(lambda ref: ref.kind == "office"),
                         office)
        # the manager picks the office in the settings
        form = self.settings_form()
        self.assertEqual(form.hie_twf_state, "connected")
        form.hie_twf_office_choice_id = office
        form.save()
        self.assertEqual(connection.twf_office, OFFICE)
        self.assertTrue(connection._is_ready_to_sync())
        self.assertEqual(Connection._get_for_company(self.company), connection)
        # reference data, with the cost centres of the chosen dimension level
        connection.with_user(self.manager).action_refresh_reference_data()
        kinds = set(connection.reference_ids.mapped("kind"))
        self.assertTrue({"gl_account", "vat_code", "cost_centre"} <= kinds, kinds)
        # sync mode, journals and the memorial transaction type in the same settings
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.company.id)], limit=1)
        form = self.settings_form()
        form.hie_twf_sync_start_date = "2025-01-01"
        form.hie_twf_sync_journal_ids.add(journal)
        form.hie_period_sync_mode = "month"
        form.hie_period_sync_journal_ids.add(journal)
        self.assertEqual(form.hie_period_twf_journal_code, "MEMO")
        form.hie_period_twf_journal_code = "MEMO2"
        form.save()
        self.assertEqual(connection.sync_journal_ids, journal)
        self.assertEqual(str(connection.sync_start_date), "2025-01-01")
        self.assertEqual(self.company.hie_period_sync_mode, "month")
        self.assertEqual(connection._get_period_journal_code(self.company), "MEMO2")
        # Twinfield's answers to a button come back as a message in Odoo, never a traceback
        self.twf.expire_access_tokens()
        self.twf.revoke_refresh_tokens()
        with self.assertRaisesRegex(UserError, "Click Connect to log in to Twinfield again"):
            settings.with_user(self.manager).action_twf_load_offices()

    def test_connect_without_credentials_is_an_in_app_error(self):
        form = self.settings_form()
        form.hie_accounting_target = "twinfield"
        settings = form.save()
        connection = self.connection()
        self.assertTrue(connection, "choosing Twinfield makes the connection")
        with self.assertRaisesRegex(UserError, "Client ID and Client secret of your Twinfield"):
            settings.with_user(self.manager).action_twf_connect()
        with self.assertRaisesRegex(UserError, "Connect to Twinfield first"):
            settings.with_user(self.manager).action_twf_load_offices()
        # the controller opened by hand: back in Odoo with the message, no bare error page
        self.authenticate("hie_twf_newcomer", "hie_twf_newcomer")
        response = self.url_open(f"/twinfield/connect/{connection.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(f"action_accounting_connection/{connection.id}", response.url)
        connection.invalidate_recordset()
        self.assertIn("Twinfield", connection.last_error)
        self.assertEqual(self.twf.calls["token"], 0)

    def test_login_host_must_be_a_web_address(self):
        form = self.settings_form()
        form.hie_accounting_target = "twinfield"
        form.hie_twf_login_host = "login.twinfield.com"
        with self.assertRaisesRegex(ValidationError, "https://"):
            form.save()

    def test_saving_other_settings_creates_no_twinfield_connection(self):
        self.settings_form().save()
        self.assertFalse(self.connection())
        self.assertEqual(
            self.env["accounting.connection"]._get_company_target(self.company), "exact")

    def test_plain_accountant_cannot_connect(self):
        form = self.settings_form()
        form.hie_accounting_target = "twinfield"
        form.save()
        accountant = new_test_user(
            self.env, login="hie_twf_plain_settings",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.company.id, company_ids=[(6, 0, self.company.ids)],
        )
        with self.assertRaises(AccessError):  # the secrets are the managers' only
            self.connection().with_user(accountant).read(["client_secret"])
        with self.assertRaisesRegex(AccessError, "accounting managers"):
            self.connection().with_user(accountant).action_connect()

    def _prepare_month(self):
        """A posted invoice of this month in a journal of the memorial entries; Twinfield
        knows the company's GL accounts (the Dutch chart's codes) and the customer."""
        company = self.company
        journal = self.env["account.journal"].create({
            "name": "HIE Twinfield tour sales", "code": "HIETT", "type": "sale",
            "company_id": company.id,
        })
        company.write({
            "hie_period_sync_mode": "manual",
            "hie_period_sync_journal_ids": [Command.set(journal.ids)],
            "hie_period_vat_mode": "vat_journal",
        })
        template = self.env["account.chart.template"].with_company(company)
        tax21 = template.ref("btw_21")
        revenue = self.env["account.account"].with_company(company).search(
            [("account_type", "=", "income"), ("company_ids", "in", company.ids)],
            order="code", limit=1)
        customer = self.env["res.partner"].create({
            "name": "Klant BV", "is_company": True, "vat": "NL000099998B57",
            "country_id": self.env.ref("base.nl").id,
        })
        receivable = customer.with_company(company).property_account_receivable_id
        vat_account = tax21.invoice_repartition_line_ids.account_id
        with self.twf._lock:  # the office's chart: the Dutch chart's codes (text)
            for account, dimtype, extra in ((revenue, "PNL", {}),
                                            (receivable, "BAS", {"control": "debtors"}),
                                            (vat_account, "BAS", {})):
                self.twf.dimensions[(OFFICE, dimtype, account.code)] = {
                    "code": account.code, "name": account.name, "type": dimtype, **extra}
        move = self.env["account.move"].with_company(company).create({
            "move_type": "out_invoice", "partner_id": customer.id,
            "invoice_date": dt.date.today(), "journal_id": journal.id,
            "invoice_line_ids": [Command.create({
                "name": "Advies", "quantity": 1, "price_unit": 1234.56,
                "account_id": revenue.id, "tax_ids": [Command.set(tax21.ids)],
            })],
        })
        move.action_post()
        return move, revenue, receivable

    def test_connect_and_send_a_month_tour(self):
        # the only thing set beforehand: the local server instead of Twinfield's login host
        connection = self.env["accounting.connection"].create({
            "company_id": self.company.id, "target": "twinfield",
            "twf_login_host": self.twf.base_url,
        })
        move, revenue, receivable = self._prepare_month()
        self.env.flush_all()
        self.start_tour("/odoo/action-account.action_account_config",
                        "hie_twinfield_connect_and_send_month", login="hie_twf_newcomer",
                        timeout=240)
        connection.invalidate_recordset()
        self.assertEqual(self.company.hie_accounting_target, "twinfield")
        self.assertEqual(connection.state, "connected", connection.last_error)
        self.assertEqual(connection.sudo().client_id, self.twf.client_id)
        self.assertEqual(connection.twf_office, OFFICE)
        # the month reached Twinfield's store once, as one MEMO transaction equal to Odoo
        entry = self.env["accounting.period.entry"].search(
            [("company_id", "=", self.company.id)])
        self.assertEqual(entry.state, "sent", entry.error)
        memo = [t for t in self.twf.transactions if t["code"] == "MEMO"]
        self.assertEqual(len(memo), 1)
        (transaction,) = memo
        today = dt.date.today()
        self.assertEqual(transaction["period"], f"{today.year}/{today.month:02d}")
        self.assertEqual(entry.exact_entry_number, transaction["number"])
        signed = {}
        for line in transaction["lines"]:
            key = "vat" if line["type"] == "vat" else line["dim1"]
            signed[key] = signed.get(key, 0) + line["signed"]
        self.assertEqual(float(signed[receivable.code]), move.amount_total)
        self.assertEqual(float(signed[revenue.code]), -move.amount_untaxed)
        self.assertEqual(float(signed["vat"]), -move.amount_tax)
        self.assertEqual({line["dim2"] for line in transaction["lines"]
                          if line["dim1"] == receivable.code}, {CUSTOMER})
