"""Twinfield OAuth 2.0 / OpenID Connect: authorize, code -> tokens, refresh, cluster discovery.

Facts the code relies on (accounting-apis.md B1, B6):

* endpoints under ``{login host}/auth/authentication/connect/`` (``authorize``, ``token``,
  ``accesstokenvalidation``); the login host is a parameter so tests point it at a local
  server;
* scopes ``openid twf.user twf.organisation twf.organisationUser offline_access``; ``nonce``
  is required on authorize, ``state`` protects the callback;
* the token call authenticates with HTTP Basic ``client id:secret``;
* access tokens live one hour; the refresh token (25 years) is *reusable*: refreshing does
  not rotate it, so a token response without ``refresh_token`` keeps the old one. We refresh
  in the last :data:`REFRESH_MARGIN` seconds, under the store's cross-process lock, and
  re-read the stored state after taking it (another worker may have refreshed already);
* the access-token validation endpoint tells ``twf.clusterUrl`` (where the web services
  are) and ``twf.organisationCode``.

A refused refresh (``invalid_grant``, 400/401) raises :class:`~.errors.ReconnectNeeded`:
a user must connect again. Tokens are never logged.
"""

import base64
import dataclasses
import json
import logging
import secrets
from urllib.parse import urlencode

import requests

from ..exact.clock import Clock, SystemClock
from ..exact.oauth import FileTokenStore, TokenState, TokenStore
from .errors import ReconnectNeeded, TwinfieldError, TwinfieldUnavailable

__all__ = [
    "ClusterInfo",
    "FileTokenStore",
    "TokenState",
    "TokenStore",
    "TwinfieldOIDC",
    "TwinfieldTokenManager",
    "new_state_and_nonce",
]

_logger = logging.getLogger(__name__)

LOGIN_HOST = "https://login.twinfield.com"
AUTHORIZE_PATH = "/auth/authentication/connect/authorize"
TOKEN_PATH = "/auth/authentication/connect/token"
VALIDATION_PATH = "/auth/authentication/connect/accesstokenvalidation"
SCOPES = ("openid", "twf.user", "twf.organisation", "twf.organisationUser", "offline_access")
#: Access tokens live 3600 s; refresh when fewer seconds than this are left (B6: ~30-60 s).
REFRESH_MARGIN = 45.0
ACCESS_TOKEN_LIFETIME = 3600.0


def new_state_and_nonce() -> tuple[str, str]:
    """Return a fresh (state, nonce) pair for one authorization request."""
    return secrets.token_urlsafe(24), secrets.token_urlsafe(24)


