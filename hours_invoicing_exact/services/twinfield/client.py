"""Plain-Python Twinfield ProcessXml client: SOAP through ``zeep`` with the shipped WSDL.

One :class:`TwinfieldClient` talks to one office (Twinfield's "company") on the cluster
that the access-token validation named (accounting-apis.md B1). Around every call it

* reserves the call's credits in the shared :class:`~.credits.CreditBudget` (reads 1,
  writes 3), waiting for the minute to turn or stopping the run (B4, B6);
* puts ``AccessToken``, ``CompanyCode`` and ``CompanyId`` (``xsi:nil``) in the SOAP header
  (B1, B6); a fault "Access denied. Token invalid" triggers one token renewal and one retry;
* honours ``Retry-After`` on 429 (the request was not processed, B4);
* retries reads after 5xx, timeouts and connection errors with exponential backoff;
* never repeats a write whose outcome is unknown (timeout or connection lost after
  sending, 5xx): it raises :class:`~.errors.OutcomeUnknown` so that the caller looks the
  transactions up first (Twinfield has no idempotency key, B3).

Only ``ProcessXmlString`` is used (``ProcessXmlCompressed`` is retired, B6). The WSDL is
read from the package, never fetched (B5); the port is retargeted to
``{cluster}/webservices/processxml.asmx``.
"""

import logging
import pathlib

import requests
import zeep
import zeep.exceptions
from lxml import etree

from ..exact.clock import Clock, SystemClock
from ..payment_status import finder_search_request, parse_finder
from ..transport import never_sent
from .credits import CreditBudget, credits_of
from .errors import (
    OutcomeUnknown,
    ReconnectNeeded,
    TwinfieldAccessDenied,
    TwinfieldError,
    TwinfieldRequestError,
    TwinfieldUnavailable,
)
from .oidc import TwinfieldTokenManager

_logger = logging.getLogger(__name__)

