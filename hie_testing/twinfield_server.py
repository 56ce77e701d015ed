"""A local fake Twinfield server for tests and demos, on ``http://127.0.0.1:<port>``.

As strict as the project reference (``accounting-apis.md``, part B) says Twinfield is; each
rule cites its section. It serves

* the login host (B1): ``/auth/authentication/connect/authorize`` (consents at once and
  redirects back with ``code`` and ``state``; ``nonce`` and the scope ``twf.organisationUser``
  are required), ``…/token`` (HTTP Basic client id:secret; authorization code single use;
  one-hour access tokens; a reusable refresh token, only with ``offline_access``; an
  ``id_token`` carrying the nonce) and ``…/accesstokenvalidation`` (``twf.clusterUrl``,
  ``twf.organisationCode``);
* the cluster (B2, B5) under :attr:`TwinfieldServer.cluster_url`:
  ``/webservices/processxml.asmx?wsdl`` (the addon's shipped WSDL, retargeted) and the SOAP
  1.1 ``ProcessXmlString`` operation, with the header checked (B1, B6), the fair-use credits
  counted per (client id, organisation) and minute (B4, B6) and the ProcessXml vocabulary of
  B2/B3/B6: ``list`` (offices, dimensions, VAT codes, periods), ``dimension`` (create a
  customer), ``transactions``/``transaction`` (validated, numbered, echoed with ``result`` and
  ``msg``) and browse ``columns code="100"``;
* fault injection (:meth:`TwinfieldServer.inject`): a status without processing (500, 503,
  429 with ``Retry-After``), a timeout after the write was stored, connection resets before or
  after storing.

The ``list`` requests for dimensions, VAT codes and periods and the browse answer layout are
this project's rendering of what B2/B6 name (Finder types ``DIM``, ``VAT``, ``PRD``; browse
code 100 fields): their exact element names are UNCONFIRMED, so they live only here and in
``services/twinfield/xml.py``.

Test tooling, not part of the addon: neither shipped nor imported at run time.
"""

import base64
import collections
import dataclasses
import json
import math
import pathlib
import re
import secrets
import socket
import struct
import sys
import threading
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from lxml import etree

from .local_server import LocalServer

if "hours_invoicing_exact" in sys.modules:  # Odoo-free tests and tools: the bare package
    from hours_invoicing_exact.services.exact.clock import Clock, VirtualClock
else:  # inside Odoo
    from odoo.addons.hours_invoicing_exact.services.exact.clock import Clock, VirtualClock

WSDL = (pathlib.Path(__file__).resolve().parent.parent / "hours_invoicing_exact" / "services"
        / "twinfield" / "wsdl" / "processxml.wsdl")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TWF = "http://www.twinfield.com/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
AUTH_PREFIX = "/auth/authentication/connect"
CLUSTER_PREFIX = "/cluster-nl1"
ORGANISATION = "ORG-HIE"
#: B2 Finder: rows per Search page at most (the real maximum is not in the reference)
FINDER_MAX_ROWS = 100
#: columns of an IVT row: this project's rendering of B2's "open invoices" (UNCONFIRMED)
IVT_COLUMNS = ("invoicenumber", "customer", "date", "duedate", "value", "openvalue", "code",
               "number")
OFFICE = "NLA000001"
CUSTOMER = "1000"
SECOND_CUSTOMER = "1001"
REVENUE = "8000"
SECOND_REVENUE = "8010"
DEBTORS = "1300"
ACCESS_TOKEN_LIFETIME = 3600  # B1: one hour
AUTHORIZATION_CODE_LIFETIME = 300
#: B1: scopes; twf.organisationUser is required to log in, offline_access for refresh tokens.
KNOWN_SCOPES = {"openid", "twf.user", "twf.organisation", "twf.organisationUser",
                "offline_access"}
#: B4: query roots cost 1 credit, everything else 3.
QUERY_ROOTS = {"list", "read", "columns", "accountcode", "accountcodes"}
#: B1: fault texts.
TOKEN_INVALID = "Access denied. Token invalid"
COMPANY_MISSING = "Toegang geweigerd. Company ontbreekt in request header."
CENT = Decimal("0.01")


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclasses.dataclass
class Fault:
    """An injected failure; see :meth:`TwinfieldServer.inject`."""

    kind: str
    count: int = 1
    status: int = 500
    target: str | None = None  # "write", "read", "token" or None (any SOAP call)
    delay: float = 1.0
    retry_after: int = 5

    def matches(self, target: str) -> bool:
        """Whether the fault applies to a request of kind ``target``."""
        if self.target is None:
            return target in ("write", "read")
        return self.target == target


@dataclasses.dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict = dataclasses.field(default_factory=dict)


class _Refused(Exception):
    """A whole request refused before processing (HTTP status, optional SOAP fault)."""

    def __init__(self, status: int, fault: str | None = None, headers: dict | None = None):
        super().__init__(fault or str(status))
        self.status, self.fault, self.headers = status, fault, headers or {}