def jwt_claims(token: str) -> dict:
    """Return the claims of a JWT *without* checking its signature (used only to compare the
    ``nonce`` of an ID token received straight from the token endpoint over TLS)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclasses.dataclass
class ClusterInfo:
    """What the access-token validation endpoint tells about a token."""

    cluster_url: str
    organisation_code: str | None = None
    organisation_user_code: str | None = None
    expires_at: float | None = None
    scopes: tuple[str, ...] = ()


class TwinfieldOIDC:
    """The OpenID Connect endpoints of the Twinfield login host."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        login_host: str = LOGIN_HOST,
        session: requests.Session | None = None,
        timeout: float | tuple = 30.0,
        clock: Clock | None = None,
        max_retries: int = 2,
        backoff: float = 1.0,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.login_host = login_host.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock or SystemClock()
        self.max_retries = max_retries
        self.backoff = backoff

    def authorize_url(self, state: str, nonce: str) -> str:
        """Return the URL to send the user's browser to for consent (authorization code)."""
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "state": state,
            "nonce": nonce,
        }
        return f"{self.login_host}{AUTHORIZE_PATH}?{urlencode(query)}"

    def exchange_code(self, code: str, nonce: str | None = None) -> TokenState:
        """Trade an authorization code for tokens.

        :param nonce: the nonce of the authorize request; when the answer carries an ID
            token, its ``nonce`` must match (else :class:`~.errors.TwinfieldError`).
        :raises ReconnectNeeded: the code was refused.
        """
        body = self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        )
        if nonce is not None and body.get("id_token"):
            if jwt_claims(body["id_token"]).get("nonce") != nonce:
                raise TwinfieldError("The Twinfield ID token does not carry our nonce.")
        return TokenState.from_token_response(body, self.clock.now())

    def refresh(self, refresh_token: str) -> TokenState:
        """Trade the (reusable) refresh token for a new access token.

        :raises ReconnectNeeded: Twinfield refused the refresh token.
        """
        body = self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        state = TokenState.from_token_response(body, self.clock.now())
        if not state.refresh_token:
            state.refresh_token = refresh_token  # not rotated: keep using it
        return state

    def validate(self, access_token: str) -> ClusterInfo:
        """Ask the access-token validation endpoint for the cluster and organisation."""
        response = self._request(
            "GET", VALIDATION_PATH, params={"token": access_token}, what="token validation"
        )
        if response.status_code != 200:
            raise ReconnectNeeded(
                f"Twinfield did not accept the access token (HTTP {response.status_code}). "
                "Connect to Twinfield again."
            )
        body = _json(response)
        cluster = body.get("twf.clusterUrl")
        if not cluster:
            raise TwinfieldError("Twinfield's token validation did not name a cluster.")
        scope = body.get("scope") or ()
        return ClusterInfo(
            cluster_url=str(cluster).rstrip("/"),
            organisation_code=body.get("twf.organisationCode"),
            organisation_user_code=body.get("twf.organisationUserCode"),
            expires_at=float(body["exp"]) if body.get("exp") else None,
            scopes=tuple(scope.split() if isinstance(scope, str) else scope),
        )

    def _basic(self) -> dict:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}

    def _request(self, method: str, path: str, *, what: str, **kwargs) -> requests.Response:
        """Send with Basic auth; retry transport failures, 5xx and 429 a few times."""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.clock.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.request(
                    method,
                    self.login_host + path,
                    headers={**self._basic(), "Accept": "application/json"},
                    timeout=self.timeout,
                    **kwargs,
                )
            except requests.RequestException as exc:
                _logger.warning("Twinfield %s unreachable: %s", what, type(exc).__name__)
                continue
            if response.status_code < 500 and response.status_code != 429:
                return response
            _logger.warning("Twinfield %s answered HTTP %s", what, response.status_code)
        raise TwinfieldUnavailable(f"The Twinfield {what} endpoint is not available; try later.")

    def _token_request(self, form: dict) -> dict:
        """POST to the token endpoint; return its JSON or raise the matching error.

        Retrying is safe: an authorization code or a refresh token that got no answer is
        still unused or still reusable.
        """
        response = self._request("POST", TOKEN_PATH, data=form, what="token")
        body = _json(response)
        if response.status_code == 200 and body.get("access_token"):
            return body
        error = body.get("error") or response.status_code
        description = body.get("error_description") or ""
        _logger.warning("Twinfield refused %s: HTTP %s %s", form["grant_type"],
                        response.status_code, error)
        raise ReconnectNeeded(
            f"Twinfield refused the connection ({error}{': ' if description else ''}"
            f"{description}). Connect to Twinfield again."
        )


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class TwinfieldTokenManager:
    """Hands out a valid access token for one connection, refreshing under the store's lock.

    ``store`` is any :class:`TokenStore` (the addon: the connection row, locked ``FOR
    UPDATE``; tests: :class:`FileTokenStore`).
    """

    def __init__(
        self,
        store: TokenStore,
        oidc: TwinfieldOIDC,
        clock: Clock | None = None,
        margin: float = REFRESH_MARGIN,
    ):
        self.store = store
        self.oidc = oidc
        self.clock = clock or oidc.clock
        self.margin = margin
        self._state: TokenState | None = None

    def connect(self, code: str, nonce: str | None = None) -> TokenState:
        """Start from an authorization code and persist the tokens."""
        with self.store.lock_and_load():
            state = self.oidc.exchange_code(code, nonce)
            self.store.save(state)
        self._state = state
        return state

    def reload(self) -> TokenState:
        """Forget the cached state and read the store again."""
        self._state = self.store.load()
        return self._state

    def access_token(self) -> str:
        """Return an access token with more than ``margin`` seconds left."""
        if self._state is None:
            self.reload()
        if self._state.seconds_left(self.clock.now()) > self.margin:
            return self._state.access_token
        return self._renew(rejected=None)

    def renew_after_denied(self, rejected_token: str) -> str:
        """Return a token to retry with after Twinfield refused ``rejected_token``."""
        return self._renew(rejected=rejected_token)

    def _renew(self, rejected: str | None) -> str:
        with self.store.lock_and_load() as state:
            left = state.seconds_left(self.clock.now())
            if state.access_token != rejected and left > self.margin:
                self._state = state
                return state.access_token
            if not state.refresh_token:
                raise ReconnectNeeded("No Twinfield token is stored. Connect to Twinfield.")
            new_state = self.oidc.refresh(state.refresh_token)
            self.store.save(new_state)
        self._state = new_state
        return new_state.access_token