WSDL_PATH = pathlib.Path(__file__).resolve().parent / "wsdl" / "processxml.wsdl"
NAMESPACE = "http://www.twinfield.com/"
SERVICE_PATH = "/webservices/processxml.asmx"
#: The Finder service (B2), called for ``Search`` only; its WSDL is not shipped: the envelope
#: is built here (same SOAP header as ProcessXml, B1/B6).
FINDER_PATH = "/webservices/finder.asmx"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_RETRY_AFTER = 60.0
#: Fault texts meaning "this token is not (or no longer) accepted" (B1: English and Dutch).
TOKEN_FAULTS = ("token invalid", "token ongeldig", "token expired", "token verlopen")
#: Fault texts meaning "access refused for this company/office".
ACCESS_FAULTS = ("access denied", "toegang geweigerd")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_xml(text: str | bytes) -> etree._Element:
    """Parse an XML answer safely (no entities, no network)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return etree.fromstring(text, _PARSER)


def to_text(element) -> str:
    """Return ``element`` (an lxml element or a string) as an XML string without declaration."""
    if isinstance(element, str):
        return element
    return etree.tostring(element, encoding="unicode")


class _RecordingTransport(zeep.Transport):
    """A zeep transport that keeps the last HTTP response (for ``Retry-After``)."""

    last_response: requests.Response | None = None

    def post(self, address, message, headers):
        """Send and remember the response."""
        self.last_response = None
        response = super().post(address, message, headers)
        self.last_response = response
        return response



class TwinfieldClient:
    """ProcessXml client for one office.

    :param cluster_url: ``twf.clusterUrl`` from :meth:`~.oidc.TwinfieldOIDC.validate`.
    :param office: the office code, sent as the header's ``CompanyCode``; empty only to
        list the offices of the organisation.
    :param tokens: hands out access tokens.
    :param budget: the shared fair-use credits of (client id, organisation).
    :param timeout: ``requests`` timeout (seconds, or a (connect, read) tuple).
    """

    def __init__(
        self,
        cluster_url: str,
        office: str,
        tokens: TwinfieldTokenManager,
        budget: CreditBudget,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        timeout: float | tuple = (10.0, 300.0),
        max_retries: int = 4,
        backoff: float = 2.0,
        max_429_waits: int = 5,
    ):
        self.cluster_url = cluster_url.rstrip("/")
        self.office = office
        self.tokens = tokens
        self.budget = budget
        self.clock = clock or budget.clock or SystemClock()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_429_waits = max_429_waits
        self.transport = _RecordingTransport(session=session or requests.Session(),
                                             timeout=30, operation_timeout=timeout)
        self.transport.operation_timeout = timeout
        self.zeep = zeep.Client(str(WSDL_PATH), transport=self.transport)
        self.service = self.zeep.create_service(
            f"{{{NAMESPACE}}}ProcessXmlSoap", self.cluster_url + SERVICE_PATH
        )
        self._header = self.zeep.get_element(f"{{{NAMESPACE}}}Header")
        #: calls sent (including retries), per kind ("read"/"write"), for tests and benchmarks
        self.calls = {"read": 0, "write": 0}

    def header(self, access_token: str):
        """The SOAP header: AccessToken, CompanyCode = office, CompanyId nil (B1, B6).

        A client without an office (``office`` empty: a new connection listing the offices
        of its organisation, B2) leaves CompanyCode out, as the official sample does."""
        return self._header(AccessToken=access_token, CompanyCode=self.office or None,
                            CompanyId=None)

    def process_xml(self, request) -> etree._Element:
        """Send one ProcessXml request (element or string); return the parsed answer.

        A write is any request whose root is not a query root (:func:`~.credits.credits_of`).

        :raises OutcomeUnknown: a write was sent but its answer was lost.
        """
        xml = to_text(request)
        root_tag = parse_xml(xml).tag
        credits = credits_of(root_tag)
        write = credits > 1
        failures = waits_429 = 0
        renewed = False
        while True:
            self.budget.spend(credits)
            token = self.tokens.access_token()
            self.calls["write" if write else "read"] += 1
            try:
                answer = self.service.ProcessXmlString(
                    xmlRequest=xml, _soapheaders=[self.header(token)]
                )
            except requests.RequestException as exc:
                if never_sent(exc):
                    self.budget.refund(credits)
                elif write:
                    raise OutcomeUnknown(
                        f"No answer from Twinfield to a <{root_tag}> request "
                        f"({type(exc).__name__}); it may or may not have been stored."
                    ) from exc
                failures = self._back_off(failures, f"{type(exc).__name__} on <{root_tag}>")
                continue
            except zeep.exceptions.Fault as fault:
                status = self._last_status()
                if status is not None and not self._soap_fault_body():
                    # a bare status page zeep took for XML (e.g. an HTML 429 or 503)
                    action = self._on_status(status, root_tag, write, failures, waits_429)
                    failures, waits_429 = action
                    continue
                text = str(fault.message or "")
                lowered = text.lower()
                if any(marker in lowered for marker in TOKEN_FAULTS):
                    if renewed:
                        raise ReconnectNeeded(
                            f"Twinfield refused a renewed access token ({text}). "
                            "Connect to Twinfield again."
                        ) from None
                    renewed = True
                    self.tokens.renew_after_denied(token)
                    continue
                if any(marker in lowered for marker in ACCESS_FAULTS):
                    raise TwinfieldAccessDenied(text) from None
                if write:
                    raise OutcomeUnknown(
                        f"Twinfield answered a <{root_tag}> request with a fault ({text}); "
                        "it may or may not have been stored."
                    ) from None
                raise TwinfieldRequestError(text) from None
            except zeep.exceptions.TransportError as exc:
                failures, waits_429 = self._on_status(
                    exc.status_code, root_tag, write, failures, waits_429
                )
                continue
            except zeep.exceptions.Error as exc:
                if write:
                    raise OutcomeUnknown(
                        f"Unreadable answer from Twinfield to a <{root_tag}> request ({exc})."
                    ) from None
                raise TwinfieldError(f"Unreadable answer from Twinfield ({exc}).") from None
            try:
                return parse_xml(answer or "")
            except etree.XMLSyntaxError as exc:
                if write:
                    raise OutcomeUnknown(
                        f"Unreadable answer from Twinfield to a <{root_tag}> request ({exc})."
                    ) from None
                raise TwinfieldError(f"Unreadable answer from Twinfield ({exc}).") from None

    def finder_search(self, type_: str, pattern: str, first_row: int, max_rows: int,
                      options: dict) -> tuple[int, list[dict]]:
        """One Finder ``Search`` (B2): ``(TotalRows, rows as {column: text})``. A query:
        1 credit (B4); retried after 429 (``Retry-After``), 5xx and transport errors; a token
        fault renews the token once."""
        body = finder_search_request(pattern, first_row, max_rows, options, type_)
        session = self.transport.session
        url = self.cluster_url + FINDER_PATH
        failures = waits_429 = 0
        renewed = False
        while True:
            self.budget.spend(1)
            token = self.tokens.access_token()
            self.calls["read"] += 1
            envelope = self._finder_envelope(token, body)
            try:
                response = session.post(
                    url, data=envelope, timeout=self.transport.operation_timeout,
                    headers={"Content-Type": "text/xml; charset=utf-8",
                             "SOAPAction": f'"{NAMESPACE}Search"'})
            except requests.RequestException as exc:
                if never_sent(exc):
                    self.budget.refund(1)
                failures = self._back_off(failures, f"{type(exc).__name__} on Finder Search")
                continue
            status = response.status_code
            try:
                answer = parse_xml(response.content) if response.content else None
            except etree.XMLSyntaxError:
                answer = None
            is_envelope = answer is not None and answer.tag == f"{{{SOAP_ENV}}}Envelope"
            fault = answer.find(f".//{{{SOAP_ENV}}}Fault") if is_envelope else None
            if fault is not None:
                text = fault.findtext("faultstring") or ""
                lowered = text.lower()
                if any(marker in lowered for marker in TOKEN_FAULTS):
                    if renewed:
                        raise ReconnectNeeded(
                            f"Twinfield refused a renewed access token ({text}). "
                            "Connect to Twinfield again.")
                    renewed = True
                    self.tokens.renew_after_denied(token)
                    continue
                if any(marker in lowered for marker in ACCESS_FAULTS):
                    raise TwinfieldAccessDenied(text)
                raise TwinfieldRequestError(text)
            if status >= 300 or not is_envelope:
                self.transport.last_response = response
                if status < 300:
                    raise TwinfieldError("Unreadable answer from Twinfield's Finder.")
                failures, waits_429 = self._on_status(
                    status, "Search", False, failures, waits_429)
                continue
            result = answer.find(f".//{{{NAMESPACE}}}SearchResponse")
            if result is None:
                raise TwinfieldError("Unreadable answer from Twinfield's Finder.")
            try:
                return parse_finder(result)
            except ValueError as exc:
                raise TwinfieldRequestError(str(exc)) from None

    def _finder_envelope(self, token: str, body) -> bytes:
        """SOAP 1.1 envelope: header AccessToken, CompanyCode = office, CompanyId nil."""
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope",
                                 nsmap={"soap": SOAP_ENV, "xsi": XSI})
        header = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header"),
                                  f"{{{NAMESPACE}}}Header", nsmap={None: NAMESPACE})
        etree.SubElement(header, f"{{{NAMESPACE}}}AccessToken").text = token
        etree.SubElement(header, f"{{{NAMESPACE}}}CompanyCode").text = self.office
        etree.SubElement(header, f"{{{NAMESPACE}}}CompanyId").set(f"{{{XSI}}}nil", "true")
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(body)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    def _last_status(self) -> int | None:
        response = self.transport.last_response
        return None if response is None else response.status_code

    def _soap_fault_body(self) -> bool:
        """Whether the last answer is a SOAP envelope (a real fault, not a status page)."""
        response = self.transport.last_response
        return response is not None and b"Envelope" in (response.content or b"")[:400]

    def _on_status(self, status, root_tag: str, write: bool, failures: int, waits_429: int):
        """Handle an HTTP error status; return (failures, waits_429) to retry, or raise."""
        if status == 429:
            waits_429 += 1
            if waits_429 > self.max_429_waits:
                raise TwinfieldUnavailable(
                    "Twinfield keeps refusing calls (HTTP 429, fair use).", 429
                )
            self._wait_after_429()
            return failures, waits_429
        if status and status >= 500:
            if write:
                raise OutcomeUnknown(
                    f"Twinfield answered HTTP {status} to a <{root_tag}> request; "
                    "it may or may not have been stored."
                )
            return self._back_off(failures, f"HTTP {status} on <{root_tag}>"), waits_429
        raise TwinfieldRequestError(f"Twinfield refused the request (HTTP {status}).", status)

    def _wait_after_429(self) -> None:
        """Block the shared budget for ``Retry-After`` seconds and wait that long (B4)."""
        response = self.transport.last_response
        try:
            wait = float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER))
        except (AttributeError, ValueError):
            wait = DEFAULT_RETRY_AFTER
        until = self.budget.blocked(wait)
        _logger.info("Twinfield: 429, waiting %.0f s", wait)
        self.clock.sleep(max(0.0, until - self.clock.now()))

    def _back_off(self, failures: int, what: str) -> int:
        if failures >= self.max_retries:
            raise TwinfieldUnavailable(f"Twinfield is not available ({what}); try again later.")
        _logger.info("Twinfield: %s, retrying", what)
        self.clock.sleep(self.backoff * 2**failures)
        return failures + 1
