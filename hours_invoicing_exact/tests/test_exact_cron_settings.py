# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The scheduled actions of the Exact Online link (keep-alive, outbox progress) and the
Exact Online section of the Accounting settings."""

import datetime
import time

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from hie_testing.exact_server import DEFAULT_DIVISION

from ..models.accounting_connection import KEEP_ALIVE_AFTER, MANAGER_GROUP
from ..services.exact.oauth import TokenState
from .exact_common import ExactCase

DAY = 86400


@tagged("post_install", "-at_install")
class TestExactKeepAlive(ExactCase):
    """The cron touches the token chain; both Odoo (freezegun) and the fake server
    (its virtual clock) see the same day."""

    def setUp(self):
        super().setUp()
        # Odoo's time and the server's must agree: start a chain at the server's time
        self.start = max(time.time(), self.server.clock.now()) + 60
        self.server.clock.advance(self.start - self.server.clock.now())
        state = TokenState.from_token_response(self.server.issue_tokens(), self.start)
        self.connection.sudo().write({
            "exact_access_token": state.access_token,
            "exact_refresh_token": state.refresh_token,
            "exact_token_expires_at": state.expires_at,
            "exact_token_issued_at": state.issued_at,
        })
        self.env.flush_all()

    def _travel(self, epoch):
        """Move the server's clock to ``epoch``; return a freezegun context at ``epoch``."""
        self.server.clock.advance(epoch - self.server.clock.now())
        return freeze_time(datetime.datetime.fromtimestamp(epoch, datetime.UTC))

    def test_chain_touched_inside_30_days_stays_alive(self):
        start = self.start
        Connection = self.env["accounting.connection"]
        days = list(range(0, 64, 4))
        for day in days:
            with self._travel(start + day * DAY):
                Connection._cron_keep_alive()
        self.env.invalidate_all()
        self.assertEqual(self.connection.state, "connected")
        # a refresh whenever the last one is older than KEEP_ALIVE_AFTER (7 days)
        expected, last = 0, 0
        for day in days:
            if (day - last) * DAY >= KEEP_ALIVE_AFTER:
                expected, last = expected + 1, day
        self.assertTrue(expected)
        self.assertEqual(self.server.token_calls["refresh_token"], expected)
        self.assertGreater(self.connection.sudo().exact_token_issued_at,
                           start + (days[-1] - 8) * DAY)
        # 60 days after the consent the chain still works (an unused one dies after 30)
        with self._travel(start + days[-1] * DAY + 60):
            me = self.connection._get_exact_client(division="current").me()
        self.assertEqual(me["CurrentDivision"], DEFAULT_DIVISION)
        self.assertEqual(self.server.statuses[400], 0)

    def test_recent_chain_is_not_touched(self):
        start = self.start
        with self._travel(start + KEEP_ALIVE_AFTER - 3600):
            self.env["accounting.connection"]._cron_keep_alive()
        self.assertEqual(self.server.token_calls["refresh_token"], 0)

    def test_expired_chain_needs_reconnect_with_activity(self):
        move = self.make_invoice()
        self.assertEqual(move.hie_exact_outbox_id.state, "to_send")
        with self._travel(self.start + 31 * DAY):
            self.env["accounting.connection"]._cron_keep_alive()
        self.env.invalidate_all()
        self.assertEqual(self.server.token_calls["refresh_token"], 1)
        self.assertEqual(self.connection.state, "reconnect_needed")
        self.assertIn("expired", self.connection.last_error)
        activity = self.connection.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.summary, "Reconnect to Exact Online")
        self.assertTrue(activity.user_id.has_group(MANAGER_GROUP))
        # nothing is lost: the record waits for the reconnection, nothing was posted
        self.assertEqual(move.hie_exact_outbox_id.state, "reconnect_needed")
        self.assertEqual(self.posts(), 0)
        # the scheduled outbox run leaves a disconnected connection alone
        self.env["accounting.outbox"]._cron_process()
        self.assertEqual(sum(self.server.calls.values()), 0)


