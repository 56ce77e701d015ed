"""A local fake Exact Online server for tests and demos.

It speaks the protocol described in the project reference (part A), on
``http://127.0.0.1:<port>``:

* OAuth 2.0: ``/api/oauth2/auth`` consents at once and redirects back with ``code`` and
  ``state``; ``/api/oauth2/token`` issues 600 s access tokens and single-use rotating
  refresh tokens, refuses a refresh within 570 s of the previous issue (400, header
  ``Reason: TooEarlyToRefreshTokens``), answers a reused refresh token with 401
  ``unauthorized_client`` "Old refresh token used." and breaks that chain, and expires
  refresh tokens unused for 30 days;
* rate limits per division (60 a minute and 5,000 a day by default) announced in the six
  ``X-RateLimit-*`` headers (epoch milliseconds), 429 beyond them, minutely headers only
  when the minutely quota is the one exhausted;
* the entities the client uses, in memory: ``current/Me``, ``hrm/Divisions``,
  ``system/Divisions``, ``crm/Accounts``, ``financial/GLAccounts``, ``vat/VATCodes``,
  ``financial/Journals``, ``salesentry/SalesEntries``,
  ``generaljournalentry/GeneralJournalEntries`` (VAT lines generated from ``VATCode``:
  the line's ``AmountVATFC`` when given, else the amount times the percentage, and counted
  in the balance check), ``generaljournalentry/GeneralJournalEntryLines`` and
  ``read/financial/JournalStatusByFinancialPeriod``, ``financial/FinancialPeriods`` (calendar
  months, or a table of the test's: :meth:`ExactServer.set_financial_periods`; an entry
  must name an existing period); OData ``$filter`` (``eq``, ``ne``,
  ``gt``, ``ge``, ``lt``, ``le``, ``and``, ``or``, parentheses, ``trim()``, ``guid'..'``),
  ``$select``, ``$top`` and pages of 60 rows linked by ``__next``;
* business errors as HTTP 500 with Exact's error JSON (unknown G/L account, VAT code,
  journal or customer, wrong account or journal type, closed period, unbalanced entry,
  an entry number the journal has already);
* strict like Exact (each rule cites its section of the project's ``accounting-apis.md``):
  a path Exact does not serve is a 404 (``/api/v1/current/Me`` has no division, every other
  resource is under ``/api/v1/{division}/``), a GET without ``$select`` on the endpoints that
  require it is a 400 with Exact's message, a POST body with a property the entity does not
  have is a 400; VAT is computed per line, half away from zero, unless ``VATAmountFC`` /
  ``AmountVATFC`` gives it, and a general journal entry's VAT is booked on a generated line
  on the VAT code's ``GLToPay`` account;
* fault injection (:meth:`ExactServer.inject`): status codes (500, 503, 429...), a
  timeout after the write was stored, connection resets before or after storing.

Test tooling, not part of the addon: it is neither shipped in the wheel nor importable at
run time. Its time is :attr:`ExactServer.clock`, by default a ``VirtualClock`` of the addon's
``services/exact/clock.py``
that tests move with ``clock.advance(seconds)`` or share with the client; demos may pass
a :class:`~..exact.clock.SystemClock`.
"""

import collections
import dataclasses
import datetime
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from .local_server import LocalServer

if "hours_invoicing_exact" in sys.modules:  # Odoo-free tests and tools: the bare package
    from hours_invoicing_exact.services.exact.clock import Clock, VirtualClock
else:  # inside Odoo
    from odoo.addons.hours_invoicing_exact.services.exact.clock import Clock, VirtualClock

DEFAULT_DIVISION = 1234
PAGE_SIZE = 60
ACCESS_TOKEN_LIFETIME = 600
MIN_REFRESH_INTERVAL = 570
REFRESH_TOKEN_LIFETIME = 30 * 86400
AUTHORIZATION_CODE_LIFETIME = 180
#: Entities whose GET needs ``$select`` (or ``$top=1``), as Exact demands for some
#: (accounting-apis.md A4 "Transport conventions", row ``$select``).
SELECT_REQUIRED = {
    # A4 "``$select``": "Always send ``$select``"; the receivables report (A7) is a read-only
    # report endpoint like the bulk ones, which require it
    "read/financial/ReceivablesList",
    "salesentry/SalesEntries",
    "generaljournalentry/GeneralJournalEntries",
    "generaljournalentry/GeneralJournalEntryLines",
}
#: Message of Exact's ``$select`` rule (accounting-apis.md A4, row ``$select``).
SELECT_MESSAGE = "Please add a $select or a $top=1 statement to the query string."
#: Properties Exact accepts in a POST body, per entity and for its embedded lines; any other
#: property is refused with 400 like OData refuses it (accounting-apis.md A4: the field lists of
#: SalesEntries, GeneralJournalEntries and crm/Accounts; A5: OData/format errors are 400).
POST_PROPERTIES = {
    "crm/Accounts": (
        "Account", frozenset({
            "Name", "Code", "SearchCode", "Status", "IsSales", "VATNumber", "ChamberOfCommerce",
            "AddressLine1", "AddressLine2", "AddressLine3", "Postcode", "City", "State",
            "Country", "Email", "Phone", "Website", "Blocked", "Language", "PaymentCondition",
        }), None, frozenset()),
    "salesentry/SalesEntries": (
        "SalesEntry", frozenset({
            "Customer", "Journal", "EntryDate", "DueDate", "ReportingYear", "ReportingPeriod",
            "YourRef", "Description", "Currency", "Rate", "PaymentCondition",
            "PaymentReference", "EntryNumber", "InvoiceNumber", "Type", "AmountFC",
            "VATAmountFC", "Document", "SalesEntryLines",
        }), "SalesEntryLines", frozenset({
            "GLAccount", "AmountFC", "AmountDC", "VATCode", "VATAmountFC", "VATBaseAmountFC",
            "Description", "Quantity", "CostCenter", "CostUnit", "Project", "From", "To",
            "Notes",
        })),
    "generaljournalentry/GeneralJournalEntries": (
        "GeneralJournalEntry", frozenset({
            "JournalCode", "FinancialYear", "FinancialPeriod", "Currency", "ExchangeRate",
            "Reversal", "Type", "EntryNumber", "GeneralJournalEntryLines",
        }), "GeneralJournalEntryLines", frozenset({
            "GLAccount", "AmountFC", "AmountDC", "Date", "Description", "VATCode",
            "AmountVATFC", "VATBaseAmountFC", "VATType", "Account", "CostCenter", "CostUnit",
            "Project", "Quantity", "OurRef", "Notes", "Document",
        })),
}
#: Well-known ids of the seeded data.
CUSTOMER_ID = "0b0c0a57-0000-4000-8000-000000000001"
REVENUE_ACCOUNT_ID = "9e1a0000-0000-4000-8000-000000008000"
SECOND_REVENUE_ACCOUNT_ID = "9e1a0000-0000-4000-8000-000000008010"
RECEIVABLE_ACCOUNT_ID = "9e1a0000-0000-4000-8000-000000001300"
#: G/L accounts of the VAT to pay, on which Exact books the VAT lines it generates.
VAT_HIGH_ACCOUNT_ID = "9e1a0000-0000-4000-8000-000000001500"
VAT_LOW_ACCOUNT_ID = "9e1a0000-0000-4000-8000-000000001510"


