# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared fixtures of the Odoo tests of the Exact Online link: the local fake Exact server
(started once per class on 127.0.0.1), a connected connection with its reference data
fetched and auto-matched, a revenue account, a 21 % sale tax and a customer."""

import threading
import time
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import requests

from odoo import SUPERUSER_ID, api
from odoo.api import Transaction
from odoo.tests import TransactionCase, new_test_user

from hie_testing.exact_server import DEFAULT_DIVISION, ExactServer

from ..services.exact.clock import VirtualClock
from ..services.exact.oauth import TokenState


class ExactServerMixin:
    """Start/stop the fake server; reset its per-test state; hand out tokens."""

    @classmethod
    def start_exact_server(cls):
        cls.server = ExactServer(clock=VirtualClock(start=time.time())).start()
        cls.addClassCleanup(cls.server.stop)
        cls.seeded_accounts = list(cls.server.accounts)

    def reset_exact_server(self):
        server = self.server
        with server._lock:
            server.sales_entries.clear()
            server.faults.clear()
            server.journal_status.clear()
            server.calls.clear()
            server.token_calls.clear()
            server.statuses.clear()
            server.accounts[:] = list(self.seeded_accounts)
            server._usage.clear()
            server.daily_limit = 5000
            server.minutely_limit = 60
            server.token_delay = 0.0
            server.before_post = None

    @classmethod
    def store_fresh_tokens(cls, connection):
        """Start a new chain in the server and store it, as after a consent."""
        state = TokenState.from_token_response(cls.server.issue_tokens(), time.time())
        connection.sudo().write({
            "exact_access_token": state.access_token,
            "exact_refresh_token": state.refresh_token,
            "exact_token_expires_at": state.expires_at,
            "exact_token_issued_at": state.issued_at,
            "state": "connected",
        })

    def authorization_code(self, connection):
        """Consent in the fake server (no browser) and return the code it redirects with."""
        response = requests.get(
            connection._get_oauth_client().authorize_url("s"), allow_redirects=False, timeout=10
        )
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    def posts(self, resource="salesentry/SalesEntries"):
        return self.server.calls[("POST", resource)]


class ExactCase(ExactServerMixin, TransactionCase):
    """The stores of the link write in cursors of their own (``registry.cursor()``): in
    test mode those share the test's transaction, as in HttpCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.start_exact_server()
        cls.company = cls.env.company
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1
        )
        cls.revenue = cls.env["account.account"].create(
            {"name": "Omzet diensten", "code": "8000", "account_type": "income"}
        )
        # the Dutch chart's BTW 21 % on sales (l10n_nl)
        cls.tax21 = cls.env["account.chart.template"].with_company(cls.company).ref("btw_21")
        cls.customer = cls.env["res.partner"].create({
            "name": "Klant BV", "is_company": True, "vat": "NL000099998B57",
            "country_id": cls.env.ref("base.nl").id,
        })
        cls.connection = cls.env["accounting.connection"].create({
            "company_id": cls.company.id,
            "base_url": cls.server.base_url,
            "client_id": cls.server.client_id,
            "client_secret": cls.server.client_secret,
            "sync_start_date": "2025-01-01",
            "sync_journal_ids": [(6, 0, cls.journal.ids)],
        })
        cls.store_fresh_tokens(cls.connection)
        cls.connection.action_load_divisions()
        cls.connection.division_choice_id = cls.connection.reference_ids.filtered(
            lambda ref: ref.kind == "division" and ref.code == str(DEFAULT_DIVISION)
        )
        cls.connection.action_refresh_reference_data()
        cls.accountant = new_test_user(
            cls.env, login="hie_exact_billing",
            groups="base.group_user,account.group_account_invoice",
        )
        cls.manager = new_test_user(
            cls.env, login="hie_exact_manager",
            groups="base.group_user,account.group_account_manager",
        )

    def setUp(self):
        super().setUp()
        self.reset_exact_server()
        self.store_fresh_tokens(self.connection)

    def make_invoice(self, amount=100.0, date="2025-01-15", partner=None, move_type="out_invoice",
                     post=True):
        move = self.env["account.move"].create({
            "move_type": move_type,
            "partner_id": (partner or self.customer).id,
            "invoice_date": date,
            "journal_id": self.journal.id,
            "invoice_line_ids": [(0, 0, {
                "name": "Consultancy", "quantity": 1, "price_unit": amount,
                "account_id": self.revenue.id, "tax_ids": [(6, 0, self.tax21.ids)],
            })],
        })
        if post:
            move.action_post()
        return move

    def process(self, **kwargs):
        report = self.env["accounting.outbox"]._process(self.connection, **kwargs)
        self.env.invalidate_all()
        return report


def connected_connection(env, company, server):
    """An Exact connection of ``company`` to the local ``server`` holding a fresh token chain
    (for tests that commit their fixtures in their own cursors)."""
    tokens = TokenState.from_token_response(server.issue_tokens(), time.time())
    return env["accounting.connection"].create({
        "company_id": company.id, "base_url": server.base_url,
        "client_id": server.client_id, "client_secret": server.client_secret,
        "division": DEFAULT_DIVISION, "state": "connected",
        "exact_access_token": tokens.access_token,
        "exact_refresh_token": tokens.refresh_token,
        "exact_token_expires_at": tokens.expires_at,
        "exact_token_issued_at": tokens.issued_at,
    })


class CommittedWorkersMixin:
    """Outbox runs in threads on real cursors of their own, as two Odoo workers would run
    them. The class sets ``self.db`` (``db_connect``) and ``self.connection_id``."""

    def cursor(self):
        """A real cursor of its own, bound to the loaded registry (the registry lock is
        held by the test runner, so it must not be looked up by name)."""
        cr = self.db.cursor()
        cr.transaction = Transaction(self.registry)
        return cr

    def _worker(self, barrier, reports, errors):
        try:
            barrier.wait(timeout=30)
            with self.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                connection = env["accounting.connection"].browse(self.connection_id)
                reports.append(env["accounting.outbox"]._process(
                    connection, cursor_factory=self.cursor))
        except Exception as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    def _run_workers(self, count=2, timeout=10.0):
        """Start ``count`` workers at the same moment (batches of 2); return their reports.
        Odoo's test HTTP guard raises any timeout below 10 s to 10 s."""
        barrier, reports, errors = threading.Barrier(count), [], []
        threads = [threading.Thread(target=self._worker, args=(barrier, reports, errors))
                   for _index in range(count)]
        Connection = type(self.env["accounting.connection"])
        Outbox = type(self.env["accounting.outbox"])
        with patch.object(Outbox, "_get_batch_size", lambda self: 2), \
                patch.object(Connection, "_get_timeout", lambda self: timeout):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        self.assertFalse([thread for thread in threads if thread.is_alive()])
        self.assertFalse(errors, errors)
        return reports
