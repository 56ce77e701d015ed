# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""PLACEHOLDER for part 1's ``accounting.connection`` (branch exact-odoo).

Only the contract the period entries build on: fields company_id, target, state, division,
base_url and the methods ``_get_for_company``, ``_get_exact_client``, ``_get_gl_guid``,
``_get_vat_code``, ``_get_relation_guid``. Mappings and tokens live in two Json fields here;
the real model keeps them in mapping tables and a locked token record. Drop this file when
merging branch exact-odoo.
"""

import contextlib

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services.exact.client import ExactClient
from ..services.exact.oauth import OAuthClient, TokenManager, TokenState
from ..services.exact.ratelimit import MemoryRateLimitStore


class _JsonTokenStore:
    """Token store in the placeholder's Json field (no row lock: placeholder only)."""

    def __init__(self, connection):
        self.connection = connection

    def load(self):
        return TokenState.from_dict(self.connection.sudo().placeholder_tokens or {})

    @contextlib.contextmanager
    def lock_and_load(self):
        yield self.load()

    def save(self, state):
        self.connection.sudo().placeholder_tokens = state.to_dict()


class AccountingConnection(models.Model):
    _name = "accounting.connection"
    _description = "Accounting connection (placeholder of part 1)"

    company_id = fields.Many2one("res.company", required=True, default=lambda s: s.env.company)
    target = fields.Selection([("exact", "Exact Online")], default="exact", required=True)
    state = fields.Selection(
        [("draft", "Draft"), ("connected", "Connected"), ("reconnect_needed", "Reconnect needed")],
        default="draft",
        required=True,
    )
    division = fields.Integer()
    base_url = fields.Char(default="https://start.exactonline.nl")
    placeholder_tokens = fields.Json(groups="base.group_system")
    placeholder_mapping = fields.Json(groups="account.group_account_manager")

    @api.model
    def _get_for_company(self, company):
        return self.search([("company_id", "=", company.id)], limit=1)

    def _get_exact_client(self):
        self.ensure_one()
        oauth = OAuthClient(self.base_url, "placeholder", "placeholder", "http://localhost/cb")
        return ExactClient(
            self.base_url,
            self.division,
            TokenManager(_JsonTokenStore(self), oauth),
            MemoryRateLimitStore(),
            timeout=10.0,  # Odoo's test HTTP guard compares the timeout with a number
            max_retries=1,
            backoff=0.1,
        )

    def _mapping(self, kind, key, what):
        value = ((self.sudo().placeholder_mapping or {}).get(kind) or {}).get(str(key))
        if not value:
            raise UserError(_("No Exact Online mapping for %(what)s.", what=what))
        return value

    def _get_gl_guid(self, account):
        return self._mapping("gl", account.code, _("account %s", account.display_name))

    def _get_vat_code(self, tax):
        return self._mapping("vat", tax.id, _("tax %s", tax.display_name))

    def _get_relation_guid(self, partner):
        return self._mapping("relation", partner.id, _("partner %s", partner.display_name))