def error_body(text: str) -> dict:
    """Return Exact's error JSON carrying ``text``."""
    return {"error": {"code": "", "message": {"lang": "", "value": text}}}


def exact_date(day: datetime.date) -> str:
    """Return ``day`` as Exact returns dates: ``/Date(<epoch ms>)/``."""
    moment = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


class ODataError(ValueError):
    """A query the fake server cannot or will not answer (HTTP 400)."""


# -- OData $filter ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<guid>guid'[0-9a-fA-F-]{36}')|(?P<datetime>datetime'[^']*')"
    r"|(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<open>\()|(?P<close>\))|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_COMPARISONS = {
    "eq": lambda left, right: left == right,
    "ne": lambda left, right: left != right,
    "gt": lambda left, right: left is not None and left > right,
    "ge": lambda left, right: left is not None and left >= right,
    "lt": lambda left, right: left is not None and left < right,
    "le": lambda left, right: left is not None and left <= right,
}


def _tokenize(text: str) -> list[tuple[str, str]]:
    """Split a ``$filter`` into (kind, text) tokens."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip():
                raise ODataError(f"Invalid $filter near: {text[position:position + 20]!r}")
            break
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class FilterParser:
    """Recursive-descent parser turning a ``$filter`` into a predicate over a row."""

    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.position = 0

    def parse(self):
        """Return ``predicate(row) -> bool``."""
        predicate = self._or()
        if self.position != len(self.tokens):
            raise ODataError("Invalid $filter: unexpected " + self.tokens[self.position][1])
        return predicate

    def _peek(self, text: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position][1].lower() == text

    def _next(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise ODataError("Invalid $filter: unexpected end")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _or(self):
        parts = [self._and()]
        while self._peek("or"):
            self.position += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda row: any(part(row) for part in parts)

    def _and(self):
        parts = [self._atom()]
        while self._peek("and"):
            self.position += 1
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else lambda row: all(part(row) for part in parts)

    def _atom(self):
        if self._peek("("):
            self.position += 1
            predicate = self._or()
            if self._next()[0] != "close":
                raise ODataError("Invalid $filter: ')' expected")
            return predicate
        operand = self._operand()
        operator = self._next()[1].lower()
        if operator not in _COMPARISONS:
            raise ODataError(f"Invalid $filter: unknown operator {operator!r}")
        literal = self._literal()
        compare = _COMPARISONS[operator]
        return lambda row: compare(operand(row), literal)

    def _operand(self):
        kind, text = self._next()
        if kind != "word":
            raise ODataError(f"Invalid $filter: field expected, got {text!r}")
        if text.lower() in ("trim", "tolower", "toupper") and self._peek("("):
            self.position += 1
            inner = self._operand()
            if self._next()[0] != "close":
                raise ODataError("Invalid $filter: ')' expected")
            function = {"trim": str.strip, "tolower": str.lower, "toupper": str.upper}[text.lower()]
            return lambda row: None if inner(row) is None else function(str(inner(row)))
        return lambda row: _comparable(row.get(text))

    def _literal(self):
        kind, text = self._next()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "guid":
            return text[5:-1].lower()
        if kind == "datetime":
            return text[9:-1]
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise ODataError(f"Invalid $filter: literal expected, got {text!r}")


def _comparable(value):
    """Normalise stored values for comparison (GUIDs are case-insensitive)."""
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return value.lower()
    return value


# -- server state -----------------------------------------------------------------------


@dataclasses.dataclass
class Fault:
    """An injected failure; see :meth:`ExactServer.inject`."""

    kind: str
    count: int = 1
    status: int = 500
    method: str | None = None
    path: str | None = None
    delay: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        """Whether the fault applies to this request."""
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


@dataclasses.dataclass
class _Chain:
    """One OAuth consent's token chain."""

    issued_at: float
    broken: bool = False


