# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import logging
import secrets
import time

import psycopg2
from stdnum import vatin
from stdnum.util import clean, isdigits

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import format_date

from ..services import payment_status
from ..services.exact import relations
from ..services.exact.client import ExactClient, chunks
from ..services.exact.clock import SystemClock
from ..services.exact.oauth import EXACT_HOSTS, OAuthClient, TokenManager
from ..services.exact.periods import ClosedPeriod, ExactPeriods, NoFinancialPeriod
from ..services.outbox import ReconnectNeeded, SyncError
from ..services.twinfield.client import TwinfieldClient
from ..services.twinfield.credits import CreditBudget, limit_for
from ..services.twinfield.errors import TwinfieldError, TwinfieldRejected
from ..services.twinfield.oidc import (
    LOGIN_HOST,
    TwinfieldOIDC,
    TwinfieldTokenManager,
    new_state_and_nonce,
)
from ..services.twinfield.reference import TwinfieldReference, match_customer
from ..sync.db_stores import DbCreditStore, DbRateLimitStore, DbTokenStore, own_env

_logger = logging.getLogger(__name__)

CALLBACK_PATH = "/exact_online/callback"
CONNECT_PATH = "/exact_online/connect"
TWF_CALLBACK_PATH = "/twinfield/callback"
TWF_CONNECT_PATH = "/twinfield/connect"
#: target -> (connect path, callback path) of its Odoo controller
OAUTH_PATHS = {
    "exact": (CONNECT_PATH, CALLBACK_PATH),
    "twinfield": (TWF_CONNECT_PATH, TWF_CALLBACK_PATH),
}
#: Twinfield transaction type of sales invoices when a journal is not mapped otherwise
TWF_SALES_CODE = "VRK"
MANAGER_GROUP = "account.group_account_manager"
#: Touch the token chain when its last refresh is older than this (Exact: 30 days).
KEEP_ALIVE_AFTER = 7 * 86400


