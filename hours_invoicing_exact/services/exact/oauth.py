"""Exact Online OAuth 2.0: authorization-code flow, refresh, and a shared token chain.

Facts the code relies on (see the project reference, part A1):

* access tokens live 600 s; a new one may only be requested 570 s after the previous
  one was issued ("too early" is refused with ``Reason: TooEarlyToRefreshTokens``);
* every refresh returns a new refresh token and kills the old one; presenting an old
  one breaks the chain ("Old refresh token used."), which only a new user consent fixes.

Hence :class:`TokenManager` refreshes only in the last :data:`REFRESH_MARGIN` seconds,
does it under the cross-process lock of a :class:`TokenStore`, re-reads the stored
chain after taking the lock (another worker may have refreshed already) and persists
every refresh token it receives at once. Tokens are never logged.
"""

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Protocol
from urllib.parse import urlencode

import requests

from .clock import Clock, SystemClock
from .errors import ExactAccessDenied, ExactUnavailable, ReconnectNeeded, TooEarlyToRefresh

_logger = logging.getLogger(__name__)

#: Exact Online host per country; the same paths are used on every host.
EXACT_HOSTS = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "co.uk": "https://start.exactonline.co.uk",
    "com": "https://start.exactonline.com",
    "fr": "https://start.exactonline.fr",
    "es": "https://start.exactonline.es",
}
AUTHORIZE_PATH = "/api/oauth2/auth"
TOKEN_PATH = "/api/oauth2/token"
#: Refresh only when fewer seconds than this are left on the access token.
REFRESH_MARGIN = 30.0


def base_url_for_country(country: str = "nl") -> str:
    """Return the Exact Online base URL of ``country`` (``nl``, ``be``, ``de``, ``co.uk``, ...).

    :raises ValueError: unknown country.
    """
    try:
        return EXACT_HOSTS[country]
    except KeyError:
        raise ValueError(f"Unknown Exact Online country {country!r}.") from None


@dataclasses.dataclass
class TokenState:
    """One link of a token chain; times are epoch seconds. Tokens stay out of ``repr``."""

    access_token: str = dataclasses.field(default="", repr=False)
    refresh_token: str = dataclasses.field(default="", repr=False)
    expires_at: float = 0.0
    issued_at: float = 0.0

    def seconds_left(self, now: float) -> float:
        """Seconds the access token is still valid at ``now`` (0 when there is none)."""
        return max(0.0, self.expires_at - now) if self.access_token else 0.0

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping | None) -> "TokenState":
        """Build a state from :meth:`to_dict` output, ignoring unknown keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in (values or {}).items() if key in names})

    @classmethod
    def from_token_response(cls, body: Mapping, now: float) -> "TokenState":
        """Build a state from the token endpoint's JSON received at ``now``."""
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token", ""),
            expires_at=now + float(body.get("expires_in") or 600),
            issued_at=now,
        )


class TokenStore(Protocol):
    """Persistence of one connection's token chain, shared by all workers."""

    def load(self) -> TokenState:
        """Return the stored state without locking (an empty state when none)."""

    def lock_and_load(self) -> AbstractContextManager[TokenState]:
        """Take the cross-process lock, then read the stored state; release on exit."""

    def save(self, state: TokenState) -> None:
        """Persist ``state`` at once (own transaction), also while the lock is held."""


class FileTokenStore:
    """:class:`TokenStore` in a JSON file, locked with ``fcntl.flock`` on ``<path>.lock``."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    def load(self) -> TokenState:
        """Read the JSON file; a missing file is an empty state."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                return TokenState.from_dict(json.load(handle))
        except FileNotFoundError:
            return TokenState()

    @contextlib.contextmanager
    def lock_and_load(self) -> Iterator[TokenState]:
        """Hold an exclusive lock on ``<path>.lock`` while the caller works."""
        with open(self.path + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self.load()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self, state: TokenState) -> None:
        """Write atomically (temporary file, fsync, rename), readable by the owner only."""
        temporary = f"{self.path}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(state.to_dict(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


