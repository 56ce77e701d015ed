# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from urllib.parse import parse_qs, urlsplit

import requests

from odoo.tests import HttpCase, new_test_user, tagged

from hie_testing.twinfield_server import OFFICE, ORGANISATION

from .twinfield_common import TwinfieldServerMixin


@tagged("post_install", "-at_install")
class TestTwinfieldConnectFlow(TwinfieldServerMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_twinfield_server()
        cls.manager = new_test_user(
            cls.env, login="hie_twf_connect", password="hie_twf_connect",
            groups="base.group_user,account.group_account_manager",
        )
        cls.connection = cls.env["accounting.connection"].create({
            "target": "twinfield",
            "twf_login_host": cls.twf.base_url,
            "client_id": cls.twf.client_id,
            "client_secret": cls.twf.client_secret,
        })

    def setUp(self):
        super().setUp()
        self.reset_twinfield_server()

    def test_connect_through_controller_and_choose_office(self):
        self.authenticate("hie_twf_connect", "hie_twf_connect")
        action = self.connection.with_user(self.manager).action_connect()
        self.assertTrue(action["url"].startswith("/twinfield/connect/"))
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("/twinfield/callback", response.history[-1].url)
        authorize = parse_qs(urlsplit(response.history[1].url).query)
        self.assertIn("offline_access", authorize["scope"][0].split())
        self.assertTrue(authorize["nonce"][0])
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "connected", self.connection.last_error)
        self.assertFalse(self.connection.oauth_state)
        self.assertFalse(self.connection.twf_nonce)
        self.assertTrue(self.connection.twf_refresh_token)
        self.assertEqual(self.connection.twf_cluster_url, self.twf.cluster_url)
        self.assertEqual(self.connection.twf_organisation, ORGANISATION)
        # the office picker was filled at once; the chosen office is where calls go
        choice = self.connection.reference_ids.filtered(lambda ref: ref.kind == "office")
        self.assertEqual(choice.mapped("code"), [OFFICE])
        self.connection.twf_office_choice_id = choice
        self.assertEqual(self.connection.twf_office, OFFICE)
        self.connection.action_refresh_reference_data()
        self.assertIn("0110", self.connection.reference_ids.mapped("code"))

    def _consent(self, authorize_url):
        """Consent in the local server (no browser); return the callback URL's query."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=10)
        return parse_qs(urlsplit(response.headers["Location"]).query)

    def test_wrong_state_refused(self):
        self.authenticate("hie_twf_connect", "hie_twf_connect")
        url = self.connection.with_user(self.manager)._twinfield_start_authorization()
        code = self._consent(url)["code"][0]
        response = self.url_open(f"/twinfield/callback?code={code}&state=forged")
        self.assertEqual(response.status_code, 403)
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self.connection.twf_refresh_token)
        self.assertEqual(self.twf.calls["token"], 0)

    def test_wrong_nonce_refused(self):
        self.authenticate("hie_twf_connect", "hie_twf_connect")
        url = self.connection.with_user(self.manager)._twinfield_start_authorization()
        # the ID token will carry the nonce of this URL, not the one stored now
        self.connection.sudo().twf_nonce = "another-nonce"
        query = self._consent(url)
        response = self.url_open(
            f"/twinfield/callback?code={query['code'][0]}&state={query['state'][0]}")
        self.assertEqual(response.status_code, 200)  # back on the form, with the reason
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self.connection.twf_refresh_token)
        self.assertIn("nonce", self.connection.last_error)

    def test_plain_user_cannot_connect(self):
        new_test_user(self.env, login="hie_twf_plain", password="hie_twf_plain",
                      groups="base.group_user,account.group_account_invoice")
        self.authenticate("hie_twf_plain", "hie_twf_plain")
        response = self.url_open(f"/twinfield/connect/{self.connection.id}",
                                 allow_redirects=False)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.connection.oauth_state)
