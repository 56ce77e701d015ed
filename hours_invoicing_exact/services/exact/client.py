"""Plain-Python Exact Online REST client over ``requests``.

One :class:`ExactClient` talks to one division. Around every call it

* asks the :class:`~.ratelimit.RateLimiter` whether to wait (minutely budget) or stop
  (:class:`~.errors.DailyBudgetExhausted`), and records the budget Exact announces;
* takes a valid access token from the :class:`~.oauth.TokenManager`; a 401 triggers
  one renewal and one retry;
* waits for the reset and retries after a 429;
* retries GETs after 5xx, timeouts and connection errors with exponential backoff;
* never repeats a write whose outcome is unknown (timeout or connection lost after
  sending, 5xx other than 503): it raises :class:`~.errors.OutcomeUnknown` so that the
  caller looks the record up first;
* turns Exact's error JSON into exceptions carrying Exact's own text.
"""

import datetime
import logging
import re
from collections.abc import Iterable
from typing import NoReturn

import requests

from ..transport import never_sent
from .clock import Clock, SystemClock
from .errors import (
    ExactAccessDenied,
    ExactBusinessError,
    ExactError,
    ExactRequestError,
    ExactUnavailable,
    OutcomeUnknown,
    ReconnectNeeded,
)
from .oauth import TokenManager
from .ratelimit import RateLimiter, RateLimitStore

_logger = logging.getLogger(__name__)

#: Values per OR-filter; keeps URLs short and the answer within one 60-row page.
FILTER_CHUNK = 20
_EXACT_DATE = re.compile(r"/Date\((-?\d+)\)/")
SALES_ENTRY_SELECT = "EntryID,EntryNumber,YourRef"
ACCOUNT_SELECT = "ID,Code,Name,VATNumber,ChamberOfCommerce,Status"


def odata_literal(value) -> str:
    """Render ``value`` as an OData literal: quoted string (quotes doubled) or number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'{}'".format(str(value).replace("'", "''"))


def or_filter(field: str, values: Iterable) -> str:
    """Return ``field eq v1 or field eq v2 ...`` for an OData ``$filter``."""
    return " or ".join(f"{field} eq {odata_literal(value)}" for value in values)


def chunks(values: Iterable, size: int) -> Iterable[list]:
    """Yield successive lists of at most ``size`` values."""
    chunk = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk



def _error_text(response: requests.Response) -> str | None:
    """Return Exact's error text (``error.message.value``) or ``None`` if the body has none."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    message = error.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    return str(message) if message else None



def parse_exact_date(value) -> datetime.date:
    """Return the date of an Exact date value: ``/Date(<epoch ms>)/`` (what the REST API
    returns) or an ISO 8601 text."""
    match = _EXACT_DATE.fullmatch(str(value or "").strip())
    if match:
        moment = datetime.datetime.fromtimestamp(int(match.group(1)) / 1000, datetime.UTC)
        return moment.date()
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ExactError(f"Exact Online returned an unreadable date: {value!r}") from None