@tagged("post_install", "-at_install")
class TestExactCronProgress(ExactCase):
    def _run_cron(self, batch):
        cron = self.env.ref("hours_invoicing_exact.ir_cron_accounting_outbox")
        cron, progress = cron._add_progress()
        progress_id = cron.env.context["ir_cron_progress_id"]
        done = self.env["accounting.outbox"].with_context(
            ir_cron_progress_id=progress_id
        )._cron_process(
            batch=batch
        )
        self.env.invalidate_all()
        return done, progress

    def test_progress_reported_per_batch(self):
        moves = [self.make_invoice(date=f"2025-01-{day:02d}") for day in (10, 11, 12)]
        done, progress = self._run_cron(batch=2)
        self.assertEqual((done, progress.done, progress.remaining), (2, 2, 1))
        done, progress = self._run_cron(batch=2)
        self.assertEqual((done, progress.done, progress.remaining), (1, 1, 0))
        self.assertEqual({move.hie_exact_outbox_id.state for move in moves}, {"sent"})

    def test_stopped_run_reports_nothing_remaining(self):
        """A run stopped by the daily budget must not be rescheduled at once."""
        moves = [self.make_invoice(date=f"2025-01-{day:02d}") for day in (10, 11, 12)]
        # four calls left today: the relation look-up, Exact's financial periods and the
        # journal's closed periods (once per run each), one post
        self.server.daily_limit = 4 + self.server._usage[
            (str(DEFAULT_DIVISION), "d", int(self.server.clock.now() // DAY))
        ]
        done, progress = self._run_cron(batch=10)
        self.assertEqual((done, progress.done, progress.remaining), (1, 1, 0))
        self.assertEqual(sorted(move.hie_exact_outbox_id.state for move in moves),
                         ["sent", "to_send", "to_send"])


@tagged("post_install", "-at_install")
class TestExactSettingsForm(ExactCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.settings_manager = new_test_user(
            cls.env, login="hie_exact_settings_manager",
            groups="base.group_user,base.group_system,account.group_account_manager",
        )
        cls.settings_admin = new_test_user(
            cls.env, login="hie_exact_settings_admin",
            groups="base.group_user,base.group_system,account.group_account_invoice",
        )

    def test_manager_sees_and_edits_the_exact_section(self):
        form = Form(self.env["res.config.settings"].with_user(self.settings_manager))
        fields_in_view = form._view["fields"]
        for name in ("hie_exact_country", "hie_exact_base_url", "hie_exact_client_id",
                     "hie_exact_client_secret",
                     "hie_exact_redirect_uri", "hie_exact_state", "hie_exact_division_choice_id",
                     "hie_exact_sync_start_date", "hie_exact_sync_journal_ids"):
            self.assertIn(name, fields_in_view)
        self.assertEqual(form.hie_exact_client_id, self.server.client_id)
        self.assertEqual(form.hie_exact_state, "connected")
        self.assertTrue(form.hie_exact_redirect_uri.endswith("/exact_online/callback"))
        form.hie_exact_client_secret = "new-secret"
        form.hie_exact_sync_start_date = datetime.date(2025, 3, 1)
        form.save()
        self.assertEqual(self.connection.sudo().client_secret, "new-secret")
        self.assertEqual(self.connection.sync_start_date, datetime.date(2025, 3, 1))

    def test_secrets_hidden_from_non_managers(self):
        # a settings administrator who is no accounting manager: no Exact section
        form = Form(self.env["res.config.settings"].with_user(self.settings_admin))
        for name in ("hie_exact_client_id", "hie_exact_client_secret", "hie_exact_country"):
            self.assertNotIn(name, form._view["fields"])
        settings = self.env["res.config.settings"].with_user(self.settings_admin)
        self.assertNotIn("hie_exact_client_secret", settings.fields_get())
        with self.assertRaises(AccessError):
            settings.create({}).read(["hie_exact_client_secret"])
        # a plain user cannot open the settings at all
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.accountant).create({})