@dataclasses.dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict = dataclasses.field(default_factory=dict)


class ExactServer(LocalServer):
    """The fake Exact Online server; use as a context manager or with start()/stop().

    Inspect :attr:`sales_entries`, :attr:`general_journal_entries`, :attr:`accounts`,
    the counters :attr:`calls` ((method, resource) -> n), :attr:`statuses`
    (HTTP status -> n) and :attr:`token_calls` (grant type -> n).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        client_id: str = "test-client-id",
        client_secret: str = "test-client-secret",
        divisions: tuple[int, ...] = (DEFAULT_DIVISION,),
        minutely_limit: int = 60,
        daily_limit: int = 5000,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
    ):
        self.clock = clock or VirtualClock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.divisions = list(divisions)
        self.minutely_limit = minutely_limit
        self.daily_limit = daily_limit
        self.token_delay = 0.0
        #: Called as ``before_post(path)`` before a POST is handled, outside the server's
        #: lock (tests hold concurrent requests there, e.g. at a barrier).
        self.before_post = None
        self.accounts: list[dict] = []
        self.gl_accounts: list[dict] = []
        self.vat_codes: list[dict] = []
        self.journals: list[dict] = []
        self.sales_entries: list[dict] = []
        self.general_journal_entries: list[dict] = []
        self.general_journal_entry_lines: list[dict] = []
        self.journal_status: list[dict] = []
        #: financial periods per division as ``[(year, period, start, end)]``; a division
        #: without its own table has calendar months (see :meth:`set_financial_periods`)
        self.financial_periods: dict[int, list[tuple[int, int, datetime.date, datetime.date]]] = {}
        self.calls: collections.Counter = collections.Counter()
        self.statuses: collections.Counter = collections.Counter()
        self.token_calls: collections.Counter = collections.Counter()
        self.faults: list[Fault] = []
        self._codes: dict[str, tuple[str, float]] = {}
        self._access_tokens: dict[str, float] = {}
        self._refresh_tokens: dict[str, tuple[str, float, bool]] = {}
        self._chains: dict[str, _Chain] = {}
        self._usage: dict[tuple, int] = collections.Counter()
        self._entry_numbers: dict[tuple, int] = collections.Counter()
        self._lock = threading.RLock()
        self._bind(host, port, _Handler)
        if seed:
            for division in self.divisions:
                self.seed(division)

    # -- life cycle ----------------------------------------------------------------

    # -- test helpers --------------------------------------------------------------

    def seed(self, division: int) -> None:
        """Add a customer, G/L accounts, VAT codes and journals to ``division``."""
        self.add_account(
            division,
            Name="Klant BV",
            Code="1",
            ID=CUSTOMER_ID,
            VATNumber="NL000099998B57",
            ChamberOfCommerce="12345678",
        )
        for guid, code, description, gl_type, balance in (
            (REVENUE_ACCOUNT_ID, "8000", "Omzet diensten", 110, "W"),
            (SECOND_REVENUE_ACCOUNT_ID, "8010", "Omzet overig", 110, "W"),
            (RECEIVABLE_ACCOUNT_ID, "1300", "Debiteuren", 20, "B"),
            (VAT_HIGH_ACCOUNT_ID, "1500", "Te betalen BTW hoog", 24, "B"),
            (VAT_LOW_ACCOUNT_ID, "1510", "Te betalen BTW laag", 24, "B"),
        ):
            self.gl_accounts.append(
                {
                    "Division": division,
                    "ID": guid,
                    "Code": code,
                    "Description": description,
                    "Type": gl_type,
                    "BalanceType": balance,
                    "VATCode": "2  ",
                }
            )
        for code, description, percentage, gl_to_pay in (
            ("2  ", "BTW hoog", 0.21, VAT_HIGH_ACCOUNT_ID),
            ("1  ", "BTW laag", 0.09, VAT_LOW_ACCOUNT_ID),
            ("0  ", "BTW 0%", 0.0, VAT_HIGH_ACCOUNT_ID),
        ):
            self.vat_codes.append(
                {
                    "Division": division,
                    "ID": str(uuid.uuid4()),
                    "Code": code,
                    "Description": description,
                    "Percentage": percentage,
                    "Type": "E",
                    "VATTransactionType": "S",
                    "GLToPay": gl_to_pay,
                    "GLToClaim": None,
                }
            )
        for code, description, journal_type, allow_vat in (
            ("70", "Verkoopboek", 20, False),
            ("90", "Memoriaal", 90, True),
        ):
            self.journals.append(
                {
                    "Division": division,
                    "ID": str(uuid.uuid4()),
                    "Code": code,
                    "Description": description,
                    "Type": journal_type,
                    "AllowVAT": allow_vat,
                    "Currency": "EUR",
                }
            )

    def add_account(self, division: int = DEFAULT_DIVISION, **values) -> dict:
        """Add a relation; ``Code`` is right-aligned to 18 characters like Exact does."""
        with self._lock:
            code = values.pop("Code", None) or str(len(self.accounts) + 1)
            account = {
                "Division": division,
                "ID": str(uuid.uuid4()),
                "Status": "C",
                "IsSales": True,
                "VATNumber": None,
                "ChamberOfCommerce": None,
                **values,
                "Code": code.strip().rjust(18),
            }
            self.accounts.append(account)
            return account

    def set_financial_periods(
        self, periods: list[tuple[int, int, datetime.date, datetime.date]],
        division: int = DEFAULT_DIVISION,
    ) -> None:
        """Give ``division`` its own period table ``[(year, period, start, end)]`` (e.g. 13
        periods of four weeks, or a financial year from July); ``[]`` restores months."""
        with self._lock:
            if periods:
                self.financial_periods[division] = sorted(periods, key=lambda p: p[2])
            else:
                self.financial_periods.pop(division, None)

    def _period_table(self, division: int) -> list[tuple[int, int, datetime.date, datetime.date]]:
        if division in self.financial_periods:
            return self.financial_periods[division]
        return [
            (year, month, datetime.date(year, month, 1),
             datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1))
            for year in range(2000, 2041) for month in range(1, 13)
        ]

    def _period_of(self, division: int, day: datetime.date) -> tuple[int, int]:
        for year, period, start, end in self._period_table(division):
            if start <= day <= end:
                return year, period
        raise _BusinessError(f"No financial period for {day.isoformat()}.")

    def close_period(
        self, journal: str, year: int, period: int, division: int = DEFAULT_DIVISION
    ) -> None:
        """Close ``journal`` in ``year``/``period``."""
        with self._lock:
            self.journal_status.append(
                {
                    "Division": division,
                    "JournalCode": journal,
                    "FinancialYear": year,
                    "FinancialPeriod": period,
                    "Status": 1,
                    "StatusDescription": "Closed",
                }
            )

    def issue_tokens(self) -> dict:
        """Start a chain without the browser flow; return the token response."""
        with self._lock:
            return self._issue(uuid.uuid4().hex)

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token (the next API call gets a 401)."""
        with self._lock:
            self._access_tokens.clear()

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        path: str | None = None,
        delay: float = 1.0,
    ) -> Fault:
        """Make the next ``count`` matching requests fail.

        :param kind: ``status`` answer ``status`` without processing;
            ``timeout_after_store`` process, then wait ``delay`` seconds before answering;
            ``reset_before_store`` / ``reset_after_store`` drop the connection (TCP RST)
            before or after processing.
        :param method: only requests with this method; ``path``: whose path contains it.
        """
        fault = Fault(kind, count, status, method, path, delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def entries_by_ref(self) -> collections.Counter:
        """Return a Counter YourRef -> number of sales entries (to assert exactly-once)."""
        return collections.Counter(entry["YourRef"] for entry in self.sales_entries)

    # -- request handling ------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def handle(self, method: str, target: str, headers, body: bytes) -> _Response:
        """Answer one request (fault injection excluded)."""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if split.path == "/api/oauth2/auth" and method == "GET":
            return self._authorize(query)
        if split.path == "/api/oauth2/token" and method == "POST":
            if self.token_delay:
                time.sleep(self.token_delay)
            form = dict(parse_qsl(body.decode("utf-8")))
            with self._lock:
                return self._token(form)
        # Exact serves the current user without a division in the path: /api/v1/current/Me
        # (accounting-apis.md A2); every other resource lives under /api/v1/{division}/...
        # (A2, "REST pattern"). Anything else does not exist: 404.
        if split.path == "/api/v1/current/Me":
            division, resource = "current", "current/Me"
        else:
            match = re.fullmatch(r"/api/v1/(\d+)/(.+)", split.path)
            if not match:
                return _json(404, error_body(f"Resource not found: {split.path}"))
            division, resource = match.group(1), match.group(2)
            if resource == "current/Me":
                return _json(404, error_body(f"Resource not found: {split.path}"))
        with self._lock:
            return self._api(method, split.path, division, resource, query, headers, body)

    def _authorize(self, query: dict) -> _Response:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (query.get("redirect_uri", ""), self.clock.now())
        redirect = query.get("redirect_uri", "")
        params = urlencode({"code": code, "state": query.get("state", "")})
        location = f"{redirect}{'&' if '?' in redirect else '?'}{params}"
        return _Response(302, b"", {"Location": location})

    def _token(self, form: dict) -> _Response:
        grant = form.get("grant_type", "")
        self.token_calls[grant] += 1
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return _json(400, {"error": "invalid_client"})
        now = self.clock.now()
        if grant == "authorization_code":
            redirect_uri, issued = self._codes.pop(form.get("code", ""), (None, 0.0))
            if redirect_uri is None or now - issued > AUTHORIZATION_CODE_LIFETIME:
                return _json(
                    400,
                    {"error": "invalid_grant", "error_description": "Invalid authorization code."},
                )
            if redirect_uri != form.get("redirect_uri"):
                return _json(
                    400, {"error": "invalid_grant", "error_description": "Redirect URI mismatch."}
                )
            return _json(200, self._issue(uuid.uuid4().hex))
        if grant != "refresh_token":
            return _json(400, {"error": "unsupported_grant_type"})
        chain_id, issued, used = self._refresh_tokens.get(
            form.get("refresh_token", ""), (None, 0.0, False)
        )
        chain = self._chains.get(chain_id)
        if chain is None:
            return _json(400, {"error": "invalid_grant", "error_description": "Invalid token."})
        if used or chain.broken:
            chain.broken = True
            return _json(
                401,
                {"error": "unauthorized_client", "error_description": "Old refresh token used."},
            )
        if now - issued > REFRESH_TOKEN_LIFETIME:
            return _json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": f"The refresh token expired at "
                    f"{_stamp(issued + REFRESH_TOKEN_LIFETIME)} and it is now {_stamp(now)}.",
                },
            )
        if now - chain.issued_at < MIN_REFRESH_INTERVAL:
            return _json(
                400,
                {
                    "error": "access_denied",
                    "error_description": "Rate limit exceeded: access_token not expired",
                },
                {"Reason": "TooEarlyToRefreshTokens"},
            )
        self._refresh_tokens[form["refresh_token"]] = (chain_id, issued, True)
        return _json(200, self._issue(chain_id))

    def _issue(self, chain_id: str) -> dict:
        now = self.clock.now()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._chains[chain_id] = _Chain(issued_at=now)
        self._access_tokens[access] = now + ACCESS_TOKEN_LIFETIME
        self._refresh_tokens[refresh] = (chain_id, now, False)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(ACCESS_TOKEN_LIFETIME),
            "refresh_token": refresh,
        }

    def _api(self, method, path, division, resource, query, headers, body) -> _Response:
        now = self.clock.now()
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if self._access_tokens.get(token, 0.0) <= now:
            return _json(401, error_body("Unauthorized"))
        if division != "current" and int(division) not in self.divisions:
            return _json(403, error_body("Forbidden - WrongDivision"))
        bucket = str(self.divisions[0]) if division == "current" else division
        limited = self._count_call(bucket, now)
        if limited:
            return limited
        self.calls[(method, resource)] += 1
        try:
            if method == "GET":
                response = self._get(path, division, resource, query)
            elif method == "POST" and division == "current":
                response = _json(405, error_body("Method not allowed"))
            elif method == "POST":
                response = self._post(int(division), resource, json.loads(body or b"{}"))
            else:
                response = _json(405, error_body("Method not allowed"))
        except ODataError as exc:
            response = _json(400, error_body(str(exc)))
        response.headers.update(self._rate_headers(bucket, now, daily=True))
        return response

    def _windows(self, now: float) -> tuple[int, int]:
        return int(now // 86400), int(now // 60)

    def _rate_headers(self, division: str, now: float, daily: bool) -> dict:
        day, minute = self._windows(now)
        headers = {
            "X-RateLimit-Minutely-Limit": str(self.minutely_limit),
            "X-RateLimit-Minutely-Remaining": str(
                max(0, self.minutely_limit - self._usage[(division, "m", minute)])
            ),
            "X-RateLimit-Minutely-Reset": str((minute + 1) * 60 * 1000),
        }
        if daily:
            headers.update(
                {
                    "X-RateLimit-Limit": str(self.daily_limit),
                    "X-RateLimit-Remaining": str(
                        max(0, self.daily_limit - self._usage[(division, "d", day)])
                    ),
                    "X-RateLimit-Reset": str((day + 1) * 86400 * 1000),
                }
            )
        return headers

    def _count_call(self, division: str, now: float) -> _Response | None:
        """Count a call against the budgets; return the 429 answer when over budget."""
        day, minute = self._windows(now)
        if self._usage[(division, "d", day)] >= self.daily_limit:
            return _json(
                429,
                error_body("API rate limit exceeded."),
                self._rate_headers(division, now, daily=True),
            )
        if self._usage[(division, "m", minute)] >= self.minutely_limit:
            return _json(
                429,
                error_body("API rate limit exceeded."),
                self._rate_headers(division, now, daily=False),
            )
        self._usage[(division, "d", day)] += 1
        self._usage[(division, "m", minute)] += 1
        return None

    # -- entities ------------------------------------------------------------------

    def _collection(self, division: str, resource: str) -> list[dict]:
        if resource == "financial/FinancialPeriods":
            return [
                {"Division": int(division), "ID": f"{year:04d}{period:03d}", "FinYear": year,
                 "FinPeriod": period, "StartDate": exact_date(start), "EndDate": exact_date(end)}
                for year, period, start, end in self._period_table(int(division))
            ] if division.isdigit() else []
        if resource == "current/Me":
            return [
                {
                    "UserID": "5e7f0000-0000-4000-8000-000000000001",
                    "UserName": "demo",
                    "FullName": "Demo User",
                    "CurrentDivision": self.divisions[0],
                }
            ]
        if resource in ("hrm/Divisions", "system/Divisions"):
            return [
                {
                    "Code": code,
                    "Description": f"Administratie {code}",
                    "Country": "NL",
                    "Currency": "EUR",
                }
                for code in self.divisions
            ]
        store = {
            "crm/Accounts": self.accounts,
            "financial/GLAccounts": self.gl_accounts,
            "vat/VATCodes": self.vat_codes,
            "financial/Journals": self.journals,
            "salesentry/SalesEntries": self.sales_entries,
            "generaljournalentry/GeneralJournalEntries": self.general_journal_entries,
            "generaljournalentry/GeneralJournalEntryLines": self.general_journal_entry_lines,
            "read/financial/JournalStatusByFinancialPeriod": self.journal_status,
        }.get(resource)
        if resource == "read/financial/ReceivablesList":
            store = self._receivables()
        if store is None:
            raise KeyError(resource)
        return [row for row in store if str(row["Division"]) == division]

    def pay(self, your_ref: str, amount: float | None = None,
            division: int = DEFAULT_DIVISION) -> None:
        """Register a payment in Exact (as a matched bank line would): ``amount`` (``None`` =
        all that is open) of the sales entry whose ``YourRef`` is ``your_ref``."""
        with self._lock:
            entry = next(row for row in self.sales_entries
                         if row["YourRef"] == your_ref and row["Division"] == division)
            paid = entry.get("_paid", 0.0)
            entry["_paid"] = round(
                abs(entry["AmountFC"]) if amount is None else paid + float(amount), 2)

    def _receivables(self) -> list[dict]:
        """A7: ``read/financial/ReceivablesList`` lists the open (unpaid) items with
        ``InvoiceNumber``, ``EntryNumber``, ``YourRef``, ``Amount``, ``DueDate``: every sales
        entry with an amount still open (a credit note's amount negative, A4 SalesEntries);
        a settled one is no longer listed (A7, inference)."""
        rows = []
        for entry in self.sales_entries:
            total = abs(entry["AmountFC"])
            still = round(total - entry.get("_paid", 0.0), 2)
            if still == 0:
                continue
            sign = -1 if entry["Type"] == 21 else 1
            account = next((row for row in self.accounts
                            if str(row["ID"]).lower() == entry["Customer"]), {})
            rows.append({
                "Division": entry["Division"],
                "HID": len(rows) + 1,
                "AccountId": entry["Customer"],
                "AccountCode": account.get("Code"),
                "AccountName": account.get("Name"),
                "Amount": sign * still,
                "AmountInTransit": 0.0,
                "CurrencyCode": entry["Currency"],
                "Description": entry["Description"],
                "DueDate": entry.get("_due") or entry["EntryDate"],
                "EntryNumber": entry["EntryNumber"],
                "InvoiceDate": entry["EntryDate"],
                "InvoiceNumber": entry["EntryNumber"],
                "JournalCode": entry["Journal"],
                "YourRef": entry["YourRef"],
            })
        return rows

    def _get(self, path: str, division: str, resource: str, query: dict) -> _Response:
        try:
            rows = self._collection(division, resource)
        except KeyError:
            return _json(404, error_body(f"Resource not found: {resource}"))
        # accounting-apis.md A4, row "$select": unbounded GETs on these endpoints are refused
        if resource in SELECT_REQUIRED and "$select" not in query and query.get("$top") != "1":
            raise ODataError(SELECT_MESSAGE)
        if query.get("$filter"):
            predicate = FilterParser(query["$filter"]).parse()
            rows = [row for row in rows if predicate(row)]
        if query.get("$top"):
            rows = rows[: int(query["$top"])]
        offset = int(query.get("$skiptoken") or 0)
        page = rows[offset : offset + PAGE_SIZE]
        if query.get("$select"):
            fields = [name.strip() for name in query["$select"].split(",")]
            page = [{name: row.get(name) for name in fields} for row in page]
        else:
            page = [
                {key: value for key, value in row.items() if not key.startswith("_")}
                for row in page
            ]
        result = {"results": page}
        if offset + PAGE_SIZE < len(rows):
            next_query = dict(query, **{"$skiptoken": str(offset + PAGE_SIZE)})
            result["__next"] = f"{self.base_url}{path}?{urlencode(next_query)}"
        return _json(200, {"d": result})

    def _post(self, division: int, resource: str, values: dict) -> _Response:
        handlers = {
            "crm/Accounts": self._create_account,
            "salesentry/SalesEntries": self._create_sales_entry,
            "generaljournalentry/GeneralJournalEntries": self._create_journal_entry,
        }
        if resource not in handlers:
            try:
                self._collection(str(division), resource)
            except KeyError:
                return _json(404, error_body(f"Resource not found: {resource}"))
            return _json(405, error_body(f"POST not supported on {resource}"))
        unknown = _unknown_property(resource, values)
        if unknown:
            # accounting-apis.md A4 (field lists) and A5 (format errors are 400)
            entity, name = unknown
            raise ODataError(
                f"Error processing request stream. The property name '{name}' specified for "
                f"type 'Exact.Web.Api.Models.{entity}' is not valid."
            )
        try:
            created = handlers[resource](division, values)
        except _BusinessError as exc:
            return _json(500, error_body(str(exc)))
        return _json(201, {"d": {k: v for k, v in created.items() if not k.startswith("_")}})

    def _create_account(self, division: int, values: dict) -> dict:
        if not values.get("Name"):
            raise _BusinessError("Mandatory: Name")
        return self.add_account(division, **values)

    def _find(self, rows: list[dict], division: int, field: str, value) -> dict | None:
        value = _comparable(value)
        for row in rows:
            if row["Division"] == division and _comparable(row.get(field)) == value:
                return row
        return None

    def _find_vat(self, division: int, code) -> dict | None:
        for row in self.vat_codes:
            if row["Division"] == division and row["Code"].strip() == str(code).strip():
                return row
        return None

    def _check_open(self, division: int, journal: str, year: int, period: int) -> None:
        for row in self.journal_status:
            if (
                row["Division"],
                row["JournalCode"],
                row["FinancialYear"],
                row["FinancialPeriod"],
                row["Status"],
            ) == (division, journal, year, period, 1):
                raise _BusinessError(f"Period {period}/{year} is closed for journal {journal}.")

    def _next_number(self, division: int, journal: str) -> int:
        """Return the next entry number of ``journal``."""
        self._entry_numbers[(division, journal)] += 1
        return self._entry_numbers[(division, journal)]

    def _take_number(self, division: int, journal: str, wanted) -> int:
        """Return the entry number of a new entry of ``journal``: ``wanted`` when given (Exact
        lets the caller set ``EntryNumber``, accounting-apis.md A4 SalesEntries), refused when an
        entry of the journal has it already (A5: duplicate-number text UNCONFIRMED; the rule
        is modelled as a business error, HTTP 500), else the next free one."""
        if wanted in (None, ""):
            number = self._next_number(division, journal)
            while self._number_used(division, journal, number):
                number = self._next_number(division, journal)
            return number
        number = int(wanted)
        if self._number_used(division, journal, number):
            raise _BusinessError(f"Entry number {number} already exists in journal {journal}.")
        return number

    def _number_used(self, division: int, journal: str, number: int) -> bool:
        return any(
            row["Division"] == division and row.get("Journal", row.get("JournalCode")) == journal
            and row["EntryNumber"] == number
            for row in self.sales_entries + self.general_journal_entries
        )

    def _create_sales_entry(self, division: int, values: dict) -> dict:
        journal_code = values.get("Journal")
        if not journal_code:
            raise _BusinessError("Mandatory: Journal")
        journal = self._find(self.journals, division, "Code", journal_code)
        if journal is None:
            raise _BusinessError("Invalid reference: Journals")
        if journal["Type"] != 20:
            raise _BusinessError("Invalid: Journal")
        if not values.get("Customer"):
            raise _BusinessError("Mandatory: Relationship")
        if self._find(self.accounts, division, "ID", values["Customer"]) is None:
            raise _BusinessError("Invalid reference: Relationship")
        entry_type = values.get("Type", 20)
        if entry_type not in (20, 21):
            raise _BusinessError("Invalid: Type")
        day = _parse_date(values.get("EntryDate"), self.clock.now())
        fin_year, fin_period = self._period_of(division, day)
        self._check_open(division, journal_code, fin_year, fin_period)
        lines = values.get("SalesEntryLines") or []
        if not lines:
            raise _BusinessError("Mandatory: Lines")
        number = self._take_number(division, journal_code, values.get("EntryNumber"))
        entry_id = str(uuid.uuid4())
        stored_lines, amount, vat_amount = [], 0.0, 0.0
        for line in lines:
            gl_account = self._find(self.gl_accounts, division, "ID", line.get("GLAccount"))
            if gl_account is None:
                raise _BusinessError("Invalid reference: G/L account")
            if gl_account["BalanceType"] != "W":
                raise _BusinessError("Invalid: G/L account type")
            vat = self._find_vat(division, line.get("VATCode") or gl_account["VATCode"])
            if vat is None:
                raise _BusinessError("Invalid reference: VAT code")
            line_amount = float(line.get("AmountFC") or 0.0)
            # accounting-apis.md A4 SalesEntries: ``VATAmountFC`` overrides the VAT Exact
            # computes; else Exact computes it per line (rounded half away from zero)
            if line.get("VATAmountFC") is not None:
                line_vat = float(line["VATAmountFC"])
            else:
                line_vat = _round_half_up(line_amount * vat["Percentage"])
            amount += line_amount + line_vat
            vat_amount += line_vat
            stored_lines.append(
                {
                    "ID": str(uuid.uuid4()),
                    "EntryID": entry_id,
                    "GLAccount": gl_account["ID"],
                    "AmountFC": line_amount,
                    "VATCode": vat["Code"],
                    "VATAmountFC": line_vat,
                    "Description": line.get("Description"),
                }
            )
        entry = {
            "Division": division,
            "EntryID": entry_id,
            "EntryNumber": number,
            "Journal": journal_code,
            "Customer": values["Customer"].lower(),
            "Type": entry_type,
            "EntryDate": exact_date(day),
            "ReportingYear": fin_year,
            "ReportingPeriod": fin_period,
            "YourRef": values.get("YourRef"),
            "Description": values.get("Description"),
            "Currency": values.get("Currency", "EUR"),
            "AmountFC": round(amount, 2),
            "VATAmountFC": round(vat_amount, 2),
            "Status": 20,
            "_due": exact_date(_parse_date(values["DueDate"], self.clock.now()))
            if values.get("DueDate") else None,
            "SalesEntryLines": {
                "__deferred": {
                    "uri": f"{self.base_url}/api/v1/{division}/"
                    f"salesentry/SalesEntryLines?$filter=EntryID eq "
                    f"guid'{entry_id}'"
                }
            },
            "_lines": stored_lines,
        }
        self.sales_entries.append(entry)
        return entry

    def _create_journal_entry(self, division: int, values: dict) -> dict:
        journal_code = values.get("JournalCode")
        if not journal_code:
            raise _BusinessError("Mandatory: Journal")
        journal = self._find(self.journals, division, "Code", journal_code)
        if journal is None:
            raise _BusinessError("Invalid reference: Journals")
        if journal["Type"] != 90:
            raise _BusinessError("Invalid: Journal")
        lines = values.get("GeneralJournalEntryLines") or []
        if not lines:
            raise _BusinessError("Mandatory: Lines")
        if values.get("FinancialYear") and values.get("FinancialPeriod"):
            year, period = int(values["FinancialYear"]), int(values["FinancialPeriod"])
            if not any((y, p) == (year, period) for y, p, _s, _e in self._period_table(division)):
                raise _BusinessError(f"Invalid: Financial period {period}/{year}")
        else:
            year, period = self._period_of(
                division, _parse_date(lines[0].get("Date"), self.clock.now()))
        # accounting-apis.md A5 / C4: a closed period refuses the entry (business error, 500)
        self._check_open(division, journal_code, year, period)
        total = 0.0
        entry_id = str(uuid.uuid4())
        stored_lines, vat_lines = [], []
        for line in lines:
            if self._find(self.gl_accounts, division, "ID", line.get("GLAccount")) is None:
                raise _BusinessError("Invalid reference: G/L account")
            amount = float(line.get("AmountFC") or 0.0)
            vat_amount = 0.0
            if line.get("VATCode"):
                if not journal["AllowVAT"]:
                    raise _BusinessError("Not allowed: VAT-code")
                vat = self._find_vat(division, line["VATCode"])
                if vat is None:
                    raise _BusinessError("Invalid reference: VAT code")
                # Exact generates the VAT line: the given AmountVATFC, else computed per line.
                if line.get("AmountVATFC") is not None:
                    vat_amount = float(line["AmountVATFC"])
                else:
                    vat_amount = _round_half_up(amount * vat["Percentage"])
            elif line.get("AmountVATFC"):
                raise _BusinessError("Mandatory: VAT code")
            total += amount + vat_amount
            base = {
                "Division": division,
                "EntryID": entry_id,
                "JournalCode": journal_code,
                "FinancialYear": year,
                "FinancialPeriod": period,
                "Account": line.get("Account"),
                "Description": line.get("Description"),
                "Date": line.get("Date"),
            }
            if vat_amount:
                # accounting-apis.md A4 GeneralJournalEntries: "VAT lines are generated
                # automatically": Exact books the VAT on the VAT code's G/L account as a line
                # of its own, next to the base line that keeps the VAT in ``AmountVATFC``. The
                # account is the code's ``GLToPay`` ("If you enter sales with a VAT code, the
                # VAT amount to be paid is entered to this VAT account": Exact's .NET SDK
                # VATCodes model; the field is not listed in A4 yet)
                vat_lines.append(dict(
                    base, ID=str(uuid.uuid4()), GLAccount=vat["GLToPay"], AmountFC=vat_amount,
                    VATCode=line["VATCode"], AmountVATFC=0.0, VATBaseAmountFC=amount,
                    _vat_line=True,
                ))
            stored_lines.append(
                {
                    "Division": division,
                    "ID": str(uuid.uuid4()),
                    "EntryID": entry_id,
                    "JournalCode": journal_code,
                    "FinancialYear": year,
                    "FinancialPeriod": period,
                    "GLAccount": line.get("GLAccount"),
                    "AmountFC": amount,
                    "VATCode": line.get("VATCode") or "",
                    "AmountVATFC": vat_amount,
                    "Account": line.get("Account"),
                    "Description": line.get("Description"),
                    "Date": line.get("Date"),
                }
            )
        # accounting-apis.md A4 GeneralJournalEntries: the sign of AmountFC carries the side; an
        # entry whose lines (with the VAT Exact generates) do not sum to zero is refused
        if abs(total) > 0.005:
            raise _BusinessError("The entry is not in balance.")
        number = self._take_number(division, journal_code, values.get("EntryNumber"))
        stored_lines += vat_lines
        for stored in stored_lines:
            stored["EntryNumber"] = number
        self.general_journal_entry_lines.extend(stored_lines)
        entry = {
            "Division": division,
            "EntryID": entry_id,
            "EntryNumber": number,
            "JournalCode": journal_code,
            "FinancialYear": year,
            "FinancialPeriod": period,
            "Currency": values.get("Currency", "EUR"),
            "Reversal": bool(values.get("Reversal")),
            "Type": 90,
            "Status": 20,
            "_lines": lines,
        }
        self.general_journal_entries.append(entry)
        return entry


def _unknown_property(resource: str, values) -> tuple[str, str] | None:
    """Return (entity, property) of the first property of a POST body Exact does not know."""
    entity, header, lines_key, line_properties = POST_PROPERTIES[resource]
    if not isinstance(values, dict):
        return entity, "<body>"
    for name in values:
        if name not in header:
            return entity, name
    for line in values.get(lines_key) or () if lines_key else ():
        for name in line if isinstance(line, dict) else ("<line>",):
            if name not in line_properties:
                return f"{entity}Line", name
    return None


def _round_half_up(value: float) -> float:
    """Round to cents, half away from zero (Exact's VAT rounding as modelled here)."""
    cents = abs(value) * 100
    rounded = int(cents + 0.5 + 1e-9) / 100
    return rounded if value >= 0 else -rounded


class _BusinessError(Exception):
    """A business rule refused the write: HTTP 500 with Exact's error JSON."""


def _json(status: int, body, headers: dict | None = None) -> _Response:
    return _Response(
        status,
        json.dumps(body).encode("utf-8"),
        {"Content-Type": "application/json", **(headers or {})},
    )


def _stamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%m/%d/%Y %H:%M:%S")


def _parse_date(value, now: float) -> datetime.date:
    if not value:
        return datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _BusinessError(f"Invalid date: {value}") from None


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the :class:`ExactServer`, applies faults, writes the answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._serve("GET")

    def do_POST(self):  # noqa: N802 (http.server naming)
        self._serve("POST")

    def do_PUT(self):  # noqa: N802 (http.server naming)
        self._serve("PUT")

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        """Stay quiet."""

    def _serve(self, method: str) -> None:
        app: ExactServer = self.server.app
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if method == "POST" and app.before_post is not None:
            app.before_post(self.path)
        fault = app._take_fault(method, self.path)
        if fault and fault.kind == "reset_before_store":
            self._reset()
            return
        if fault and fault.kind == "status":
            headers = {}
            if fault.status == 429:
                with app._lock:
                    headers = app._rate_headers(str(app.divisions[0]), app.clock.now(), daily=False)
                    headers["X-RateLimit-Minutely-Remaining"] = "0"
                response = _json(429, error_body("API rate limit exceeded."), headers)
            else:
                response = _Response(
                    fault.status,
                    b"<html><body>Server Error</body></html>",
                    {"Content-Type": "text/html"},
                )
        else:
            response = app.handle(method, self.path, self.headers, body)
        with app._lock:
            app.statuses[response.status] += 1
        if fault and fault.kind == "reset_after_store":
            self._reset()
            return
        if fault and fault.kind == "timeout_after_store":
            time.sleep(fault.delay)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Drop the connection with a TCP RST."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
