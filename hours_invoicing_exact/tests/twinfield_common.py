# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared fixtures of the Odoo tests of the Twinfield link: the local Twinfield server
(started once per class on 127.0.0.1), a connected connection with its office chosen and
its reference data read and auto-matched, revenue accounts, the Dutch BTW 21 % and 9 % and a
customer known to Twinfield by its VAT number."""

import copy
import time

from odoo.tests import TransactionCase, new_test_user

from hie_testing.twinfield_server import OFFICE, ORGANISATION, TwinfieldServer

from ..services.exact.clock import VirtualClock
from ..services.exact.oauth import TokenState


class TwinfieldServerMixin:
    """Start/stop the local server; reset its per-test state; hand out tokens."""

    @classmethod
    def start_twinfield_server(cls):
        cls.twf = TwinfieldServer(clock=VirtualClock(start=time.time()),
                                  credits_per_minute=500).start()
        cls.addClassCleanup(cls.twf.stop)
        cls.twf_seed = copy.deepcopy(cls.twf.dimensions)

    def reset_twinfield_server(self):
        server = self.twf
        with server._lock:
            server.transactions.clear()
            server.faults.clear()
            server.calls.clear()
            server.statuses.clear()
            server._window.clear()
            server.dimensions = copy.deepcopy(self.twf_seed)
            server.pending_warnings.clear()
            server.cost_centre_dim = "dim2"
            for key in list(server.periods):
                server.periods[key] = True

    @classmethod
    def store_twinfield_tokens(cls, connection):
        """Tokens as after a consent, and what the token validation told."""
        state = TokenState.from_token_response(cls.twf.issue_tokens(), time.time())
        connection.sudo().write({
            "twf_access_token": state.access_token,
            "twf_refresh_token": state.refresh_token,
            "twf_token_expires_at": state.expires_at,
            "twf_token_issued_at": state.issued_at,
            "twf_cluster_url": cls.twf.cluster_url,
            "twf_organisation": ORGANISATION,
            "state": "connected",
        })


class TwinfieldCase(TwinfieldServerMixin, TransactionCase):
    """As ``ExactCase``: the stores write in cursors of their own, which in test mode share
    the test's transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.start_twinfield_server()
        cls.company = cls.env.company
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1
        )
        cls.revenue = cls.env["account.account"].create(
            {"name": "Omzet diensten", "code": "8000", "account_type": "income"}
        )
        cls.revenue2 = cls.env["account.account"].create(
            {"name": "Omzet overig", "code": "8010", "account_type": "income"}
        )
        # the Dutch chart's BTW 21 % and 9 % on sales (l10n_nl)
        template = cls.env["account.chart.template"].with_company(cls.company)
        cls.tax21 = template.ref("btw_21")
        cls.tax9 = template.ref("btw_9")
        cls.customer = cls.env["res.partner"].create({
            "name": "Klant BV", "is_company": True, "vat": "NL000099998B57",
            "country_id": cls.env.ref("base.nl").id,
        })
        cls.connection = cls.env["accounting.connection"].create({
            "company_id": cls.company.id,
            "target": "twinfield",
            "twf_login_host": cls.twf.base_url,
            "client_id": cls.twf.client_id,
            "client_secret": cls.twf.client_secret,
            "twf_certified": True,
            "sync_start_date": "2025-01-01",
            "sync_journal_ids": [(6, 0, cls.journal.ids)],
        })
        cls.store_twinfield_tokens(cls.connection)
        cls.connection.action_twinfield_load_offices()
        cls.connection.twf_office_choice_id = cls.connection.reference_ids.filtered(
            lambda ref: ref.kind == "office" and ref.code == OFFICE
        )
        cls.connection.action_refresh_reference_data()
        cls.accountant = new_test_user(
            cls.env, login="hie_twf_billing",
            groups="base.group_user,account.group_account_invoice",
        )
        cls.manager = new_test_user(
            cls.env, login="hie_twf_manager",
            groups="base.group_user,account.group_account_manager",
        )

    def setUp(self):
        super().setUp()
        self.reset_twinfield_server()
        self.store_twinfield_tokens(self.connection)

    def make_invoice(self, lines=None, date="2025-01-15", partner=None,
                     move_type="out_invoice", post=True):
        lines = lines or [(100.0, self.revenue, self.tax21)]
        move = self.env["account.move"].create({
            "move_type": move_type,
            "partner_id": (partner or self.customer).id,
            "invoice_date": date,
            "journal_id": self.journal.id,
            "invoice_line_ids": [(0, 0, {
                "name": "Consultancy", "quantity": 1, "price_unit": price,
                "account_id": account.id, "tax_ids": [(6, 0, tax.ids)],
            }) for price, account, tax in lines],
        })
        if post:
            move.action_post()
        return move

    def process(self, **kwargs):
        report = self.env["accounting.outbox"]._process(self.connection, **kwargs)
        self.env.invalidate_all()
        return report

    def outbox(self, move):
        return self.env["accounting.outbox"].search(
            [("res_model", "=", "account.move"), ("res_id", "=", move.id)])
