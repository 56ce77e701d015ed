# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, new_test_user, tagged

from hie_testing.exact_server import DEFAULT_DIVISION

from .exact_common import ExactServerMixin


@tagged("post_install", "-at_install")
class TestExactConnectFlow(ExactServerMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_exact_server()
        cls.manager = new_test_user(
            cls.env, login="hie_exact_connect", password="hie_exact_connect",
            groups="base.group_user,account.group_account_manager",
        )
        cls.connection = cls.env["accounting.connection"].create({
            "base_url": cls.server.base_url,
            "client_id": cls.server.client_id,
            "client_secret": cls.server.client_secret,
        })

    def setUp(self):
        super().setUp()
        self.reset_exact_server()

    def test_connect_through_controller(self):
        self.authenticate("hie_exact_connect", "hie_exact_connect")
        action = self.connection.with_user(self.manager).action_connect()
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("/exact_online/callback", response.history[-1].url)
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "connected")
        self.assertFalse(self.connection.oauth_state)
        self.assertTrue(self.connection.exact_refresh_token)
        self.assertEqual(self.server.token_calls["authorization_code"], 1)
        # the stored chain works: the division picker
        self.connection.action_load_divisions()
        choice = self.connection.reference_ids.filtered(lambda ref: ref.kind == "division")
        self.assertEqual(choice.mapped("code"), [str(DEFAULT_DIVISION)])
        self.connection.division_choice_id = choice
        self.assertEqual(self.connection.division, DEFAULT_DIVISION)

    def test_wrong_state_refused(self):
        self.authenticate("hie_exact_connect", "hie_exact_connect")
        self.connection.with_user(self.manager)._start_authorization()
        code = self.authorization_code(self.connection)
        response = self.url_open(f"/exact_online/callback?code={code}&state=forged")
        self.assertEqual(response.status_code, 403)
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self.connection.exact_refresh_token)
        self.assertEqual(self.server.token_calls["authorization_code"], 0)

    def test_plain_user_cannot_connect(self):
        new_test_user(self.env, login="hie_exact_plain", password="hie_exact_plain",
                      groups="base.group_user,account.group_account_invoice")
        self.authenticate("hie_exact_plain", "hie_exact_plain")
        response = self.url_open(f"/exact_online/connect/{self.connection.id}",
                                 allow_redirects=False)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.connection.oauth_state)
