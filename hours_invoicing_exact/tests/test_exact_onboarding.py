# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A newcomer's first connection to Exact Online, on a brand-new Dutch company: settings,
save, connect through the controller (the local Exact server plays OAuth), pick a division;
in-app errors instead of crashes and bare pages; and the same path in a browser tour."""

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from hie_testing.exact_server import DEFAULT_DIVISION

from .exact_common import ExactServerMixin


@tagged("post_install", "-at_install")
class TestExactFirstConnection(ExactServerMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_exact_server()
        cls.company = cls.env["res.company"].create({
            "name": "Nieuw Adviesbureau BV", "country_id": cls.env.ref("base.nl").id,
        })
        cls.env["account.chart.template"].try_loading("nl", company=cls.company)
        cls.manager = new_test_user(
            cls.env, login="hie_exact_newcomer", password="hie_exact_newcomer",
            groups="base.group_user,base.group_system,account.group_account_manager",
            company_id=cls.company.id, company_ids=[(6, 0, cls.company.ids)],
        )

    def setUp(self):
        super().setUp()
        self.reset_exact_server()

    def settings_form(self):
        settings = self.env["res.config.settings"].with_user(self.manager).with_context(
            allowed_company_ids=self.company.ids)
        return Form(settings)

    def connection(self):
        return self.env["accounting.connection"].search([("company_id", "=", self.company.id)])

    def test_settings_save_connect_and_pick_division(self):
        self.assertEqual(self.company.account_fiscal_country_id.code, "NL")
        self.assertFalse(self.connection())
        form = self.settings_form()
        # the URI to register in Exact's App Center is known before anything is saved
        self.assertTrue(form.hie_exact_redirect_uri.endswith("/exact_online/callback"))
        form.hie_exact_client_id = self.server.client_id
        form.hie_exact_client_secret = self.server.client_secret
        form.save()  # crashed with a NOT NULL error on base_url
        connection = self.connection()
        self.assertEqual((connection.country, connection.base_url),
                         ("nl", "https://start.exactonline.nl"))
        self.assertEqual(connection.sudo().client_id, self.server.client_id)
        # this test talks to the local server instead of Exact's host
        form = self.settings_form()
        form.hie_exact_base_url = self.server.base_url
        settings = form.save()
        self.assertEqual(connection.base_url, self.server.base_url)
        self.assertEqual(
            settings.with_user(self.manager).action_exact_open_connection()["res_id"],
            connection.id)
        # Connect: the controller, the consent in the (strict) local server, the callback
        self.authenticate("hie_exact_newcomer", "hie_exact_newcomer")
        action = settings.with_user(self.manager).action_exact_connect()
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("/exact_online/callback", response.history[-1].url)
        self.assertIn(f"action_accounting_connection/{connection.id}", response.url)
        connection.invalidate_recordset()
        self.assertEqual(connection.state, "connected")
        self.assertFalse(connection.last_error)
        # the division picker was filled on the way back: /api/v1/current/Me, hrm/Divisions
        self.assertEqual(self.server.calls[("GET", "current/Me")], 1)
        self.assertEqual(self.server.statuses[404], 0)
        division = connection.reference_ids.filtered(lambda ref: ref.kind == "division")
        self.assertEqual(division.mapped("code"), [str(DEFAULT_DIVISION)])
        # loading them again from the settings keeps the one division
        self.assertEqual(settings.with_user(self.manager).action_exact_load_divisions()["tag"],
                         "reload")
        self.assertEqual(connection.reference_ids.filtered(lambda ref: ref.kind == "division"),
                         division)
        # the manager picks the division in the settings
        form = self.settings_form()
        self.assertEqual(form.hie_exact_state, "connected")
        form.hie_exact_division_choice_id = division
        form.save()
        self.assertEqual(connection.division, DEFAULT_DIVISION)
        connection.with_user(self.manager).action_refresh_reference_data()
        self.assertTrue(connection.reference_ids.filtered(lambda ref: ref.kind == "gl_account"))

    def test_saving_other_settings_creates_no_connection(self):
        self.settings_form().save()
        self.assertFalse(self.connection())

    def test_connect_without_credentials_is_an_in_app_error(self):
        settings = self.settings_form().save()
        with self.assertRaisesRegex(UserError, "App Center"):
            settings.with_user(self.manager).action_exact_connect()
        # the controller opened by hand: back in Odoo with the message, no bare "Bad Request"
        connection = self.connection()
        self.authenticate("hie_exact_newcomer", "hie_exact_newcomer")
        response = self.url_open(f"/exact_online/connect/{connection.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(f"action_accounting_connection/{connection.id}", response.url)
        connection.invalidate_recordset()
        self.assertIn("App Center", connection.last_error)
        self.assertEqual(self.server.token_calls.total(), 0)

    def test_exact_needs_https_redirect_uri(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://odoo.example")
        form = self.settings_form()
        self.assertFalse(form.hie_exact_redirect_uri_https)
        form.hie_exact_client_id = "id"
        form.hie_exact_client_secret = "secret"
        settings = form.save()
        with self.assertRaisesRegex(UserError, "HTTPS"):
            settings.with_user(self.manager).action_exact_connect()

    def test_refused_consent_shown_in_odoo(self):
        connection = self.env["accounting.connection"].create({
            "company_id": self.company.id, "base_url": self.server.base_url,
            "client_id": self.server.client_id, "client_secret": self.server.client_secret,
        })
        connection.with_user(self.manager)._start_authorization()
        state = connection.sudo().oauth_state
        self.authenticate("hie_exact_newcomer", "hie_exact_newcomer")
        response = self.url_open(f"/exact_online/callback?error=access_denied&state={state}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(f"action_accounting_connection/{connection.id}", response.url)
        connection.invalidate_recordset()
        self.assertIn("access_denied", connection.last_error)
        self.assertEqual(connection.state, "draft")

    def test_first_connection_tour(self):
        # the only thing a test must set beforehand: the local server instead of Exact's host
        connection = self.env["accounting.connection"].create({
            "company_id": self.company.id, "base_url": self.server.base_url,
        })
        self.start_tour("/odoo/action-account.action_account_config",
                        "hie_exact_first_connection", login="hie_exact_newcomer")
        connection.invalidate_recordset()
        self.assertEqual(connection.state, "connected")
        self.assertEqual(connection.sudo().client_id, self.server.client_id)
        self.assertEqual(connection.division, DEFAULT_DIVISION)
        self.assertEqual(self.server.token_calls["authorization_code"], 1)