class OAuthClient:
    """The OAuth 2.0 endpoints of one Exact Online host."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        clock: Clock | None = None,
        max_retries: int = 2,
        backoff: float = 1.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock or SystemClock()
        self.max_retries = max_retries
        self.backoff = backoff

    def authorize_url(self, state: str, force_login: bool = False) -> str:
        """Return the URL to send the user's browser to for consent."""
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if force_login:
            query["force_login"] = "1"
        return f"{self.base_url}{AUTHORIZE_PATH}?{urlencode(query)}"

    def exchange_code(self, code: str) -> TokenState:
        """Trade an authorization code (single use, ~3 minutes valid) for a token chain."""
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        )

    def refresh(self, refresh_token: str) -> TokenState:
        """Trade ``refresh_token`` (single use) for a new access and refresh token.

        :raises TooEarlyToRefresh: the current access token is less than 570 s old.
        :raises ReconnectNeeded: the chain is broken; a new consent is needed.
        """
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token_request(self, data: dict) -> TokenState:
        """POST to the token endpoint; retry transport failures and 5xx a few times.

        Retrying a refresh is safe: the presented refresh token stays valid until its
        successor is used for the first time.
        """
        form = dict(data, client_id=self.client_id, client_secret=self.client_secret)
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.clock.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.post(
                    self.base_url + TOKEN_PATH,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                _logger.warning("Exact token endpoint unreachable: %s", type(exc).__name__)
                continue
            if (response.status_code < 500 and response.status_code != 429) or _has_tokens(
                response
            ):
                return self._parse_token_response(response, data["grant_type"])
            _logger.warning("Exact token endpoint answered HTTP %s", response.status_code)
        raise ExactUnavailable("The Exact Online token endpoint is not available; try again later.")

    def _parse_token_response(self, response: requests.Response, grant_type: str) -> TokenState:
        """Turn a token-endpoint answer into a :class:`TokenState` or the matching error."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if body.get("access_token"):
            return TokenState.from_token_response(body, self.clock.now())
        error = body.get("error", "")
        description = body.get("error_description", "") or response.reason or ""
        reason = response.headers.get("Reason", "")
        _logger.warning(
            "Exact refused %s: HTTP %s %s %s", grant_type, response.status_code, error, reason
        )
        if "TooEarly" in reason or "not expired" in description.lower():
            raise TooEarlyToRefresh(description or reason, response.status_code)
        raise ReconnectNeeded(
            f"Exact Online refused the connection ({error or response.status_code}: "
            f"{description}). Connect to Exact Online again."
        )


def _has_tokens(response: requests.Response) -> bool:
    """Whether an answer carries tokens, whatever its status: they must always be kept."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("access_token"))


class TokenManager:
    """Hands out a valid access token for one connection, refreshing under the store's lock."""

    def __init__(
        self,
        store: TokenStore,
        oauth: OAuthClient,
        clock: Clock | None = None,
        margin: float = REFRESH_MARGIN,
    ):
        self.store = store
        self.oauth = oauth
        self.clock = clock or oauth.clock
        self.margin = margin
        self._state: TokenState | None = None

    def connect(self, code: str) -> TokenState:
        """Start a new chain from an authorization code and persist it."""
        with self.store.lock_and_load():
            state = self.oauth.exchange_code(code)
            self.store.save(state)
        self._state = state
        return state

    def reload(self) -> TokenState:
        """Forget the cached state and read the store again (e.g. after a new consent)."""
        self._state = self.store.load()
        return self._state

    def access_token(self) -> str:
        """Return an access token with more than ``margin`` seconds left, refreshing if needed."""
        if self._state is None:
            self.reload()
        if self._state.seconds_left(self.clock.now()) > self.margin:
            return self._state.access_token
        return self._renew(rejected=None)

    def renew_after_401(self, rejected_token: str) -> str:
        """Return a token to retry with after Exact refused ``rejected_token``."""
        return self._renew(rejected=rejected_token)

    def _renew(self, rejected: str | None) -> str:
        """Refresh the chain under the lock unless another worker already did."""
        with self.store.lock_and_load() as state:
            now = self.clock.now()
            if state.access_token != rejected and state.seconds_left(now) > self.margin:
                self._state = state
                return state.access_token
            if not state.refresh_token:
                raise ReconnectNeeded("No Exact Online token is stored. Connect to Exact Online.")
            try:
                new_state = self.oauth.refresh(state.refresh_token)
            except TooEarlyToRefresh:
                if state.access_token != rejected and state.seconds_left(now) > 0:
                    self._state = state
                    return state.access_token
                raise ExactAccessDenied(
                    "Exact Online refused the access token and does not allow renewing it yet."
                ) from None
            self.store.save(new_state)
        self._state = new_state
        return new_state.access_token