class AccountingConnection(models.Model):
    """The link of one company to one accounting package (Exact Online for now).

    Tokens and the rate-limit budget live on this row and are written only by the
    stores of :mod:`..sync.db_stores`, in transactions of their own. Code running in
    a request or cron transaction must therefore never write this row *after* talking
    to Exact (the row may have changed meanwhile): such writes go through
    :meth:`_write_own_transaction`.
    """

    _name = "accounting.connection"
    _description = "Accounting Package Connection"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    target = fields.Selection(
        [("exact", "Exact Online"), ("twinfield", "Twinfield")], required=True, default="exact"
    )
    country = fields.Selection(
        [
            ("nl", "Netherlands"),
            ("be", "Belgium"),
            ("de", "Germany"),
            ("co.uk", "United Kingdom"),
            ("com", "United States (.com)"),
            ("fr", "France"),
            ("es", "Spain"),
        ],
        required=True,
        default="nl",
    )
    base_url = fields.Char(
        string="Base URL",
        compute="_compute_base_url",
        store=True,
        precompute=True,  # required: known before the INSERT of a connection made bare
        readonly=False,
        required=True,
        help="Exact Online host of the country; point it to a local server for tests and demos.",
    )
    client_id = fields.Char(string="Client ID", groups=MANAGER_GROUP, tracking=True)
    client_secret = fields.Char(groups=MANAGER_GROUP)
    redirect_uri = fields.Char(
        string="Redirect URI",
        compute="_compute_redirect_uri",
        help="Register this URI in the Exact Online app.",
    )
    exact_access_token = fields.Char(groups=MANAGER_GROUP, copy=False)
    exact_refresh_token = fields.Char(groups=MANAGER_GROUP, copy=False)
    exact_token_expires_at = fields.Float(groups=MANAGER_GROUP, copy=False)
    exact_token_issued_at = fields.Float(groups=MANAGER_GROUP, copy=False)
    oauth_state = fields.Char(groups=MANAGER_GROUP, copy=False)
    twf_login_host = fields.Char(
        string="Twinfield Login Host", default=LOGIN_HOST,
        help="Twinfield's login host; point it to a local server for tests and demos.",
    )
    twf_access_token = fields.Char(groups=MANAGER_GROUP, copy=False)
    twf_refresh_token = fields.Char(groups=MANAGER_GROUP, copy=False)
    twf_token_expires_at = fields.Float(groups=MANAGER_GROUP, copy=False)
    twf_token_issued_at = fields.Float(groups=MANAGER_GROUP, copy=False)
    twf_nonce = fields.Char(groups=MANAGER_GROUP, copy=False)
    twf_cluster_url = fields.Char(
        string="Twinfield Cluster URL", readonly=True, copy=False,
        help="Where Twinfield's web services of the organisation are, read from the "
        "access-token validation when connecting.",
    )
    twf_organisation = fields.Char(string="Twinfield Organisation", readonly=True, copy=False)
    twf_office_choice_id = fields.Many2one(
        "accounting.reference",
        string="Choose Office",
        domain="[('connection_id', '=', id), ('kind', '=', 'office')]",
        copy=False,
    )
    twf_office = fields.Char(
        string="Twinfield Office", compute="_compute_twf_office", store=True, readonly=False,
        copy=False, help="Twinfield office (administration) code; every call goes to it.",
    )
    twf_certified = fields.Boolean(
        string="Certified App",
        help="Certified Twinfield apps get 500 fair-use credits a minute per organisation, "
        "others 25.",
    )
    division_choice_id = fields.Many2one(
        "accounting.reference",
        string="Choose Division",
        domain="[('connection_id', '=', id), ('kind', '=', 'division')]",
        copy=False,
    )
    division = fields.Integer(
        compute="_compute_division", store=True, readonly=False, copy=False,
        help="Exact Online division (administration) code; every call goes to it.",
    )
    state = fields.Selection(
        [
            ("draft", "Not connected"),
            ("connected", "Connected"),
            ("reconnect_needed", "Reconnect needed"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
    )
    last_error = fields.Text(readonly=True, copy=False)
    sync_start_date = fields.Date(
        help="Customer invoices and credit notes dated from this day on are sent."
    )
    sync_journal_ids = fields.Many2many(
        "account.journal",
        string="Synced Sales Journals",
        domain="[('type', '=', 'sale'), ('company_id', '=', company_id)]",
        help="Per document mode: the customer invoices and credit notes of these journals go to "
        "the accounting package as sales entries (Twinfield: sales transactions). The per day "
        "/ per month modes use the journals in memorial entries of the company instead.",
    )
    payment_read_at = fields.Datetime(
        string="Payment Status Read At", readonly=True, copy=False,
        help="When the open items were last read from the accounting package.")
    payment_read_failed_at = fields.Datetime(
        string="Payment Status Read Failed At", readonly=True, copy=False)
    payment_read_error = fields.Text(string="Payment Status Read Error", readonly=True,
                                     copy=False)
    rl_daily_limit = fields.Integer(string="Daily Limit", readonly=True, copy=False)
    rl_daily_remaining = fields.Integer(string="Daily Calls Left", readonly=True, copy=False)
    rl_daily_reset = fields.Float(string="Daily Reset (epoch)", readonly=True, copy=False)
    rl_minutely_limit = fields.Integer(string="Minutely Limit", readonly=True, copy=False)
    rl_minutely_remaining = fields.Integer(string="Minutely Calls Left", readonly=True, copy=False)
    rl_minutely_reset = fields.Float(string="Minutely Reset (epoch)", readonly=True, copy=False)
    reference_ids = fields.One2many("accounting.reference", "connection_id")
    mapping_ids = fields.One2many("accounting.mapping", "connection_id")
    outbox_count = fields.Integer(compute="_compute_outbox_count")

    _sql_constraints = [
        (
            "company_target_uniq",
            "unique(company_id, target)",
            "A company has one connection per accounting package.",
        ),
    ]

    @api.constrains("twf_login_host")
    def _check_twf_login_host(self):
        for connection in self:
            host = (connection.twf_login_host or "").strip()
            if host and not host.startswith(("https://", "http://")):
                raise ValidationError(_(
                    "The Twinfield login host %s must be a web address starting with "
                    "https:// (e.g. https://login.twinfield.com).", host))

    @api.depends("target", "company_id.name")
    def _compute_name(self):
        labels = dict(self._fields["target"]._description_selection(self.env))
        for connection in self:
            connection.name = f"{labels.get(connection.target, '')} – {connection.company_id.name}"

    @api.depends("country")
    def _compute_base_url(self):
        for connection in self:
            connection.base_url = EXACT_HOSTS.get(connection.country or "nl")

    @api.depends("company_id", "target")
    def _compute_redirect_uri(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for connection in self:
            callback = OAUTH_PATHS[connection.target or "exact"][1]
            connection.redirect_uri = base.rstrip("/") + callback

    @api.depends("twf_office_choice_id")
    def _compute_twf_office(self):
        for connection in self:
            if connection.twf_office_choice_id:
                connection.twf_office = connection.twf_office_choice_id.code

    @api.depends("division_choice_id")
    def _compute_division(self):
        for connection in self:
            if connection.division_choice_id:
                connection.division = int(connection.division_choice_id.code)

    def _compute_outbox_count(self):
        groups = self.env["accounting.outbox"]._read_group(
            [("connection_id", "in", self.ids)], ["connection_id"], ["__count"]
        )
        counts = {connection.id: count for connection, count in groups}
        for connection in self:
            connection.outbox_count = counts.get(connection.id, 0)

    # -- access for other code ---------------------------------------------------------

    @api.model
    def _get_for_company(self, company, target=None):
        """Return the connected connection of ``company`` to ``target`` (by default the
        company's accounting package) or raise a UserError."""
        target = target or self._get_company_target(company)
        connection = self.sudo().search(
            [("company_id", "=", company.id), ("target", "=", target)], limit=1
        )
        package = self._get_target_label(target)
        if not connection:
            raise UserError(
                _("Company %(company)s has no %(package)s connection. Set it up in the "
                  "Accounting settings.", company=company.display_name, package=package)
            )
        if connection.state != "connected":
            raise UserError(
                _("The %(package)s connection of %(company)s is not connected (%(state)s).",
                  package=package, company=company.display_name,
                  state=dict(self._fields["state"]._description_selection(self.env))[
                      connection.state])
            )
        if not getattr(connection, f"_is_ready_{connection.target}")():
            raise UserError(getattr(connection, f"_get_not_ready_message_{connection.target}")())
        return connection

    @api.model
    def _get_target_label(self, target):
        """The (translated) name of the accounting package ``target``."""
        return dict(self._fields["target"]._description_selection(self.env)).get(
            target or "exact", target)

    def _get_package_name(self):
        """The (translated) name of the connection's accounting package."""
        self.ensure_one()
        return self._get_target_label(self.target)

    def _get_not_ready_message_exact(self):
        return _("Choose the Exact Online division of %s first.", self.company_id.display_name)

    def _get_not_ready_message_twinfield(self):
        return _("Choose the Twinfield office of %s first.", self.company_id.display_name)

    @api.model
    def _get_company_target(self, company):
        """The accounting package of ``company``: its setting, else the target of its
        first connection, ``exact`` without one."""
        return company.sudo().hie_accounting_target or self.sudo().search(
            [("company_id", "=", company.id)], limit=1, order="id").target or "exact"

    # -- memorial entries: per-target look-ups ---------------------------------------------

    def _get_period_gl(self, account):
        """The GL reference (Exact: GUID; Twinfield: code) of ``account`` in memorial entries."""
        return getattr(self, f"_get_period_gl_{self.target}")(account)

    def _get_period_gl_exact(self, account):
        return self._get_gl_guid(account)

    def _get_period_gl_twinfield(self, account):
        return self._twinfield_code("account", account)

    def _get_period_relation(self, partner, run_cache=None):
        """The relation (Exact: GUID; Twinfield: DEB code) of ``partner``, looked up or
        created when missing; ``run_cache``: what the period run learnt from the target."""
        return getattr(self, f"_get_period_relation_{self.target}")(
            partner, {} if run_cache is None else run_cache)

    def _get_period_relation_exact(self, partner, run_cache):
        return self._get_relation_guid(partner)

    def _get_period_relation_twinfield(self, partner, run_cache):
        # one client and one read of the customers per run, whatever the number of partners
        client = run_cache.get(("twf_client", self.id)) or self._get_twinfield_client()
        run_cache[("twf_client", self.id)] = client
        try:
            return self._twinfield_customer_code(
                partner, client, run_cache.setdefault(("twf_customers", self.id), {}))
        except SyncError as exc:
            # e.g. the answer to the creation was lost: the code stays reserved, the next
            # run records the customer instead of creating it again
            raise UserError(_(
                "Twinfield could not be asked about customer %(partner)s: %(error)s",
                partner=partner.commercial_partner_id.display_name, error=exc.message,
            )) from exc

    def _get_period_journal_code(self, company):
        """Journal (Exact) or transaction type (Twinfield) of memorial entries."""
        return getattr(self, f"_get_period_journal_code_{self.target}")(company)

    def _get_period_journal_code_exact(self, company):
        return company.hie_period_exact_journal_code or "90"

    def _get_period_journal_code_twinfield(self, company):
        return company.hie_period_twf_journal_code or "MEMO"

    def _get_cursor_factory(self):
        """Factory of the cursors the token, rate-limit and outbox stores use."""
        return self.env.registry.cursor

    def _get_clock(self):
        """Clock of the OAuth and REST clients (a benchmark substitutes a virtual one)."""
        return SystemClock()

    def _get_timeout(self):
        """Seconds to wait for Exact (one number: Odoo's test framework compares it)."""
        return 60.0

    def _get_oauth_client(self):
        self.ensure_one()
        connection = self.sudo()
        if not connection.client_id or not connection.client_secret:
            raise UserError(_("Fill in the client id and client secret of the Exact Online app."))
        return OAuthClient(
            connection.base_url,
            connection.client_id,
            connection.client_secret,
            connection.redirect_uri,
            timeout=30.0,
            clock=self._get_clock(),
        )

    def _get_token_manager(self, cursor_factory=None):
        self.ensure_one()
        store = DbTokenStore(cursor_factory or self._get_cursor_factory(), self.id)
        return TokenManager(store, self._get_oauth_client())

    def _get_client(self, cursor_factory=None):
        """Return the API client of the connection's target: ``_get_<target>_client``."""
        self.ensure_one()
        return getattr(self, f"_get_{self.target}_client")(cursor_factory=cursor_factory)

    def _get_exact_client(self, cursor_factory=None, division=None):
        """Return an :class:`ExactClient` on the connection's division, sharing the token
        chain and the rate-limit budget with every worker through the database."""
        self.ensure_one()
        # The stores read in cursors of their own: pending writes must be in the database.
        self.env.flush_all()
        factory = cursor_factory or self._get_cursor_factory()
        division = division or self.division
        if not division:
            raise UserError(_("Choose the Exact Online division first."))
        return ExactClient(
            self.base_url,
            division,
            self._get_token_manager(factory),
            DbRateLimitStore(factory, self.id),
            timeout=self._get_timeout(),
            clock=self._get_clock(),
        )

    def _write_own_transaction(self, values, cursor_factory=None):
        """Write ``values`` on the connection in a transaction of its own, committed."""
        self.ensure_one()
        with own_env(cursor_factory or self._get_cursor_factory()) as env:
            env[self._name].browse(self.id).write(values)
        self.invalidate_recordset()

    # -- mappings ------------------------------------------------------------------------

    def _get_mapping(self, kind, record):
        self.ensure_one()
        return self.env["accounting.mapping"].sudo().search(
            [("connection_id", "=", self.id), ("kind", "=", kind), (f"{kind}_id", "=", record.id)],
            limit=1,
        )

    def _get_gl_guid(self, account):
        """Return the Exact GL account GUID mapped to ``account`` (cached locally)."""
        mapping = self._get_mapping("account", account)
        if not mapping.reference_id.remote_id:
            raise UserError(
                _("Account %s is not mapped to an Exact Online G/L account.", account.display_name)
            )
        return mapping.reference_id.remote_id

    def _get_vat_code(self, tax):
        """Return the Exact VAT code mapped to ``tax``."""
        mapping = self._get_mapping("tax", tax)
        if not mapping.reference_id.code:
            raise UserError(
                _("Tax %s is not mapped to an Exact Online VAT code.", tax.display_name)
            )
        return mapping.reference_id.code

    def _get_journal_code(self, journal):
        """Return the Exact journal code mapped to ``journal``."""
        mapping = self._get_mapping("journal", journal)
        if not mapping.reference_id.code:
            raise UserError(
                _("Journal %s is not mapped to an Exact Online journal.", journal.display_name)
            )
        return mapping.reference_id.code

    def _check_partner_numbers(self, partner):
        """Return (VAT number, KvK number) of ``partner`` validated with python-stdnum.

        :raises ValidationError: a number is invalid; nothing is sent (the message names
            the connection's accounting package).
        """
        package = self._get_package_name() if len(self) == 1 else _("the accounting package")
        vat = kvk = None
        if partner.vat:
            vat = clean(partner.vat, " -.").upper()
            if not vat[:2].isalpha() and partner.country_id:
                vat = partner.country_id.code.upper() + vat
            if not vatin.is_valid(vat):
                raise ValidationError(
                    _("The VAT number %(vat)s of %(partner)s is not valid; correct it on the "
                      "partner before it is sent to %(package)s.",
                      vat=partner.vat, partner=partner.display_name, package=package)
                )
        if partner.company_registry and (
            not partner.country_id or partner.country_id.code == "NL"
        ):
            kvk = clean(partner.company_registry, " -.")
            if not (isdigits(kvk) and len(kvk) == 8):
                raise ValidationError(
                    _("The Chamber of Commerce (KvK) number %(kvk)s of %(partner)s is not "
                      "valid (8 digits); correct it on the partner before it is sent to "
                      "%(package)s.", kvk=partner.company_registry,
                      partner=partner.display_name, package=package)
                )
        return vat, kvk

    def _exact_partner_numbers(self, partner):
        """Former name of :meth:`_check_partner_numbers` (kept for callers)."""
        return self._check_partner_numbers(partner)

    def _map_relation(self, partner, found, run_cache):
        """Map ``partner`` to the Exact relation ``found``, committed at once in a
        transaction of its own: the relation exists in Exact whatever happens to the
        caller's transaction, and the caller's transaction takes no lock on the connection
        row (the token refresh locks it). The run remembers the mapping in ``run_cache``
        (the caller's snapshot may not see the new row)."""
        run_cache.setdefault("relations", {})[partner.id] = found["ID"]
        try:
            factory = run_cache.get("cursor_factory") or self._get_cursor_factory()
            with own_env(factory) as env:
                env["accounting.mapping"].create({
                    "connection_id": self.id,
                    "kind": "partner",
                    "partner_id": partner.id,
                    "remote_id": found["ID"],
                    "remote_code": (found.get("Code") or "").strip(),
                })
        except psycopg2.IntegrityError:
            _logger.info("%s: partner %s was mapped by another worker", self.target, partner.id)
        return found["ID"]

    def _prefetch_relations(self, partners, client, run_cache):
        """Look up the unmapped commercial partners of ``partners`` in Exact, several per
        call, and map those found; remember those not found in ``run_cache``
        (``relations_not_found``), so that :meth:`_get_relation_guid` creates them without
        a second look-up. Partners with an invalid number are left to
        :meth:`_get_relation_guid`, which rejects their records before any call. Return
        the number of look-up calls."""
        self.ensure_one()
        not_found = run_cache.setdefault("relations_not_found", set())
        known = run_cache.setdefault("relations", {})
        partners = partners.commercial_partner_id
        mapped = set(self.env["accounting.mapping"].sudo().search([
            ("connection_id", "=", self.id), ("kind", "=", "partner"),
            ("partner_id", "in", partners.ids), ("remote_id", "!=", False),
        ]).partner_id.ids)
        keys = {}
        for partner in partners:
            if partner.id in mapped or partner.id in not_found or partner.id in known:
                continue
            try:
                vat, kvk = self._check_partner_numbers(partner)
            except ValidationError:
                continue
            code = (partner.ref or "").strip() or None
            if vat or kvk or code:
                keys[partner] = (vat, kvk, code)
            else:
                not_found.add(partner.id)
        calls = 0
        for chunk in chunks(list(keys), relations.LOOKUP_CHUNK):
            rows = relations.find_relations(client, [keys[partner] for partner in chunk])
            calls += 1
            for partner in chunk:
                found = relations.match_relation(rows, *keys[partner])
                if found:
                    self._map_relation(partner, found, run_cache)
                else:
                    not_found.add(partner.id)
        return calls

    def _get_relation_guid(self, partner, client=None, run_cache=None):
        """Return the Exact relation (crm Account) GUID of ``partner``'s company.

        Looked up by VAT number, then KvK number, then code (the partner's reference);
        created in Exact when missing. The numbers are validated first. ``run_cache``:
        see :meth:`_prefetch_relations`.
        """
        self.ensure_one()
        run_cache = {} if run_cache is None else run_cache
        partner = partner.commercial_partner_id
        known = run_cache.get("relations", {}).get(partner.id)
        if known:
            return known
        mapping = self._get_mapping("partner", partner)
        if mapping.remote_id:
            return mapping.remote_id
        vat, kvk = self._check_partner_numbers(partner)
        client = client or self._get_exact_client()
        code = (partner.ref or "").strip() or None
        found = None
        if (vat or kvk or code) and partner.id not in run_cache.get("relations_not_found", ()):
            rows = client.find_accounts(vat_number=vat, chamber_of_commerce=kvk, code=code)
            found = relations.match_relation(rows, vat, kvk, code)
        if not found:
            found = client.create_account(self._prepare_relation_values(partner, vat, kvk))
        return self._map_relation(partner, found, run_cache)

    def _prepare_relation_values(self, partner, vat, kvk):
        """The body of the Exact relation of ``partner`` (hook)."""
        return relations.relation_body(
            partner.name, street=partner.street, street2=partner.street2, zip_code=partner.zip,
            city=partner.city, country=partner.country_id.code, email=partner.email,
            vat=vat, kvk=kvk,
        )

    def _check_period_open(self, journal_code, date, client, closed_periods):
        """Raise a UserError when Exact's ``journal_code`` is closed in the financial period
        of ``date`` (the rule: :class:`..services.exact.periods.ExactPeriods`; what the run
        learnt is kept in ``closed_periods``)."""
        day = fields.Date.to_date(date)
        try:
            ExactPeriods(client, closed_periods).open_period(journal_code, day)
        except NoFinancialPeriod as exc:
            raise UserError(_(
                "Exact Online has no financial period for %(date)s: create the financial "
                "year in Exact Online first, then retry.", date=format_date(self.env, day))
            ) from exc
        except ClosedPeriod as exc:
            raise UserError(
                _("Period %(period)s/%(year)s of Exact Online journal %(journal)s is closed: "
                  "reopen it in Exact Online, then retry.",
                  period=exc.period, year=exc.year, journal=journal_code)
            ) from exc

    def _prepare_sales_entry(self, payload, client=None, run_cache=None):
        """Translate an outbox payload of Odoo ids into the ExactSalesEntryAdapter payload;
        every code and GUID comes from the local mappings, except the relation, which is
        looked up (and created) in Exact when not mapped yet. The period must be open in
        Exact (checked against the closed periods, fetched once per run). ``run_cache``
        holds what one run learnt from Exact (``relations``, ``relations_not_found``,
        ``closed_periods``)."""
        self.ensure_one()
        env = self.env
        run_cache = {} if run_cache is None else run_cache
        client = client or self._get_exact_client()
        if payload.get("several_taxes"):
            raise UserError(_(
                "Invoice %(number)s has lines with several taxes (%(lines)s); a line of an "
                "Exact Online sales entry carries one VAT code. Give each line one tax (split "
                "the line), then post the invoice again.",
                number=payload["number"], lines=", ".join(payload["several_taxes"]),
            ))
        partner = env["res.partner"].browse(payload["partner_id"])
        lines = []
        for line in payload["lines"]:
            account = env["account.account"].browse(line["account_id"])
            tax = env["account.tax"].browse(line.get("tax_id") or [])
            lines.append({
                "gl_account": self._get_gl_guid(account),
                "vat_code": self._get_vat_code(tax) if tax else None,
                "amount": line["amount"],
                "vat_amount": line.get("vat_amount"),
                "description": line.get("description"),
            })
        journal_code = self._get_journal_code(env["account.journal"].browse(payload["journal_id"]))
        self._check_period_open(journal_code, payload["date"], client,
                                run_cache.setdefault("closed_periods", {}))
        return {
            "number": payload["number"],
            "date": payload["date"],
            "due_date": payload.get("due_date"),
            "currency": payload.get("currency"),
            "credit_note": payload.get("credit_note", False),
            "description": payload.get("description"),
            "journal": journal_code,
            "customer": self._get_relation_guid(partner, client, run_cache),
            "lines": lines,
        }

    # -- OAuth 2.0 -------------------------------------------------------------------------

    def _check_manager(self):
        if self.env.uid != SUPERUSER_ID and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only accounting managers may manage the link to the accounting "
                                "package."))

    def _check_can_connect(self):
        """Raise a UserError telling the manager what is missing before the target is asked
        (``_check_can_connect_<target>``)."""
        self.ensure_one()
        return getattr(self, f"_check_can_connect_{self.target}")()

    def _check_can_connect_exact(self):
        """Raise a UserError telling the manager what is missing before Exact is asked."""
        self.ensure_one()
        connection = self.sudo()
        if not connection.client_id or not connection.client_secret:
            raise UserError(_(
                "Fill in the Client ID and Client secret of your Exact Online app first, then "
                "save. You find them in Exact Online's App Center (apps.exactonline.com): "
                "Manage apps, register an app with the Redirect URI %(uri)s, and open the "
                "app to read its Client ID and Client secret.", uri=connection.redirect_uri))
        if connection.base_url in EXACT_HOSTS.values() and not (
            connection.redirect_uri or ""
        ).startswith("https://"):
            raise UserError(_(
                "Exact Online only accepts an HTTPS redirect URI, and this Odoo's is %(uri)s. "
                "Make Odoo reachable over HTTPS (set the system parameter web.base.url to its "
                "https:// address), register the new Redirect URI in Exact's App Center, "
                "then connect again.", uri=connection.redirect_uri))

    def action_connect(self):
        """Open the Connect URL: the Odoo controller that starts the consent."""
        self.ensure_one()
        self._check_manager()
        self._check_can_connect()
        return {
            "type": "ir.actions.act_url",
            "url": f"{OAUTH_PATHS[self.target][0]}/{self.id}",
            "target": "self",
        }

    def _start_authorization(self):
        """Store a fresh ``state`` and return Exact's authorize URL."""
        self.ensure_one()
        self._check_manager()
        self._check_can_connect()
        state = secrets.token_urlsafe(24)
        self.sudo().oauth_state = state
        return self._get_oauth_client().authorize_url(state)

    @api.model
    def _finish_authorization(self, state, code, cursor_factory=None):
        """Check ``state``, trade ``code`` for tokens and store them, all in the token
        row's own locked transaction. Return the connection."""
        if not state or not code:
            raise UserError(_("Exact Online did not return an authorization code."))
        connection = self.sudo().search([("oauth_state", "=", state)], limit=1)
        if not connection:
            raise AccessError(_("Unknown or expired Exact Online authorization request."))
        connection._check_manager()
        oauth = connection._get_oauth_client()
        store = DbTokenStore(cursor_factory or connection._get_cursor_factory(), connection.id)
        with store.lock_and_load():
            cr = store._locked_cr
            cr.execute("SELECT oauth_state FROM accounting_connection WHERE id = %s",
                       (connection.id,))
            if cr.fetchone()[0] != state:
                raise AccessError(_("Unknown or expired Exact Online authorization request."))
            tokens = oauth.exchange_code(code)
            cr.execute(
                "UPDATE accounting_connection SET state = 'connected', oauth_state = NULL, "
                "last_error = NULL WHERE id = %s",
                (connection.id,),
            )
            cr.execute(
                "UPDATE accounting_outbox SET state = 'to_send' "
                "WHERE connection_id = %s AND state = 'reconnect_needed'",
                (connection.id,),
            )
            store.save(tokens)
        connection.invalidate_recordset()
        return connection

    def _set_reconnect_needed(self, message):
        """The token chain is broken: flag, park the records to send, ask a manager."""
        for connection in self:
            connection.write({"state": "reconnect_needed", "last_error": message})
            self.env["accounting.outbox"]._park_for_reconnect(connection)
            manager = connection._get_responsible_manager()
            summary, note = getattr(connection, f"_get_reconnect_texts_{connection.target}")(
                message)
            connection.activity_schedule(
                "mail.mail_activity_data_todo", summary=summary, note=note, user_id=manager.id,
            )

    def _get_reconnect_texts_exact(self, message):
        """(summary, note) of the activity asking to reconnect to Exact Online."""
        return (
            _("Reconnect to Exact Online"),
            _("Exact Online refused the connection: %s. Open the connection and "
              "click Connect; nothing waiting to be sent is lost.", message),
        )

    def _get_reconnect_texts_twinfield(self, message):
        """(summary, note) of the activity asking to reconnect to Twinfield."""
        return (
            _("Reconnect to Twinfield"),
            _("Twinfield refused the connection: %s. Open the connection and click Connect; "
              "nothing waiting to be sent is lost.", message),
        )

    def _get_responsible_manager(self):
        group = self.env.ref(MANAGER_GROUP)
        users = group.users.filtered(
            lambda user: self.company_id in user.company_ids and not user.share
        )
        return users.sorted("id")[:1] or self.env.ref("base.user_admin")

    # -- divisions and reference data --------------------------------------------------

    def action_load_divisions(self):
        """Fetch ``current/Me`` and the divisions for the division picker."""
        self.ensure_one()
        self._check_manager()
        client = self._get_exact_client(division="current")
        me = client.me()
        current = me.get("CurrentDivision")
        client.division = self.division or current
        rows = client.divisions() if client.division else []
        if current and not any(str(row.get("Code")) == str(current) for row in rows):
            rows.append({"Code": current, "Description": _("Current division")})
        self._store_references("division", [
            {"remote_id": str(row["Code"]), "code": str(row["Code"]),
             "name": row.get("Description") or str(row["Code"])}
            for row in rows
        ])
        return True

    def action_refresh_reference_data(self):
        """Fetch G/L accounts, VAT codes and journals of the target and cache them
        (``_refresh_reference_data_<target>``); auto-match."""
        self.ensure_one()
        self._check_manager()
        return getattr(self, f"_refresh_reference_data_{self.target}")()

    def _refresh_reference_data_exact(self):
        client = self._get_exact_client()
        self._store_references("gl_account", [
            {"remote_id": row["ID"], "code": (row.get("Code") or "").strip(),
             "name": row.get("Description") or "", "balance_type": row.get("BalanceType")}
            for row in client.gl_accounts()
        ])
        self._store_references("vat_code", [
            {"remote_id": row["ID"], "code": (row.get("Code") or "").strip(),
             "name": row.get("Description") or "", "percentage": row.get("Percentage") or 0.0}
            for row in client.vat_codes()
        ])
        self._store_references("journal", [
            {"remote_id": row["ID"], "code": (row.get("Code") or "").strip(),
             "name": row.get("Description") or "", "journal_type": row.get("Type")}
            for row in client.journals()
        ])
        self.action_auto_match()
        return True

    def _store_references(self, kind, rows):
        References = self.env["accounting.reference"].sudo()
        existing = {
            ref.remote_id: ref
            for ref in References.with_context(active_test=False).search(
                [("connection_id", "=", self.id), ("kind", "=", kind)]
            )
        }
        to_create = []
        for row in rows:
            ref = existing.pop(row["remote_id"], None)
            if ref:
                ref.write(dict(row, active=True))
            else:
                to_create.append(dict(row, connection_id=self.id, kind=kind))
        References.create(to_create)
        for ref in existing.values():
            ref.active = False

    def action_auto_match(self):
        """Map unmapped accounts by code, sale taxes by percentage and synced journals to
        the only sales journal of Exact; existing mappings are kept."""
        self.ensure_one()
        Mapping = self.env["accounting.mapping"].sudo()
        References = self.env["accounting.reference"].sudo()
        mapped = {
            (mapping.kind, mapping[f"{mapping.kind}_id"].id)
            for mapping in Mapping.search([("connection_id", "=", self.id),
                                           ("kind", "in", ("account", "tax", "journal"))])
        }
        gl_by_code = {
            ref.code: ref
            for ref in References.search([("connection_id", "=", self.id),
                                          ("kind", "=", "gl_account")])
        }
        values = []
        accounts = self.env["account.account"].sudo().search(
            [("company_ids", "in", self.company_id.ids)]
        )
        for account in accounts:
            ref = gl_by_code.get((account.code or "").strip())
            if ref and ("account", account.id) not in mapped:
                values.append({"kind": "account", "account_id": account.id,
                               "reference_id": ref.id})
        vat_refs = References.search([("connection_id", "=", self.id), ("kind", "=", "vat_code")])
        taxes = self.env["account.tax"].sudo().search(
            [("company_id", "=", self.company_id.id), ("type_tax_use", "=", "sale"),
             ("amount_type", "=", "percent")]
        )
        for tax in taxes:
            refs = vat_refs.filtered(lambda ref, tax=tax: abs(ref.percentage * 100 - tax.amount)
                                     < 0.001)
            if len(refs) == 1 and ("tax", tax.id) not in mapped:
                values.append({"kind": "tax", "tax_id": tax.id, "reference_id": refs.id})
        sales_journals = References.search([("connection_id", "=", self.id),
                                            ("kind", "=", "journal"), ("journal_type", "=", 20)])
        if len(sales_journals) == 1:
            for journal in self.sync_journal_ids:
                if ("journal", journal.id) not in mapped:
                    values.append({"kind": "journal", "journal_id": journal.id,
                                   "reference_id": sales_journals.id})
        values += self._auto_match_analytic(mapped)
        Mapping.create([dict(vals, connection_id=self.id) for vals in values])
        return True

    def _auto_match_analytic(self, mapped):
        """Mapping values of the unmapped analytic accounts (of projects, among others)
        whose reference equals the code of a cost centre (Twinfield KPL)."""
        cost_centres = {
            ref.code: ref for ref in self.env["accounting.reference"].sudo().search(
                [("connection_id", "=", self.id), ("kind", "=", "cost_centre")])
        }
        if not cost_centres:
            return []
        mapped_analytic = set(self.env["accounting.mapping"].sudo().search([
            ("connection_id", "=", self.id), ("kind", "=", "analytic")]).analytic_id.ids)
        analytic = self.env["account.analytic.account"].sudo().search([
            ("code", "in", list(cost_centres)),
            ("company_id", "in", [False, self.company_id.id]),
        ])
        return [
            {"kind": "analytic", "analytic_id": account.id,
             "reference_id": cost_centres[account.code].id}
            for account in analytic if account.id not in mapped_analytic
        ]

    # -- outbox ------------------------------------------------------------------------

    def action_open_outbox(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "hours_invoicing_exact.action_accounting_outbox"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        return action

    def action_process_outbox(self):
        """Send everything due now."""
        self._check_manager()
        for connection in self:
            report = self.env["accounting.outbox"].sudo()._process(connection)
            if report.stopped:
                raise UserError(report.stopped)
        return True

    @api.model
    def _cron_keep_alive(self):
        """Refresh token chains not refreshed for a while (they die after 30 idle days)."""
        # the token store writes these columns under the ORM's feet
        self.env["accounting.connection"].invalidate_model(["exact_token_issued_at"])
        # Twinfield's refresh tokens live 25 years: only Exact's chains need a touch
        for connection in self.sudo().search([("state", "=", "connected"),
                                              ("target", "=", "exact")]):
            if time.time() - (connection.exact_token_issued_at or 0.0) < KEEP_ALIVE_AFTER:
                continue
            try:
                connection._get_token_manager().access_token()
            except ReconnectNeeded as exc:
                connection._set_reconnect_needed_own_transaction(exc.message)
            except SyncError as exc:
                _logger.warning("Exact Online keep-alive failed: %s", type(exc).__name__)

    def _set_reconnect_needed_own_transaction(self, message):
        with own_env(self._get_cursor_factory()) as env:
            self.with_env(env)._set_reconnect_needed(message)
        self.invalidate_recordset()

    # -- readiness -------------------------------------------------------------------------

    def _is_ready_to_sync(self):
        """Whether the connection knows where to book (``_is_ready_<target>``)."""
        self.ensure_one()
        return self.state == "connected" and getattr(self, f"_is_ready_{self.target}")()

    def _is_ready_exact(self):
        return bool(self.division)

    def _is_ready_twinfield(self):
        return bool(self.twf_office and self.twf_cluster_url)

    # -- Twinfield ---------------------------------------------------------------------------

    def _check_can_connect_twinfield(self):
        """Raise a UserError telling the manager what is missing before Twinfield is asked."""
        self.ensure_one()
        connection = self.sudo()
        if not connection.client_id or not connection.client_secret:
            raise UserError(_(
                "Fill in the Client ID and Client secret of your Twinfield app first, then "
                "save. Register the app at Wolters Kluwer with the Redirect URI %(uri)s.",
                uri=connection.redirect_uri))

    def _get_twinfield_oidc(self):
        self.ensure_one()
        connection = self.sudo()
        if not connection.client_id or not connection.client_secret:
            raise UserError(_("Fill in the client id and client secret of the Twinfield app."))
        return TwinfieldOIDC(
            connection.client_id,
            connection.client_secret,
            connection.redirect_uri,
            login_host=connection.twf_login_host or LOGIN_HOST,
            clock=self._get_clock(),
            timeout=30.0,
        )

    def _get_twinfield_token_manager(self, cursor_factory=None):
        self.ensure_one()
        store = DbTokenStore(cursor_factory or self._get_cursor_factory(), self.id, prefix="twf")
        return TwinfieldTokenManager(store, self._get_twinfield_oidc())

    def _get_twinfield_max_wait(self):
        """Longest wait (seconds) for the fair-use minute to turn before a run stops."""
        return 65.0

    def _get_twinfield_budget(self, cursor_factory=None):
        """The fair-use credits of (client id, organisation), shared through the database."""
        self.ensure_one()
        connection = self.sudo()
        key = f"twinfield/{connection.client_id}/{connection.twf_organisation or ''}"
        return CreditBudget(
            DbCreditStore(cursor_factory or self._get_cursor_factory(), key),
            limit=limit_for(connection.twf_certified),
            clock=self._get_clock(),
            max_wait=self._get_twinfield_max_wait(),
        )

    def _get_twinfield_client(self, cursor_factory=None, office=None, list_offices=False):
        """Return a :class:`TwinfieldClient` on the connection's office (``office`` before
        one is chosen), sharing the tokens and the credits with every worker. With
        ``list_offices`` and no office chosen yet, the client names no office: it can only
        list the offices of the organisation."""
        self.ensure_one()
        self.env.flush_all()
        factory = cursor_factory or self._get_cursor_factory()
        office = office or self.twf_office
        if not self.twf_cluster_url:
            raise UserError(_("Connect to Twinfield first."))
        if not office and not list_offices:
            raise UserError(_("Choose the Twinfield office first."))
        return TwinfieldClient(
            self.twf_cluster_url,
            office or "",
            self._get_twinfield_token_manager(factory),
            self._get_twinfield_budget(factory),
            clock=self._get_clock(),
            timeout=self._get_timeout(),
        )

    def _twinfield_start_authorization(self):
        """Store a fresh ``state`` and ``nonce`` and return Twinfield's authorize URL."""
        self.ensure_one()
        self._check_manager()
        self._check_can_connect()
        state, nonce = new_state_and_nonce()
        self.sudo().write({"oauth_state": state, "twf_nonce": nonce})
        return self._get_twinfield_oidc().authorize_url(state, nonce)

    @api.model
    def _twinfield_finish_authorization(self, state, code, cursor_factory=None):
        """Check ``state``, trade ``code`` for tokens (the ID token must carry our
        ``nonce``), read the cluster from the token validation and store everything in
        the token row's own locked transaction. Return the connection."""
        if not state or not code:
            raise UserError(_("Twinfield did not return an authorization code."))
        connection = self.sudo().search(
            [("oauth_state", "=", state), ("target", "=", "twinfield")], limit=1)
        if not connection:
            raise AccessError(_("Unknown or expired Twinfield authorization request."))
        connection._check_manager()
        oidc = connection._get_twinfield_oidc()
        store = DbTokenStore(cursor_factory or connection._get_cursor_factory(), connection.id,
                             prefix="twf")
        with store.lock_and_load():
            cr = store._locked_cr
            cr.execute("SELECT oauth_state, twf_nonce FROM accounting_connection WHERE id = %s",
                       (connection.id,))
            stored_state, nonce = cr.fetchone()
            if stored_state != state:
                raise AccessError(_("Unknown or expired Twinfield authorization request."))
            tokens = oidc.exchange_code(code, nonce or "")
            info = oidc.validate(tokens.access_token)
            cr.execute(
                "UPDATE accounting_connection SET state = 'connected', oauth_state = NULL, "
                "twf_nonce = NULL, last_error = NULL, twf_cluster_url = %s, "
                "twf_organisation = %s WHERE id = %s",
                (info.cluster_url, info.organisation_code, connection.id),
            )
            cr.execute(
                "UPDATE accounting_outbox SET state = 'to_send' "
                "WHERE connection_id = %s AND state = 'reconnect_needed'",
                (connection.id,),
            )
            store.save(tokens)
        connection.invalidate_recordset()
        return connection

    @contextlib.contextmanager
    def _twinfield_in_app_errors(self):
        """Turn what Twinfield answered a button with into a message in Odoo (a UserError,
        translated); a refused token chain also flags the connection *reconnect needed*."""
        try:
            yield
        except ReconnectNeeded as exc:
            self._set_reconnect_needed_own_transaction(exc.message)
            raise UserError(_("Twinfield refused the connection (%s). Click Connect to log in "
                              "to Twinfield again.", exc.message)) from exc
        except SyncError as exc:
            raise UserError(_("Twinfield could not be asked (%s). Try again later.",
                              exc.message)) from exc

    def action_twinfield_load_offices(self):
        """Read the offices of the organisation for the office picker (one read)."""
        self.ensure_one()
        self._check_manager()
        client = self._get_twinfield_client(list_offices=True)
        with self._twinfield_in_app_errors():
            offices = TwinfieldReference(client).offices()
        self._store_references("office", [
            {"remote_id": row["code"], "code": row["code"], "name": row["name"] or row["code"]}
            for row in offices
        ])
        return True

    def _refresh_reference_data_twinfield(self):
        """GL accounts (BAS, PNL; codes as text), VAT codes, and the sales transaction type
        (``VRK``) as the sales journal; then auto-match."""
        with self._twinfield_in_app_errors():
            return self._refresh_reference_data_twinfield_read()

    def _refresh_reference_data_twinfield_read(self):
        reference = TwinfieldReference(self._get_twinfield_client())
        self._store_references("gl_account", [
            {"remote_id": row["code"], "code": row["code"], "name": row["name"] or "",
             "balance_type": "B" if row.get("type") == "BAS" else "W"}
            for row in reference.gl_accounts()
        ])
        self._store_references("vat_code", [
            {"remote_id": row["code"], "code": row["code"], "name": row["name"] or "",
             "percentage": float(row["percentage"] or 0) / 100.0}
            for row in reference.vat_codes()
        ])
        self._store_references("journal", [
            {"remote_id": TWF_SALES_CODE, "code": TWF_SALES_CODE, "name": _("Sales"),
             "journal_type": 20},
        ])
        if self.company_id.hie_twf_cost_centre_dim:  # optional: one read (1 credit)
            self._store_references("cost_centre", [
                {"remote_id": row["code"], "code": row["code"], "name": row["name"] or ""}
                for row in reference.dimensions("KPL")
            ])
        self.action_auto_match()
        return True

    def _twinfield_code(self, kind, record):
        """Return the Twinfield code mapped to ``record`` (an account, tax or journal)."""
        code = self._get_mapping(kind, record).reference_id.code
        if not code:
            raise UserError(_("%(record)s is not mapped to a Twinfield code: map it on the "
                              "Twinfield connection.", record=record.display_name))
        return code

    def _twinfield_customers(self, client, run_cache):
        """The customers (DEB) of the office, read once per run (1 credit)."""
        if "twf_customers" not in run_cache:
            run_cache["twf_customers"] = TwinfieldReference(client).customers()
        return run_cache["twf_customers"]

    def _twinfield_customer_code(self, partner, client, run_cache):
        """Return the Twinfield customer (DEB) code of ``partner``'s company: mapped, else
        matched by VAT number, KvK number, then code, else created (numbers checked with
        python-stdnum first); the mapping is committed at once.

        Created exactly once, also when the answer to the creation is lost (Twinfield has
        no idempotency key, accounting-apis.md B3/C3): the code is chosen in Odoo and
        committed on the partner's mapping (*reserved*: ``remote_code`` without
        ``remote_id``) before the call; a later attempt finds the reservation, reads the
        office's customers afresh and records the customer of that code instead of
        creating a second one."""
        self.ensure_one()
        partner = partner.commercial_partner_id
        known = run_cache.get("relations", {}).get(partner.id)
        if known:
            return known
        mapping = self._get_mapping("partner", partner)
        if mapping.remote_id:
            return mapping.remote_id
        vat, kvk = self._check_partner_numbers(partner)
        reserved = run_cache.get("twf_reserved", {}).get(partner.id) or mapping.remote_code
        if reserved:
            return self._twinfield_resume_customer(partner, reserved, vat, kvk, client,
                                                   run_cache)
        code = (partner.ref or "").strip() or None
        customers = self._twinfield_customers(client, run_cache)
        found = match_customer(customers, vat_number=vat, coc_number=kvk, code=code)
        if found:
            return self._map_relation(partner, {"ID": found["code"], "Code": found["code"]},
                                      run_cache)
        taken = {row["code"] for row in customers}
        if not code or code in taken:
            code = self._twinfield_next_customer_code(taken)
        code = self._twinfield_reserve_customer_code(partner, code, run_cache)
        if code in taken:  # another worker reserved (and may have created) it meanwhile
            return self._twinfield_resume_customer(partner, code, vat, kvk, client, run_cache)
        return self._twinfield_create_customer(partner, code, vat, kvk, client, run_cache)

    def _twinfield_next_customer_code(self, taken):
        """A free customer code after the numeric ones of ``taken`` (at least 1000); codes
        reserved in Odoo but perhaps not created yet count as taken."""
        reserved = self.env["accounting.mapping"].sudo().search([
            ("connection_id", "=", self.id), ("kind", "=", "partner"),
            ("remote_code", "!=", False),
        ]).mapped("remote_code")
        numbers = [int(c) for c in set(taken) | set(reserved) if c and c.isdigit()]
        return str(max(numbers + [999]) + 1)

    def _twinfield_reserve_customer_code(self, partner, code, run_cache):
        """Commit ``code`` as ``partner``'s customer code before Twinfield is asked to create
        it (a mapping without ``remote_id``); return the code reserved for the partner
        (another worker's, when it was first)."""
        factory = run_cache.get("cursor_factory") or self._get_cursor_factory()
        try:
            with own_env(factory) as env:
                env["accounting.mapping"].create({
                    "connection_id": self.id, "kind": "partner", "partner_id": partner.id,
                    "remote_code": code,
                })
        except psycopg2.IntegrityError:
            with own_env(factory) as env:
                code = env["accounting.mapping"].search([
                    ("connection_id", "=", self.id), ("kind", "=", "partner"),
                    ("partner_id", "=", partner.id)], limit=1).remote_code or code
        run_cache.setdefault("twf_reserved", {})[partner.id] = code
        return code

    def _twinfield_create_customer(self, partner, code, vat, kvk, client, run_cache):
        """Create the customer ``code`` (reserved) in Twinfield and confirm the mapping.
        A refusal because the code exists is checked against Twinfield's customers."""
        try:
            new_code = TwinfieldReference(client).create_customer(
                self._twinfield_prepare_customer(partner, code, vat, kvk))
        except TwinfieldRejected as exc:
            found = self._twinfield_find_reserved(partner, code, vat, kvk, client, run_cache)
            if found:
                return found
            raise UserError(_(
                "Twinfield refused customer %(code)s (%(partner)s): %(error)s",
                code=code, partner=partner.display_name, error=exc.message)) from exc
        run_cache.setdefault("twf_customers", []).append(
            {"code": new_code, "name": partner.name, "vatnumber": vat, "cocnumber": kvk})
        return self._twinfield_confirm_customer(partner, new_code, run_cache)

    def _twinfield_prepare_customer(self, partner, code, vat, kvk):
        """The customer dimension of ``partner`` (hook)."""
        return {
            "code": code, "name": partner.name, "vat_number": vat, "coc_number": kvk,
            "country": partner.country_id.code, "city": partner.city,
            "postcode": partner.zip, "street": partner.street, "email": partner.email,
        }

    def _twinfield_resume_customer(self, partner, code, vat, kvk, client, run_cache):
        """An earlier attempt reserved ``code`` for ``partner`` and may have created it:
        record the customer when Twinfield has it, else create it now under that code."""
        found = self._twinfield_find_reserved(partner, code, vat, kvk, client, run_cache)
        if found:
            return found
        return self._twinfield_create_customer(partner, code, vat, kvk, client, run_cache)

    def _twinfield_find_reserved(self, partner, code, vat, kvk, client, run_cache):
        """Read the office's customers afresh (the run's list may predate the creation) and
        return the confirmed code when the customer ``code`` is the partner's; a code taken
        by another customer is refused with a clear message."""
        customers = TwinfieldReference(client).customers()
        run_cache["twf_customers"] = customers
        found = next((row for row in customers if row["code"] == code), None)
        if not found:
            return None
        same = " ".join((found.get("name") or "").split()).casefold() == \
            " ".join((partner.name or "").split()).casefold()
        if not same and not match_customer([found], vat_number=vat, coc_number=kvk):
            raise UserError(_(
                "Customer code %(code)s chosen for %(partner)s is used in Twinfield by "
                "%(other)s. Map the partner to its Twinfield customer on the Twinfield "
                "connection (Mappings), then retry.",
                code=code, partner=partner.display_name, other=found.get("name") or code))
        return self._twinfield_confirm_customer(partner, code, run_cache)

    def _twinfield_confirm_customer(self, partner, code, run_cache):
        """The customer ``code`` exists in Twinfield: complete the partner's mapping
        (committed at once)."""
        run_cache.setdefault("relations", {})[partner.id] = code
        run_cache.get("twf_reserved", {}).pop(partner.id, None)
        factory = run_cache.get("cursor_factory") or self._get_cursor_factory()
        with own_env(factory) as env:
            mapping = env["accounting.mapping"].search([
                ("connection_id", "=", self.id), ("kind", "=", "partner"),
                ("partner_id", "=", partner.id)], limit=1)
            if mapping:
                mapping.write({"remote_id": code, "remote_code": code})
            else:
                env["accounting.mapping"].create({
                    "connection_id": self.id, "kind": "partner", "partner_id": partner.id,
                    "remote_id": code, "remote_code": code,
                })
        return code

    def _twinfield_prepare_sales(self, payload, client, run_cache):
        """Translate an outbox payload of Odoo ids into the TwinfieldSalesAdapter payload;
        codes come from the local mappings, the customer is matched or created."""
        self.ensure_one()
        env = self.env
        if payload.get("several_taxes"):
            raise UserError(_(
                "Invoice %(number)s has lines with several taxes (%(lines)s); a line of a "
                "Twinfield transaction carries one VAT code. Give each line one tax.",
                number=payload["number"], lines=", ".join(payload["several_taxes"]),
            ))
        lines = []
        for line in payload["lines"]:
            tax = env["account.tax"].browse(line.get("tax_id") or [])
            lines.append({
                "gl_account": self._twinfield_code(
                    "account", env["account.account"].browse(line["account_id"])),
                "vat_code": self._twinfield_code("tax", tax) if tax else None,
                "amount": f"{line['amount']:.2f}",
                "vat_amount": f"{line.get('vat_amount') or 0.0:.2f}",
                "description": line.get("description"),
                **self._twinfield_cost_centre(line.get("analytic_id")),
            })
        journal = env["account.journal"].browse(payload["journal_id"])
        return {
            "number": payload["number"],
            "date": payload["date"],
            "due_date": payload.get("due_date"),
            "currency": payload.get("currency"),
            "credit_note": payload.get("credit_note", False),
            "description": payload.get("description"),
            "code": self._get_mapping("journal", journal).reference_id.code or TWF_SALES_CODE,
            "customer": self._twinfield_customer_code(
                env["res.partner"].browse(payload["partner_id"]), client, run_cache),
            "lines": lines,
        }

    def _twinfield_cost_centre(self, analytic_id):
        """``{"cost_centre", "cost_centre_dim"}`` of a line of analytic account
        ``analytic_id``: its Twinfield cost centre (KPL) on the dimension level the company
        set; empty when the company sends no cost centres or the account is not mapped
        (cost centres are optional)."""
        level = self.company_id.hie_twf_cost_centre_dim
        if not level or not analytic_id:
            return {}
        code = self._get_mapping(
            "analytic", self.env["account.analytic.account"].browse(analytic_id)
        ).reference_id.code
        return {"cost_centre": code, "cost_centre_dim": level} if code else {}

    def _twinfield_is_closed(self, client, run_cache):
        """``is_closed("YYYY/PP")`` from the periods of the office, read once per year."""
        periods = run_cache.setdefault("twf_periods", {})

        def is_closed(period):
            year = int(period.split("/")[0])
            if year not in periods:
                try:
                    periods[year] = {row["period"]: row["open"]
                                     for row in TwinfieldReference(client).periods(year)}
                except TwinfieldError as exc:
                    _logger.info("Twinfield periods of %s not read: %s", year, exc.message)
                    periods[year] = {}
            return periods[year].get(period) is False

        return is_closed

    # -- payment status (information only: nothing is booked, nothing is sent) ---------------

    @api.model
    def _cron_read_payment_status(self):
        """Read the open items of every connected company once (one paged read each)."""
        for connection in self.sudo().search([("state", "=", "connected")]):
            if connection._is_ready_to_sync():
                connection._read_payment_status()

    def action_read_payment_status(self):
        """Button: read the payment status now."""
        self.ensure_one()
        self._check_manager()
        if not self.sudo()._read_payment_status():
            raise UserError(self.sudo().payment_read_error)
        return True

    def _read_open_items(self, client):
        """Open items of the package: ``_read_open_items_<target>``."""
        return getattr(self, f"_read_open_items_{self.target}")(client)

    def _read_open_items_exact(self, client):
        return payment_status.exact_open_items(client)

    def _read_open_items_twinfield(self, client):
        return payment_status.twinfield_open_items(client)

    def _read_payment_status(self):
        """Read all open items in one paged read and update the payment status of the
        invoices this connection sent. A failed read changes no invoice: they keep their last
        known status, and the connection records the failure (shown on the invoices).
        Return whether the read succeeded."""
        self.ensure_one()
        started = fields.Datetime.now()
        try:
            items = self._read_open_items(self._get_client())
        except ReconnectNeeded as exc:
            self._set_reconnect_needed_own_transaction(exc.message)
            return self._payment_read_failed(started, exc.message)
        except (SyncError, UserError) as exc:
            return self._payment_read_failed(
                started, getattr(exc, "message", None) or str(exc.args[0] if exc.args else exc))
        except ValueError as exc:
            return self._payment_read_failed(started, str(exc))
        self._apply_payment_status(items, started)
        self._write_own_transaction({"payment_read_at": started, "payment_read_error": False,
                                     "payment_read_failed_at": False})
        return True

    def _payment_read_failed(self, when, message):
        _logger.info("Payment status of %s not read: %s", self.display_name, message)
        self._write_own_transaction({
            "payment_read_failed_at": when,
            "payment_read_error": _("Reading the open items failed: %(error)s", error=message),
        })
        return False

    def _apply_payment_status(self, items, read_at):
        """Set status, open amount and read time on the invoices sent by this connection
        that are not known as paid, and on those listed again; set-based (one SELECT, one
        UPDATE per 1,000 invoices)."""
        self.ensure_one()
        amounts = payment_status.open_amounts(items)
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT m.id, o.reference, m.amount_total, m.hie_payment_status,
                   m.hie_payment_open_amount
              FROM accounting_outbox o
              JOIN account_move m ON m.id = o.res_id
             WHERE o.connection_id = %s AND o.res_model = 'account.move'
               AND o.kind = 'sales_entry' AND o.state = 'sent'
               AND m.state = 'posted'
               AND (m.hie_payment_status IS NULL OR m.hie_payment_status != 'paid'
                    OR o.reference = ANY(%s))
            """,
            (self.id, list(amounts)),
        )
        rows = []
        for move_id, reference, total, old_status, old_open in self.env.cr.fetchall():
            still = amounts.get(reference, 0)
            status = payment_status.status_of(total or 0, still)
            rows.append((move_id, status, float(abs(still)), old_status, old_open))
        for chunk in chunks(rows, 1000):
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params = [value for row in chunk for value in row[:3]]
            self.env.cr.execute(
                f"""
                UPDATE account_move m
                   SET hie_payment_status = v.status, hie_payment_open_amount = v.open_amount,
                       hie_open_amount = v.open_amount, hie_payment_read_at = %s
                  FROM (VALUES {values}) AS v(id, status, open_amount)
                 WHERE m.id = v.id
                """,  # noqa: S608 - only placeholders are formatted in
                [read_at, *params],
            )
        self.env["account.move"].invalidate_model(
            ["hie_payment_status", "hie_payment_open_amount", "hie_open_amount",
             "hie_payment_read_at"])
        return rows