class ExactClient:
    """REST client for one Exact Online division.

    :param base_url: host such as ``https://start.exactonline.nl`` (see
        :func:`~.oauth.base_url_for_country`) or a local test server.
    :param division: the Exact division (administration) code.
    :param tokens: hands out access tokens for the connection.
    :param ratelimit_store: shared budget of this division.
    :param timeout: ``requests`` timeout (seconds, or a (connect, read) tuple).
    :param max_retries: retries of a GET after 5xx/timeouts/connection errors.
    :param backoff: first backoff in seconds; doubles on each retry.
    """

    def __init__(
        self,
        base_url: str,
        division: int,
        tokens: TokenManager,
        ratelimit_store: RateLimitStore,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        timeout: float | tuple = (10.0, 120.0),
        max_retries: int = 4,
        backoff: float = 2.0,
        max_429_waits: int = 5,
        max_pages: int = 500,
    ):
        self.base_url = base_url.rstrip("/")
        self.division = division
        self.tokens = tokens
        self.clock = clock or SystemClock()
        self.limiter = RateLimiter(ratelimit_store, self.clock)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_429_waits = max_429_waits
        self.max_pages = max_pages

    # -- generic access ---------------------------------------------------------------

    def url(self, path: str, division: int | str | None = None) -> str:
        """Return the full URL of ``path`` (``service/Entity``) in the client's division."""
        return f"{self.base_url}/api/v1/{division or self.division}/{path}"

    def get_rows(self, path: str, params: dict, division: int | str | None = None) -> list[dict]:
        """GET a collection, following ``__next`` links; return all rows."""
        url, rows = self.url(path, division), []
        for _page in range(self.max_pages):
            data = self._send("GET", url, params)
            if isinstance(data, list):
                return rows + data
            rows.extend(data.get("results", []))
            url, params = data.get("__next"), None
            if not url:
                return rows
            if not url.startswith(self.base_url + "/"):
                raise ExactError(f"Exact Online returned a next link to another host: {url}")
        raise ExactError(f"More than {self.max_pages} pages returned for {path}.")

    def post(self, path: str, payload: dict) -> dict:
        """POST ``payload`` to ``path``; return the created entity.

        :raises OutcomeUnknown: sent, but whether Exact stored it is unknown.
        """
        return self._send("POST", self.url(path), None, payload)

    def _send(self, method: str, url: str, params: dict | None, payload: dict | None = None):
        """Send one request with the retry policy described in the module docstring."""
        failures = waits_429 = 0
        renewed = False
        while True:
            self.limiter.before_call()
            token = self.tokens.access_token()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=payload,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Accept": "application/json",
                        "Prefer": "return=representation",
                    },
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if method != "GET" and not never_sent(exc):
                    raise OutcomeUnknown(
                        f"No answer from Exact Online to {method} {_short(url)} "
                        f"({type(exc).__name__}); the entry may or may not exist."
                    ) from exc
                failures = self._back_off(failures, f"{type(exc).__name__} on {method}")
                continue
            self.limiter.record(response.headers)
            status = response.status_code
            _logger.debug("Exact %s %s -> %s", method, _short(url), status)
            if status < 300:
                return self._unwrap(response)
            if status == 401 and not renewed:
                renewed = True
                self.tokens.renew_after_401(token)
                continue
            if status == 429:
                waits_429 += 1
                if waits_429 > self.max_429_waits:
                    raise ExactUnavailable("Exact Online keeps refusing calls (HTTP 429).", 429)
                self.limiter.wait_after_429(response.headers)
                continue
            text = _error_text(response)
            if status == 500 and text:
                raise ExactBusinessError(text, status)
            if status >= 500:
                if method != "GET" and status != 503:
                    raise OutcomeUnknown(
                        f"Exact Online answered HTTP {status} to {method} {_short(url)}; "
                        "the entry may or may not exist."
                    )
                failures = self._back_off(failures, f"HTTP {status} on {method}")
                continue
            self._raise_client_error(status, text or response.reason or "")

    def _back_off(self, failures: int, what: str) -> int:
        """Sleep before retry number ``failures + 1``, or give up when retries are spent."""
        if failures >= self.max_retries:
            raise ExactUnavailable(f"Exact Online is not available ({what}); try again later.")
        _logger.info("Exact Online: %s, retrying", what)
        self.clock.sleep(self.backoff * 2**failures)
        return failures + 1

    @staticmethod
    def _raise_client_error(status: int, text: str) -> NoReturn:
        """Raise the exception for a 4xx answer other than a first 401 or a 429."""
        if status == 401:
            raise ReconnectNeeded(
                f"Exact Online refused a freshly renewed token ({text}). "
                "Connect to Exact Online again."
            )
        if status == 403:
            raise ExactAccessDenied(text, status)
        raise ExactRequestError(text, status)

    @staticmethod
    def _unwrap(response: requests.Response):
        """Return the ``d`` member of a JSON answer (``{}`` for an empty body)."""
        if not response.content:
            return {}
        body = response.json()
        return body.get("d", body) if isinstance(body, dict) else body

    # -- endpoints ----------------------------------------------------------------

    def me(self) -> dict:
        """Return the current user, including ``CurrentDivision``: ``/api/v1/current/Me``, no
        division in the path (accounting-apis.md A2)."""
        rows = self.get_rows(
            "Me", {"$select": "UserID,UserName,FullName,CurrentDivision"}, "current"
        )
        return rows[0] if rows else {}

    def divisions(self) -> list[dict]:
        """Return the divisions the user may access (``hrm/Divisions``)."""
        return self.get_rows("hrm/Divisions", {"$select": "Code,Description,Country,Currency"})

    def find_accounts(
        self,
        *,
        vat_number: str | None = None,
        chamber_of_commerce: str | None = None,
        code: str | None = None,
        select: str = ACCOUNT_SELECT,
    ) -> list[dict]:
        """Return relations matching any of the given keys (``crm/Accounts``).

        ``code`` is compared with ``trim(Code)`` because Exact pads codes to 18 characters.
        """
        clauses = []
        if vat_number:
            clauses.append(f"VATNumber eq {odata_literal(vat_number)}")
        if chamber_of_commerce:
            clauses.append(f"ChamberOfCommerce eq {odata_literal(chamber_of_commerce)}")
        if code:
            clauses.append(f"trim(Code) eq {odata_literal(code.strip())}")
        if not clauses:
            raise ValueError("find_accounts needs a VAT number, a CoC number or a code.")
        return self.get_rows("crm/Accounts", {"$filter": " or ".join(clauses), "$select": select})

    def create_account(self, values: dict) -> dict:
        """Create a relation; ``values`` uses Exact's field names (``Name``, ``Status``...)."""
        return self.post("crm/Accounts", values)

    def gl_accounts(
        self,
        codes: Iterable[str] = (),
        select: str = "ID,Code,Description,Type,BalanceType,VATCode",
    ) -> list[dict]:
        """Return G/L accounts, all or those with the given codes."""
        return self._find("financial/GLAccounts", "trim(Code)", list(codes), select)

    def vat_codes(
        self, select: str = "ID,Code,Description,Percentage,Type,VATTransactionType"
    ) -> list[dict]:
        """Return the VAT codes of the division."""
        return self._find("vat/VATCodes", "", [], select)

    def vat_gl_accounts(self) -> dict[str, set[str]]:
        """Return ``{VAT code: {G/L account GUIDs}}``: the accounts Exact books the VAT of a
        code on (``GLToPay``, ``GLToClaim``) when it generates VAT lines; codes stripped,
        GUIDs lower-case."""
        rows = self._find("vat/VATCodes", "", [], "Code,GLToPay,GLToClaim")
        return {
            (row.get("Code") or "").strip(): {
                str(guid).lower() for guid in (row.get("GLToPay"), row.get("GLToClaim")) if guid
            }
            for row in rows
        }

    def journals(self, select: str = "ID,Code,Description,Type,AllowVAT,Currency") -> list[dict]:
        """Return the journals of the division."""
        return self._find("financial/Journals", "", [], select)

    def create_sales_entry(self, entry: dict) -> dict:
        """POST a sales entry with its embedded ``SalesEntryLines``; return the created entry."""
        return self.post("salesentry/SalesEntries", entry)

    def find_sales_entries(
        self, your_refs: Iterable[str], select: str = SALES_ENTRY_SELECT
    ) -> list[dict]:
        """Return the sales entries whose ``YourRef`` is in ``your_refs`` (batched OR-filters)."""
        return self._find("salesentry/SalesEntries", "YourRef", list(your_refs), select)

    def create_general_journal_entry(self, entry: dict) -> dict:
        """POST a general journal entry with its embedded ``GeneralJournalEntryLines``."""
        return self.post("generaljournalentry/GeneralJournalEntries", entry)

    def financial_periods(self, first_year: int, last_year: int) -> list[dict]:
        """Return the financial periods of the years ``first_year``..``last_year`` as
        ``{"year", "period", "start", "end"}`` (dates), ordered by start date. Exact's periods
        need not be calendar months (13 periods of four weeks, a year from July, ...)."""
        rows = self.get_rows(
            "financial/FinancialPeriods",
            {
                "$filter": f"FinYear ge {int(first_year)} and FinYear le {int(last_year)}",
                "$select": "FinYear,FinPeriod,StartDate,EndDate",
            },
        )
        periods = [
            {"year": int(row["FinYear"]), "period": int(row["FinPeriod"]),
             "start": parse_exact_date(row["StartDate"]), "end": parse_exact_date(row["EndDate"])}
            for row in rows
        ]
        return sorted(periods, key=lambda p: (p["start"], p["year"], p["period"]))

    def _find(self, path: str, field: str, values: list, select: str) -> list[dict]:
        """GET ``path`` filtered on ``field`` in ``values`` (chunked); all rows without values."""
        if not values:
            return self.get_rows(path, {"$select": select})
        rows = []
        for chunk in chunks(values, FILTER_CHUNK):
            rows.extend(
                self.get_rows(path, {"$filter": or_filter(field, chunk), "$select": select})
            )
        return rows


def _short(url: str) -> str:
    """Return the URL without its query string, for log and error messages."""
    return url.split("?", 1)[0]