class TwinfieldServer(LocalServer):
    """The fake Twinfield server; a context manager, or start()/stop().

    Inspect :attr:`transactions` (stored, dicts), :attr:`dimensions`, :attr:`calls`
    (Counter of ``"read"``/``"write"``/``"token"``/..., SOAP calls *processed*),
    :attr:`statuses` (HTTP status -> n), :attr:`credits_used` (total credits charged).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        client_id: str = "twf-client-id",
        client_secret: str = "twf-client-secret",
        organisation: str = ORGANISATION,
        offices: tuple[str, ...] = (OFFICE,),
        credits_per_minute: int = 25,
        reject_duplicate_invoice_numbers: bool = False,
        cost_centre_dim: str = "dim2",
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.clock = clock or VirtualClock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.organisation = organisation
        self.offices = list(offices)
        #: B6: per client id + organisation per minute: uncertified 25, certified 500
        self.credits_per_minute = credits_per_minute
        #: B6: "Factuurnummer … komt reeds voor." is reported, not guaranteed: both ways
        self.reject_duplicate_invoice_numbers = reject_duplicate_invoice_numbers
        #: B6 "Cost centre": on dim2 of detail lines per php-twinfield, dim3 per CodeMill
        #: (conflicting sources): the level that holds cost centres (KPL) in this office
        self.cost_centre_dim = cost_centre_dim
        #: B3 "msgtype warning": warnings to give on the next transactions, as
        #: ``[(transaction type or None, text)]`` (see :meth:`warn`)
        self.pending_warnings: list[tuple[str | None, str]] = []
        #: ``(office, dimtype, code) -> dict``
        self.dimensions: dict[tuple[str, str, str], dict] = {}
        #: ``(office, code) -> {"percentage": Decimal, "account": str, "type": str}``
        self.vat_codes: dict[tuple[str, str], dict] = {}
        #: ``(office, code) -> "sales" | "journal"``
        self.transaction_types: dict[tuple[str, str], str] = {}
        #: ``(office, "YYYY/PP") -> open``
        self.periods: dict[tuple[str, str], bool] = {}
        self.transactions: list[dict] = []
        #: ``(office, invoicenumber) -> amount paid`` (see :meth:`pay`)
        self.payments: dict[tuple[str, str], Decimal] = {}
        self.calls: collections.Counter = collections.Counter()
        self.statuses: collections.Counter = collections.Counter()
        self.credits_used = 0
        self.faults: list[Fault] = []
        #: called as ``before_write()`` outside the lock before a write is handled
        self.before_write = None
        #: B6: at most 10 concurrent requests per organisation (429 beyond)
        self.max_concurrent = 10
        self.in_flight = 0
        self._codes: dict[str, dict] = {}
        self._access_tokens: dict[str, dict] = {}
        self._refresh_tokens: dict[str, dict] = {}
        self._window: dict[tuple[str, str], tuple[float, int]] = {}
        self._numbers: collections.Counter = collections.Counter()
        self._lock = threading.RLock()
        self._bind(host, port, _Handler)
        for office in self.offices:
            self.seed(office)

    # -- life cycle ----------------------------------------------------------------------

    @property
    def cluster_url(self) -> str:
        """The cluster the token validation names (B1 ``twf.clusterUrl``)."""
        return self.base_url + CLUSTER_PREFIX

    # -- test helpers --------------------------------------------------------------------

    def seed(self, office: str) -> None:
        """GL accounts (with a code keeping a leading zero, B6), customers, a cost centre,
        VAT codes, the types ``VRK`` (sales) and ``MEMO`` (journal), open periods 2023-2027."""
        for code, name, dimtype, extra in (
            ("0110", "Inventaris", "BAS", {}),
            (DEBTORS, "Debiteuren", "BAS", {"control": "debtors"}),
            ("1500", "Te betalen BTW hoog", "BAS", {}),
            ("1510", "Te betalen BTW laag", "BAS", {}),
            ("1520", "Te betalen BTW overig", "BAS", {}),
            ("8999", "Afrondingsverschillen", "PNL", {}),
            (REVENUE, "Omzet diensten", "PNL", {}),
            (SECOND_REVENUE, "Omzet overig", "PNL", {}),
            ("100", "Kostenplaats A", "KPL", {}),
            (CUSTOMER, "Klant BV", "DEB", {"vatnumber": "NL000099998B57",
                                           "cocnumber": "12345678"}),
            (SECOND_CUSTOMER, "Tweede Klant BV", "DEB", {}),
        ):
            self.dimensions[(office, dimtype, code)] = {"code": code, "name": name,
                                                         "type": dimtype, **extra}
        for code, name, percentage, account in (
            ("VH", "BTW hoog", "21", "1500"), ("VL", "BTW laag", "9", "1510"),
            ("VN", "BTW 0%", "0", "1520"),
        ):
            self.vat_codes[(office, code)] = {
                "code": code, "name": name, "percentage": Decimal(percentage),
                "account": account, "type": "sales",
            }
        self.transaction_types[(office, "VRK")] = "sales"
        self.transaction_types[(office, "MEMO")] = "journal"
        for year in range(2023, 2028):
            for month in range(1, 13):
                self.periods[(office, f"{year}/{month:02d}")] = True

    def close_period(self, period: str, office: str = OFFICE) -> None:
        """Close ``YYYY/PP`` in ``office``."""
        with self._lock:
            self.periods[(office, period)] = False

    def issue_tokens(self, scopes=tuple(KNOWN_SCOPES)) -> dict:
        """A token response as after a consent, without the browser."""
        with self._lock:
            return self._issue(set(scopes), nonce=None)

    def expire_access_tokens(self) -> None:
        """Make every access token invalid (the next call gets "Token invalid")."""
        with self._lock:
            for token in self._access_tokens.values():
                token["expires_at"] = 0.0

    def revoke_refresh_tokens(self) -> None:
        """Refuse every refresh token (a user revoked the app)."""
        with self._lock:
            self._refresh_tokens.clear()

    def inject(self, kind: str, count: int = 1, *, status: int = 500, target: str | None = None,
               delay: float = 1.0, retry_after: int = 5) -> Fault:
        """Make the next ``count`` matching requests fail.

        :param kind: ``status`` answer ``status`` without processing (429 with
            ``Retry-After: retry_after``); ``timeout_after_store`` process, then wait ``delay``
            seconds before answering; ``reset_before_store`` / ``reset_after_store`` drop the
            connection (TCP RST) before or after processing.
        :param target: ``"write"`` / ``"read"`` SOAP calls, ``"token"`` the token endpoint;
            ``None`` any SOAP call.
        """
        fault = Fault(kind, count, status, target, delay, retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def warn(self, message: str, code: str | None = None) -> None:
        """Give a warning (B3: ``msgtype="warning"`` with ``msg``, in a 200 answer) on the
        next transaction of type ``code`` (any type when ``None``)."""
        with self._lock:
            self.pending_warnings.append((code, message))

    def customers_named(self, name: str, office: str = OFFICE) -> list[str]:
        """Codes of the customer dimensions (DEB) called ``name`` (to assert exactly-once)."""
        return sorted(code for (dim_office, dimtype, code), values in self.dimensions.items()
                      if dim_office == office and dimtype == "DEB" and values["name"] == name)

    def transactions_by_invoice(self, code: str = "VRK") -> collections.Counter:
        """Counter invoice number -> transactions of type ``code`` (to assert exactly-once)."""
        return collections.Counter(
            trs["invoicenumber"] for trs in self.transactions if trs["code"] == code
        )

    def vat_of(self, transaction: dict) -> Decimal:
        """Total VAT booked by a stored transaction (signed, debit positive)."""
        return sum((line["signed"] for line in transaction["lines"] if line["type"] == "vat"),
                   Decimal(0))

    # -- request dispatch ----------------------------------------------------------------

    def classify(self, method: str, path: str, body: bytes) -> str:
        """``"write"``, ``"read"``, ``"token"``, or ``"other"`` (for fault matching)."""
        if path.startswith(AUTH_PREFIX + "/token"):
            return "token"
        if method == "POST" and path == CLUSTER_PREFIX + "/webservices/finder.asmx":
            return "read"  # B4: a Search is a query
        if method == "POST" and path.startswith(CLUSTER_PREFIX):
            match = re.search(rb"<(?:\w+:)?xmlRequest>\s*&lt;(\w+)", body)
            if match:
                return "read" if match.group(1).decode() in QUERY_ROOTS else "write"
        return "other"

    def take_fault(self, target: str) -> Fault | None:
        """The first live fault matching ``target`` (its count decremented)."""
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(target):
                    fault.count -= 1
                    return fault
        return None

    def handle(self, method: str, target: str, headers, body: bytes) -> _Response:
        """Answer one request (fault injection excluded)."""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path
        with self._lock:
            if path == AUTH_PREFIX + "/authorize" and method == "GET":
                return self._authorize(query)
            if path == AUTH_PREFIX + "/token" and method == "POST":
                self.calls["token"] += 1
                return self._token(headers, dict(parse_qsl(body.decode("utf-8"))))
            if path == AUTH_PREFIX + "/accesstokenvalidation" and method == "GET":
                return self._validation(headers, query)
            if path == CLUSTER_PREFIX + "/webservices/finder.asmx" and method == "POST":
                return self._finder(headers, body)
            if path == CLUSTER_PREFIX + "/webservices/processxml.asmx":
                if method == "GET" and "wsdl" in {key.lower() for key in query}:
                    return self._wsdl()
                if method == "POST":
                    return self._soap(headers, body)
        return _Response(404, b"Not found", {"Content-Type": "text/plain"})

    # -- OpenID Connect (B1) ---------------------------------------------------------------

    def _authorize(self, query: dict) -> _Response:
        scopes = set(query.get("scope", "").split())
        if (
            query.get("client_id") != self.client_id
            or query.get("response_type") != "code"  # B1: one client id per flow
            or not query.get("nonce")  # B1: nonce required on authorize
            or "twf.organisationUser" not in scopes  # B1: required to log in
            or not scopes <= KNOWN_SCOPES
        ):
            return _json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"redirect_uri": query.get("redirect_uri", ""),
                             "issued": self.clock.now(), "scopes": scopes,
                             "nonce": query["nonce"]}
        redirect = query.get("redirect_uri", "")
        params = urlencode({"code": code, "state": query.get("state", ""),
                            "scope": " ".join(sorted(scopes))})
        return _Response(302, b"", {"Location": f"{redirect}{'&' if '?' in redirect else '?'}"
                                                f"{params}"})

    def _basic_ok(self, headers) -> bool:
        """B1/B6: the client authenticates with HTTP Basic client id:secret."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return (headers.get("Authorization") or "") == f"Basic {expected}"

    def _token(self, headers, form: dict) -> _Response:
        if not self._basic_ok(headers):
            return _json(401, {"error": "invalid_client"})
        now = self.clock.now()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if (code is None or now - code["issued"] > AUTHORIZATION_CODE_LIFETIME
                    or code["redirect_uri"] != form.get("redirect_uri")):
                return _json(400, {"error": "invalid_grant"})
            return _json(200, self._issue(code["scopes"], code["nonce"]))
        if grant == "refresh_token":
            refresh = self._refresh_tokens.get(form.get("refresh_token", ""))
            if refresh is None:
                return _json(400, {"error": "invalid_grant"})
            # B1/B6: the refresh token is reusable (25 years): not rotated, not returned
            body = self._issue(refresh["scopes"], None, with_refresh=False)
            return _json(200, body)
        return _json(400, {"error": "unsupported_grant_type"})

    def _issue(self, scopes: set, nonce: str | None, with_refresh: bool = True) -> dict:
        now = self.clock.now()
        access = secrets.token_urlsafe(32)
        self._access_tokens[access] = {"expires_at": now + ACCESS_TOKEN_LIFETIME,
                                       "scopes": scopes, "client_id": self.client_id}
        body = {"access_token": access, "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME}
        if with_refresh and "offline_access" in scopes:  # B1: needed for refresh tokens
            refresh = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh] = {"scopes": scopes}
            body["refresh_token"] = refresh
        if "openid" in scopes:
            claims = {"sub": "user-1", "aud": self.client_id, "iat": int(now)}
            if nonce:
                claims["nonce"] = nonce
            body["id_token"] = _unsigned_jwt(claims)
        return body

    def _validation(self, headers, query: dict) -> _Response:
        if not self._basic_ok(headers):  # B1: GET accesstokenvalidation with Basic auth
            return _json(401, {"error": "invalid_client"})
        token = self._access_tokens.get(query.get("token", ""))
        if token is None or token["expires_at"] <= self.clock.now():
            return _json(400, {"error": "invalid_token"})
        body = {"exp": int(token["expires_at"]), "scope": sorted(token["scopes"]),
                "twf.organisationCode": self.organisation,
                "twf.organisationUserCode": "USER1"}
        if "twf.organisation" in token["scopes"]:  # B1: gives twf.clusterUrl
            body["twf.clusterUrl"] = self.cluster_url
        return _json(200, body)

    # -- SOAP (B1, B2, B5, B6) -------------------------------------------------------------

    def _wsdl(self) -> _Response:
        text = WSDL.read_text(encoding="utf-8")
        text = re.sub(r'location="[^"]*"',
                      f'location="{self.cluster_url}/webservices/processxml.asmx"', text)
        return _Response(200, text.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8"})

    def _soap(self, headers, body: bytes) -> _Response:
        try:
            xml_request, token, office = self._envelope(headers, body)
            request = _parse(xml_request)
            if request is None:
                raise _Refused(500, "Invalid XML request.")
            self._charge(token, request.tag)
            kind = "read" if request.tag in QUERY_ROOTS else "write"
            self.calls[kind] += 1
            answer = self._process(request, office)
        except _Refused as refused:
            if refused.fault:
                return _soap_fault(refused.fault)
            return _Response(refused.status, b"", refused.headers)
        return _soap_answer(etree.tostring(answer, encoding="unicode"))

    def _envelope(self, headers, body: bytes) -> tuple[str, dict, str]:
        action = (headers.get("SOAPAction") or "").strip('"')
        if action != TWF + "ProcessXmlString":  # B6: ProcessXmlCompressed is retired
            raise _Refused(500, f"Unsupported SOAP action {action!r}.")
        envelope, token, office, no_office = self._soap_header(body)
        xml_request = envelope.findtext(f"{{{SOAP_ENV}}}Body/{{{TWF}}}ProcessXmlString/"
                                        f"{{{TWF}}}xmlRequest")
        if xml_request is None:
            raise _Refused(500, "xmlRequest is missing.")
        if no_office:
            lists_offices = re.sub(r"\s", "", xml_request) == "<list><type>offices</type></list>"
            if not lists_offices:
                raise _Refused(500, COMPANY_MISSING)
            return xml_request, token, ""
        if office not in self.offices:
            # an office code of the organisation, nothing else (no source lets the
            # organisation code stand for an office, not even to list the offices)
            raise _Refused(500, f"Toegang geweigerd. Administratie {office} is onbekend.")
        return xml_request, token, office

    def _soap_header(self, body: bytes):
        """Check the envelope and its header (B1, B6); return (envelope, token, office,
        no_office), ``no_office`` when the header has no CompanyCode at all."""
        envelope = _parse(body)
        if envelope is None or envelope.tag != f"{{{SOAP_ENV}}}Envelope":
            raise _Refused(400)
        header = envelope.find(f"{{{SOAP_ENV}}}Header/{{{TWF}}}Header")
        if header is None:
            raise _Refused(500, COMPANY_MISSING)
        company_id = header.find(f"{{{TWF}}}CompanyId")
        if company_id is None:  # B6: leaving CompanyId out gave HTTP 400 without a body
            raise _Refused(400)
        access = header.findtext(f"{{{TWF}}}AccessToken") or ""
        token = self._access_tokens.get(access)
        if token is None or token["expires_at"] <= self.clock.now():  # B1: header errors
            raise _Refused(500, TOKEN_INVALID)
        code_node = header.find(f"{{{TWF}}}CompanyCode")
        office = (code_node.text or "").strip() if code_node is not None else ""
        # B2: the offices of the organisation are listed with a header carrying the access
        # token alone, before any office is known (the official sample's GetCompanies:
        # Twinfield/TwinfieldIntegrationSamples OAuthExampleApplication/ProcessXmlService.cs
        # and ExtendedApiExampleApp OrganizationService.cs, company code null; php-twinfield
        # leaves CompanyCode out without an office). Every other request needs its office (B1).
        no_office = code_node is None and company_id.get(f"{{{XSI}}}nil") == "true"
        if not no_office and not office and company_id.get(f"{{{XSI}}}nil") == "true":
            raise _Refused(500, COMPANY_MISSING)  # B1: an empty CompanyCode names no office
        return envelope, token, office, no_office

    # -- Finder (B2): open invoices ----------------------------------------------------------

    def _finder(self, headers, body: bytes) -> _Response:
        """B2: ``Search(type, pattern, field, firstRow, maxRows, options)`` on the Finder; only
        ``IVT`` (open invoices: B2, B6 "lists only open items") is served. A Search is a
        query: 1 credit (B4). The IVT columns are this project's rendering (UNCONFIRMED)."""
        try:
            action = (headers.get("SOAPAction") or "").strip('"')
            if action != TWF + "Search":
                raise _Refused(500, f"Unsupported SOAP action {action!r}.")
            envelope, token, office, no_office = self._soap_header(body)
            if no_office:
                raise _Refused(500, COMPANY_MISSING)  # B1: a Search names its office
            if office not in self.offices:
                raise _Refused(500, f"Toegang geweigerd. Administratie {office} is onbekend.")
            search = envelope.find(f"{{{SOAP_ENV}}}Body/{{{TWF}}}Search")
            if search is None:
                raise _Refused(500, "Search is missing.")
            self._charge_credits(token, 1)
            self.calls["read"] += 1
            self.calls["finder"] += 1
        except _Refused as refused:
            if refused.fault:
                return _soap_fault(refused.fault)
            return _Response(refused.status, b"", refused.headers)

        def text(tag, default=""):
            return (search.findtext(f"{{{TWF}}}{tag}") or default).strip()

        options = {}
        for pair in search.iterfind(f"{{{TWF}}}options/{{{TWF}}}ArrayOfString"):
            values = [node.text or "" for node in pair.iterfind(f"{{{TWF}}}string")]
            if len(values) == 2:
                options[values[0]] = values[1]
        try:
            first, wanted = int(text("firstRow", "1")), int(text("maxRows", "0"))
        except ValueError:
            return _soap_fault("firstRow and maxRows must be numbers.")
        errors, rows = [], []
        if text("type") != "IVT":
            errors.append(f"Finder type {text('type')} wordt niet ondersteund.")
        elif first < 1 or wanted < 1:
            errors.append("firstRow en maxRows moeten positief zijn.")
        else:
            rows = self.open_invoices(options.get("office") or office)
        page = rows[first - 1:first - 1 + min(wanted, FINDER_MAX_ROWS)]
        response = etree.Element(f"{{{TWF}}}SearchResponse", nsmap={None: TWF})
        result = etree.SubElement(response, f"{{{TWF}}}SearchResult")
        for message in errors:
            node = etree.SubElement(result, f"{{{TWF}}}MessageOfErrorCodes")
            etree.SubElement(node, f"{{{TWF}}}Type").text = "Error"
            etree.SubElement(node, f"{{{TWF}}}Text").text = message
        data = etree.SubElement(response, f"{{{TWF}}}data")
        etree.SubElement(data, f"{{{TWF}}}TotalRows").text = str(len(rows))
        columns = etree.SubElement(data, f"{{{TWF}}}Columns")
        for name in IVT_COLUMNS:
            etree.SubElement(columns, f"{{{TWF}}}string").text = name
        items = etree.SubElement(data, f"{{{TWF}}}Items")
        for row in page:
            item = etree.SubElement(items, f"{{{TWF}}}ArrayOfString")
            for name in IVT_COLUMNS:
                etree.SubElement(item, f"{{{TWF}}}string").text = row[name]
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(response)
        return _Response(200, etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                         {"Content-Type": "text/xml; charset=utf-8"})

    def pay(self, invoicenumber: str, amount=None, office: str = OFFICE) -> None:
        """Register a payment in Twinfield (as a bank entry matched there would): ``amount``
        (``None`` = all that is open) of the sales transaction with this invoice number."""
        with self._lock:
            total = self._invoice_total(office, invoicenumber)
            if total is None:
                raise KeyError(invoicenumber)
            paid = self.payments.get((office, invoicenumber), Decimal(0))
            self.payments[(office, invoicenumber)] = (
                total if amount is None else paid + Decimal(str(amount)))

    def _invoice_total(self, office: str, invoicenumber: str) -> Decimal | None:
        for trs in self.transactions:
            if trs["office"] == office and trs["invoicenumber"] == invoicenumber and \
                    self.transaction_types.get((office, trs["code"])) == "sales":
                return sum((line["signed"] for line in trs["lines"] if line["type"] == "total"),
                           Decimal(0))
        return None

    def open_invoices(self, office: str) -> list[dict]:
        """IVT rows of ``office``: sales transactions with an amount still open (B6)."""
        rows = []
        for trs in self.transactions:
            if trs["office"] != office or not trs["invoicenumber"] or \
                    self.transaction_types.get((office, trs["code"])) != "sales":
                continue
            total = sum((line["signed"] for line in trs["lines"] if line["type"] == "total"),
                        Decimal(0))
            still = total - self.payments.get((office, trs["invoicenumber"]), Decimal(0))
            if still == 0:
                continue
            customer = next((line.get("dim2") or "" for line in trs["lines"]
                             if line["type"] == "total"), "")
            rows.append({"invoicenumber": trs["invoicenumber"], "customer": customer,
                         "date": trs["date"] or "", "duedate": trs.get("duedate") or "",
                         "value": f"{total:.2f}", "openvalue": f"{still:.2f}",
                         "code": trs["code"], "number": str(trs["number"])})
        return rows

    def _charge(self, token: dict, root_tag: str) -> None:
        """B4/B6: 1 credit for queries, 3 for the rest, per (client id, organisation) and
        minute; beyond the budget 429 with Retry-After, not processed."""
        self._charge_credits(token, 1 if root_tag in QUERY_ROOTS else 3)

    def _charge_credits(self, token: dict, cost: int) -> None:
        now = self.clock.now()
        start = now - now % 60
        key = (token["client_id"], self.organisation)
        window, used = self._window.get(key, (start, 0))
        if window != start:
            window, used = start, 0
        if used + cost > self.credits_per_minute:
            retry = max(1, math.ceil(start + 60 - now))
            raise _Refused(429, None, {"Retry-After": str(retry),
                                       "X-RateLimit-Limit": str(self.credits_per_minute),
                                       "X-RateLimit-Remaining": str(self.credits_per_minute
                                                                    - used)})
        self._window[key] = (window, used + cost)
        self.credits_used += cost

    def _process(self, request, office: str):
        if request.tag == "list":
            return self._list(request, office)
        if request.tag == "columns":
            return self._browse(request, office)
        if request.tag == "dimension":
            return self._create_dimension(request, office)
        if request.tag == "transactions":
            items = request.findall("transaction")
            if any(len(item.findall("lines/line")) > 1000 for item in items):
                raise _Refused(400)  # B6: at most 1000 lines (HTTP 400 above)
            ok = True
            for item in items:
                ok = self._transaction(item) and ok
            request.set("result", "1" if ok else "0")
            return request
        if request.tag == "transaction":
            if len(request.findall("lines/line")) > 1000:
                raise _Refused(400)
            self._transaction(request)
            return request
        request.set("result", "0")
        _error(request, f"Onbekend verzoek {request.tag}.")
        return request

    # -- reads ---------------------------------------------------------------------------

    def _list(self, request, office: str):
        kind = request.findtext("type")
        if kind == "offices":  # B2: <list><type>offices</type></list>
            root = etree.Element("offices", result="1")
            for code in self.offices:
                etree.SubElement(root, "office", name=f"Administratie {code}",
                                 shortname=code).text = code
            return root
        wanted = request.findtext("office") or office
        if wanted not in self.offices:
            request.set("result", "0")
            _error(request, f"Administratie {wanted} bestaat niet.")
            return request
        if kind == "dimensions":
            dimtype = request.findtext("dimtype")
            root = etree.Element("dimensions", result="1", dimtype=dimtype or "")
            for (dim_office, dim_type, _code), values in sorted(self.dimensions.items()):
                if dim_office == wanted and dim_type == dimtype:
                    node = etree.SubElement(root, "dimension")
                    for key in ("code", "name", "type", "vatnumber", "cocnumber"):
                        if values.get(key):
                            etree.SubElement(node, key).text = values[key]
            return root
        if kind == "vat":
            root = etree.Element("vatcodes", result="1")
            for (vat_office, code), values in sorted(self.vat_codes.items()):
                if vat_office == wanted:
                    etree.SubElement(root, "vatcode", code=code, name=values["name"],
                                     type=values["type"],
                                     percentage=f"{values['percentage']:.6f}")
            return root
        if kind == "periods":
            year = request.findtext("year") or ""
            root = etree.Element("periods", result="1", year=year)
            for (period_office, period), is_open in sorted(self.periods.items()):
                if period_office == wanted and period.startswith(f"{year}/"):
                    etree.SubElement(root, "period", number=period[5:],
                                     status="open" if is_open else "closed")
            return root
        request.set("result", "0")
        _error(request, f"Onbekend lijsttype {kind}.")
        return request

    def _browse(self, request, office: str):
        """B6: browse code 100 on transaction lines; filters ``equal`` / ``between``."""
        if request.get("code") != "100":
            request.set("result", "0")
            _error(request, f"Browse code {request.get('code')} bestaat niet.")
            return request
        columns = []
        for column in request.findall("column"):
            columns.append({
                "field": column.findtext("field"),
                "operator": column.findtext("operator"),
                "from": column.findtext("from"),
                "to": column.findtext("to"),
                "visible": column.findtext("visible") == "true",
            })
        root = etree.Element("browse", result="1", code="100", office=office)
        head = etree.SubElement(root, "th")
        for column in columns:
            if column["visible"]:
                etree.SubElement(head, "td").text = column["field"]
        for trs in self.transactions:
            for line in trs["lines"]:
                values = {
                    "fin.trs.head.office": trs["office"],
                    "fin.trs.head.code": trs["code"],
                    "fin.trs.head.number": trs["number"],
                    "fin.trs.head.status": trs["destiny"],
                    "fin.trs.head.yearperiod": trs["period"],
                    "fin.trs.line.invnumber": line.get("invoicenumber") or "",
                    "fin.trs.line.dim1": line.get("dim1") or "",
                    "fin.trs.line.dim2": line.get("dim2") or "",
                    "fin.trs.line.dim3": line.get("dim3") or "",
                    "fin.trs.line.vatcode": line.get("vatcode") or "",
                    "fin.trs.line.type": line["type"],
                    "fin.trs.line.valuesigned": f"{line['signed']:.2f}",
                }
                if not all(_filter_ok(values.get(column["field"], ""), column)
                           for column in columns):
                    continue
                row = etree.SubElement(root, "tr")
                for column in columns:
                    if column["visible"]:
                        etree.SubElement(row, "td", field=column["field"]).text = values.get(
                            column["field"], "")
        return root

    # -- writes --------------------------------------------------------------------------

    def _create_dimension(self, request, office: str):
        dim_office = request.findtext("office") or office
        dimtype = request.findtext("type") or ""
        code = request.findtext("code") or ""
        name = request.findtext("name") or ""
        errors = []
        if dim_office not in self.offices:
            errors.append((request.find("office"), f"Administratie {dim_office} bestaat niet."))
        if dimtype != "DEB":
            errors.append((request.find("type"), f"Dimensietype {dimtype} niet toegestaan."))
        if not name:
            errors.append((request, "Naam is verplicht."))
        if (dim_office, dimtype, code) in self.dimensions:
            errors.append((request.find("code"), f"Code {code} bestaat al."))
        for element, message in errors:
            _error(element if element is not None else request, message)
        if errors:
            request.set("result", "0")
            return request
        address = request.find("addresses/address")
        self.dimensions[(dim_office, dimtype, code)] = {
            "code": code, "name": name, "type": dimtype,
            "vatnumber": address.findtext("vatnumber") if address is not None else None,
            "cocnumber": address.findtext("cocnumber") if address is not None else None,
        }
        request.set("result", "1")
        return request

    def _transaction(self, item) -> bool:
        """Validate, store and number one transaction in place; return whether it passed.

        Rules: B3 (header fields, positive values with debitcredit, total/detail/vat lines,
        at least two lines), B6 (1000 lines checked by the caller), C5 (codes as text)."""
        errors: list[tuple] = []
        warnings: list[tuple] = []
        header = item.find("header")
        if header is None:
            _error(item, "Header ontbreekt.")
            item.set("result", "0")
            return False

        def need(tag):
            node = header.find(tag)
            if node is None or not (node.text or "").strip():
                errors.append((header, f"{tag} is verplicht."))
                return None
            return node

        office_node, code_node = need("office"), need("code")
        date_node, period_node = need("date"), header.find("period")
        office = office_node.text if office_node is not None else ""
        code = code_node.text if code_node is not None else ""
        destiny = item.get("destiny") or "temporary"
        if destiny not in ("final", "temporary"):  # B3 @destiny
            errors.append((item, f"Ongeldige bestemming {destiny}."))
        if office_node is not None and office not in self.offices:
            errors.append((office_node, f"Administratie {office} bestaat niet."))
        kind = self.transaction_types.get((office, code))
        if code_node is not None and kind is None:
            errors.append((code_node, f"Dagboek {code} bestaat niet."))
        day = None
        if date_node is not None:
            day = _ymd(date_node.text)
            if day is None:
                errors.append((date_node, f"Ongeldige datum {date_node.text}."))
        period = (period_node.text or "").strip() if period_node is not None else (
            f"{date_node.text[:4]}/{date_node.text[4:6]}" if day else "")
        if period:
            if (office, period) not in self.periods:  # B3: period YYYY/PP
                errors.append((period_node if period_node is not None else header,
                               f"Periode {period} bestaat niet."))
            elif not self.periods[(office, period)]:  # C4: closed periods
                errors.append((period_node if period_node is not None else header,
                               f"Periode {period} is gesloten."))
        currency = header.findtext("currency") or "EUR"
        if currency != "EUR":
            errors.append((header.find("currency"), f"Valuta {currency} niet toegestaan."))
        invoicenumber = header.findtext("invoicenumber")
        if kind == "sales":
            if not invoicenumber:
                errors.append((header, "Factuurnummer is verplicht."))
            elif self.reject_duplicate_invoice_numbers and any(
                trs["office"] == office and trs["code"] == code
                and trs["invoicenumber"] == invoicenumber for trs in self.transactions
            ):  # B6: reported by integrators, not guaranteed
                errors.append((header.find("invoicenumber"),
                               f"Factuurnummer {invoicenumber} komt reeds voor."))
            duedate = header.findtext("duedate")
            if duedate and day and _ymd(duedate) and _ymd(duedate) < day:
                warnings.append((header.find("duedate"),
                                 "Vervaldatum ligt voor de factuurdatum."))
        for pending in list(self.pending_warnings):  # B3: warnings inside a 200 answer
            if pending[0] in (None, code):
                self.pending_warnings.remove(pending)
                warnings.append((header, pending[1]))
                break
        lines = item.findall("lines/line")
        if len(lines) < 2:  # B3: at least two lines
            errors.append((item.find("lines") if item.find("lines") is not None else item,
                           "Een boeking moet minstens twee regels bevatten."))
        stored_lines, explicit_vat_codes, generated = [], set(), collections.defaultdict(Decimal)
        vat_invoice: dict[str, str | None] = {}  # a generated VAT line's invoice number
        totals = 0
        for line in lines:
            line_type = line.get("type")
            dim1, dim2, dim3 = line.findtext("dim1"), line.findtext("dim2"), line.findtext("dim3")
            debitcredit = line.findtext("debitcredit")
            value = _amount(line.findtext("value"))
            if value is None:  # B3: positive, dot decimal, two decimals
                errors.append((line.find("value") if line.find("value") is not None else line,
                               f"Ongeldig bedrag {line.findtext('value')}."))
                continue
            if debitcredit not in ("debit", "credit"):
                errors.append((line, "debitcredit moet debit of credit zijn."))
                continue
            signed = value if debitcredit == "debit" else -value
            vatcode = line.findtext("vatcode")
            if line_type == "total":
                totals += 1
                if kind != "sales":
                    errors.append((line, "Een totaalregel hoort niet in dit dagboek."))
                if not dim2 or (office, "DEB", dim2) not in self.dimensions:
                    errors.append((line.find("dim2") if line.find("dim2") is not None else line,
                                   f"Debiteur {dim2} bestaat niet."))
                if dim1 is None:
                    dim1 = DEBTORS  # B3: defaults from the customer
                elif not self._gl(office, dim1):
                    errors.append((line.find("dim1"), f"Grootboekrekening {dim1} bestaat niet."))
            elif line_type == "detail":
                gl = self._gl(office, dim1 or "")
                if gl is None:
                    errors.append((line.find("dim1") if line.find("dim1") is not None else line,
                                   f"Grootboekrekening {dim1} bestaat niet."))
                elif gl.get("control") == "debtors":  # B3: dim2 = customer on control acct
                    if not dim2 or (office, "DEB", dim2) not in self.dimensions:
                        errors.append((line, f"Debiteur {dim2} bestaat niet."))
                    if dim3:  # B6: a cost centre on level 3 only, never on a customer's 2
                        self._check_cost_centre(line, "dim3", dim3, office, errors)
                else:  # B3: dim2 of a detail line = cost centre or empty (B6: or dim3)
                    for tag, dim in (("dim2", dim2), ("dim3", dim3)):
                        if dim:
                            self._check_cost_centre(line, tag, dim, office, errors)
                if vatcode:
                    vat = self.vat_codes.get((office, vatcode))
                    if vat is None:
                        errors.append((line.find("vatcode"), f"Btw-code {vatcode} bestaat niet."))
                    else:
                        given = line.findtext("vatvalue")
                        if given is not None:  # Odoo's VAT carried (services/twinfield/xml.py)
                            vat_value = _amount(given)
                            if vat_value is None:
                                errors.append((line.find("vatvalue"),
                                               f"Ongeldig btw-bedrag {given}."))
                                continue
                        else:  # B3: Twinfield generates VAT from the detail's vatcode
                            vat_value = _half_up(value * vat["percentage"] / 100)
                        generated[vatcode] += vat_value if signed >= 0 else -vat_value
                        vat_invoice.setdefault(vatcode, line.findtext("invoicenumber")
                                               or invoicenumber)
            elif line_type == "vat":  # B3: optional explicit VAT line
                vat = self.vat_codes.get((office, vatcode or ""))
                if vat is None:
                    errors.append((line, f"Btw-code {vatcode} bestaat niet."))
                    continue
                explicit_vat_codes.add(vatcode)
                dim1 = dim1 or vat["account"]
            else:
                errors.append((line, f"Ongeldig regeltype {line_type}."))
                continue
            stored_lines.append({
                "type": line_type, "dim1": dim1, "dim2": dim2, "dim3": dim3, "signed": signed,
                "vatcode": vatcode,
                "invoicenumber": line.findtext("invoicenumber") or invoicenumber,
                "description": line.findtext("description"),
            })
        if kind == "sales" and totals != 1:
            errors.append((item, "Een verkoopboeking heeft precies een totaalregel."))
        for vatcode, amount in sorted(generated.items()):
            if vatcode in explicit_vat_codes or not amount:
                continue
            stored_lines.append({
                "type": "vat", "dim1": self.vat_codes[(office, vatcode)]["account"],
                "dim2": None, "signed": amount, "vatcode": vatcode,
                "invoicenumber": vat_invoice.get(vatcode) or invoicenumber,
                "description": "btw", "generated": True,
            })
        balance = sum((line["signed"] for line in stored_lines), Decimal(0))
        if not errors and balance:
            errors.append((item, f"Boeking is niet in balans. Verschil: {balance:.2f}."))
        for element, message in errors:
            _error(element if element is not None else item, message)
        raise_warnings = item.get("raisewarning", "true") != "false"  # B3: default true
        for element, message in warnings:
            _mark(element if element is not None else item, "warning", message)
        if errors or (warnings and raise_warnings):  # B6: a warning alone can fail it
            item.set("result", "0")
            return False
        self._numbers[(office, code)] += 1
        number = f"{int(period[:4]) if period else 0}{self._numbers[(office, code)]:05d}"
        etree.SubElement(header, "number").text = number
        item.set("result", "1")
        item.set("location", destiny)  # B3: the answer echoes @location
        self.transactions.append({
            "office": office, "code": code, "number": number, "destiny": destiny,
            "period": period, "date": date_node.text, "invoicenumber": invoicenumber,
            "duedate": header.findtext("duedate") or date_node.text, "lines": stored_lines,
        })
        return True

    def _check_cost_centre(self, line, tag: str, code: str, office: str, errors: list) -> None:
        """B6 "Cost centre" (dim2 or dim3, a setting of the office): only known cost centres
        (KPL), and only on the level that holds them; anything else is refused (B3: the
        offending element gets ``msg``)."""
        if tag != self.cost_centre_dim:
            level = tag[-1]
            errors.append((line.find(tag), f"Dimensie {code} op niveau {level} is niet "
                                           f"toegestaan."))
        elif (office, "KPL", code) not in self.dimensions:
            errors.append((line.find(tag), f"Kostenplaats {code} bestaat niet."))

    def _gl(self, office: str, code: str) -> dict | None:
        return (self.dimensions.get((office, "BAS", code))
                or self.dimensions.get((office, "PNL", code)))


# -- helpers ---------------------------------------------------------------------------------


def _parse(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def _mark(element, msgtype: str, message: str) -> None:
    """B3: ``msgtype``/``msg`` on the offending element; several joined with ``//``."""
    previous = element.get("msg")
    element.set("msgtype", msgtype if not previous or element.get("msgtype") == msgtype
                else "error")
    element.set("msg", f"{previous} // {message}" if previous else message)


def _error(element, message: str) -> None:
    _mark(element, "error", message)


def _ymd(text):
    import datetime

    try:
        return datetime.datetime.strptime(text or "", "%Y%m%d").date()
    except ValueError:
        return None


def _amount(text) -> Decimal | None:
    """B3: positive, dot decimal, at most two decimals."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    if value < 0 or value != value.quantize(CENT) or not (text or "").strip():
        return None
    return value


def _filter_ok(value: str, column: dict) -> bool:
    operator = column["operator"]
    if not operator:
        return True
    if operator == "equal":
        return value == (column["from"] or "")
    if operator == "between":
        return (column["from"] or "") <= value <= (column["to"] or "\uffff")
    return False


def _unsigned_jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _json(status: int, body, headers: dict | None = None) -> _Response:
    return _Response(status, json.dumps(body).encode("utf-8"),
                     {"Content-Type": "application/json", **(headers or {})})


def _soap_answer(result: str) -> _Response:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, f"{{{TWF}}}ProcessXmlStringResponse", nsmap={None: TWF})
    etree.SubElement(response, f"{{{TWF}}}ProcessXmlStringResult").text = result
    return _Response(200, etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                     {"Content-Type": "text/xml; charset=utf-8"})


def _soap_fault(message: str) -> _Response:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = "soap:Server"
    etree.SubElement(fault, "faultstring").text = message
    return _Response(500, etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                     {"Content-Type": "text/xml; charset=utf-8"})


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the :class:`TwinfieldServer`, applies faults, writes the answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._serve("GET")

    def do_POST(self):  # noqa: N802 (http.server naming)
        self._serve("POST")

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        """Stay quiet."""

    def _serve(self, method: str) -> None:
        app: TwinfieldServer = self.server.app
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = app.classify(method, self.path, body)
        if target in ("read", "write"):
            with app._lock:
                app.in_flight += 1
                busy = app.in_flight > app.max_concurrent
            try:
                if busy:  # B6: concurrency limit per organisation -> 429, not processed
                    self._send(_Response(429, b"", {"Retry-After": "1"}), app)
                    return
                self._serve_call(method, body, target, app)
            finally:
                with app._lock:
                    app.in_flight -= 1
            return
        self._serve_call(method, body, target, app)

    def _serve_call(self, method: str, body: bytes, target: str, app) -> None:
        if target == "write" and app.before_write is not None:
            app.before_write()
        fault = app.take_fault(target)
        if fault and fault.kind == "reset_before_store":
            self._reset()
            return
        if fault and fault.kind == "status":
            headers = {"Content-Type": "text/html"}
            if fault.status == 429:  # B4: not processed, Retry-After
                headers["Retry-After"] = str(fault.retry_after)
            response = _Response(fault.status, b"<html><body>Error</body></html>", headers)
        else:
            response = app.handle(method, self.path, self.headers, body)
        with app._lock:
            app.statuses[response.status] += 1
        if fault and fault.kind == "reset_after_store":
            self._reset()
            return
        if fault and fault.kind == "timeout_after_store":
            time.sleep(fault.delay)
        self._send(response, app, count=False)

    def _send(self, response: _Response, app, count: bool = True) -> None:
        if count:
            with app._lock:
                app.statuses[response.status] += 1
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
