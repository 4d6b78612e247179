"""The OpenID Connect provider: Authlib's authorization server over Wanshi's tables, without a web framework.

Authlib has no FastAPI adapter; the web layer (identity/web/oidc.py) turns each request into an ``HttpCall``
and each ``HttpAnswer`` back into a response. Everything else (which client, which code, which token, is
the login session still live) is decided here, in one unit of work per request.

Security rules beyond the core specs (docs/identity-oidc.md):
- authorization code flow only, PKCE with S256 required of every client, exact redirect URI match;
- a code is good once for 60 seconds; presenting it again refuses it and revokes the tokens it gave;
- refresh tokens (scope ``offline_access``) rotate on every use; a rotated one presented again revokes its
  whole family;
- every token is bound to the login session it came from: when the session ends, the tokens die with it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from authlib.consts import default_json_headers  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization  # type: ignore[import-untyped]
from authlib.oauth2.rfc6750 import BearerTokenValidator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode  # type: ignore[import-untyped]
from authlib.oidc.core.errors import ConsentRequiredError  # type: ignore[import-untyped]
from authlib.oidc.core.util import create_half_hash  # type: ignore[import-untyped]
from authlib.oidc.rpinitiated import EndSessionEndpoint  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import KeySet

from wanshi.config import Settings
from wanshi.identity.domain.oidc import (
    ALGORITHM,
    CODE_LIFETIME,
    ClientType,
    OidcClient,
    Scope,
    Subject,
    claims_for,
    parse_scopes,
    scope_text,
)
from wanshi.identity.policies import oidc as policies
from wanshi.identity.repository import get_user_row, grants_of, update_user
from wanshi.identity.repository import login as login_repo
from wanshi.identity.repository import oidc as repo
from wanshi.identity.services import IdentityService
from wanshi.identity.services.enterprise import legal_person_claims
from wanshi.identity.services.oidc import OidcService, oidc_config, secret_matches
from wanshi.infra.crypto import Sealer, token_digest
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Assurance
from wanshi.kernel.errors import NotFound
from wanshi.org import api as org

GRANT_TYPES = ("authorization_code", "refresh_token")
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
SECRET_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


# --- what the web layer hands in and gets back ------------------------------------------------------------
class Headers(dict[str, str]):
    """Case-insensitive header look-up, as Authlib expects of a framework's headers."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass(frozen=True)
class HttpCall:
    method: str
    uri: str  # as addressed at the issuer (the public URL), query included
    headers: Headers
    query: Sequence[tuple[str, str]]
    form: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class PersonalDataRelease:
    client_id: str
    user_id: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: dict[str, Any] | str
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)


# --- outcomes of the interactive endpoints ------------------------------------------------------------------
@dataclass(frozen=True)
class Redirect:
    """Back to the relying system: with a code, or with an error it can handle."""

    location: str


@dataclass(frozen=True)
class Refused:
    """The request cannot be sent back (unknown client, unregistered redirect URI): shown to the person."""

    error: str
    description: str


@dataclass(frozen=True)
class LoginNeeded:
    """Send the browser to the login page, then back to the request with ``params``; ``again`` when the
    person is signed in but the system asked for a fresh login (prompt=login, or max_age exceeded)."""

    again: bool = False
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ConsentNeeded:
    client: OidcClient
    organisation_name: str
    scopes: list[Scope]
    redirect_uri: str


AuthorizeStep = Redirect | Refused | LoginNeeded | ConsentNeeded


@dataclass(frozen=True)
class LogoutStep:
    ended: bool  # the platform session was ended now
    redirect: str | None  # the registered post-logout address (with state), when it may be used
    confirm: bool  # the request is not from a known relying system's ID token: ask the person first
    client_name: str | None


# --- Authlib's models over our rows -------------------------------------------------------------------------
class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, client: OidcClient, secret_digest: str | None) -> None:
        self.client = client
        self.pk = client.id
        self.client_id = client.client_id
        self._secret_digest = secret_digest
        # Read by Authlib's end-session endpoint.
        self.client_metadata = {"post_logout_redirect_uris": list(client.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is required in every request (OIDC Core 3.1.2.1)

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return scope_text(parse_scopes(scope) & self.client.allowed_scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secret_matches(self._secret_digest, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.client_type is ClientType.PUBLIC:
            return method == "none"
        return method in SECRET_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "refresh_token":
            return Scope.OFFLINE_ACCESS in self.client.allowed_scopes
        return grant_type == "authorization_code"


class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, row: Any) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return str(self.row.redirect_uri)

    def get_scope(self) -> str:
        return str(self.row.scope)

    def get_nonce(self) -> str | None:
        return self.row.nonce  # type: ignore[no-any-return]

    def get_auth_time(self) -> int:
        return int(clock.as_utc(self.row.auth_time).timestamp())

    def get_acr(self) -> str:
        return str(self.row.acr)

    def get_amr(self) -> list[str]:
        return str(self.row.amr).split()


@dataclass(frozen=True)
class _Grantee:
    """Whom a code or refresh token speaks for."""

    user_id: int
    session_id: str
    legal_person_id: int | None
    delegated_scopes: str


class _Token(TokenMixin):  # type: ignore[misc]
    """A token row with what decides its life: client, login session and account (one query)."""

    def __init__(self, row: Any, kind: str, now: datetime) -> None:
        self.row = row
        self.kind = kind
        self.now = now

    def check_client(self, client: _Client) -> bool:
        return int(self.row.client_pk) == client.pk

    def get_scope(self) -> str:
        return str(self.row.scope)

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.now).total_seconds()))

    @property
    def expires_at(self) -> datetime:
        value = self.row.access_expires_at if self.kind == "access" else self.row.refresh_expires_at
        return clock.as_utc(value) if value is not None else self.now

    def is_expired(self) -> bool:
        return self.expires_at <= self.now

    def is_revoked(self) -> bool:
        r = self.row
        session_live = (
            r.session_ended_at is None
            and r.session_expires_at is not None
            and clock.as_utc(r.session_expires_at) > self.now
        )
        return bool(
            r.revoked_at is not None
            or not session_live
            or not r.client_active
            or not r.user_active
            or (self.kind == "refresh" and r.refresh_used_at is not None)
        )

    def get_user(self) -> Any:
        return self.row

    def get_client(self) -> Any:
        return self.row.client_client_id


# --- the per-request server --------------------------------------------------------------------------------
class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {k: v[0] for k, v in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, call: HttpCall) -> None:
        super().__init__(method=call.method, uri=call.uri, headers=call.headers)
        self.payload = _Payload([*call.query, *call.form])
        self._args = dict(call.query)
        self._form = dict(call.form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):  # type: ignore[misc]
    """Built for one request: Authlib's hooks reach the unit of work through it."""

    def __init__(self, provider: OidcProvider, uow: UnitOfWork, issuer: str) -> None:
        super().__init__(scopes_supported=[s.value for s in Scope])
        self.provider = provider
        self.uow = uow
        self.issuer = issuer
        self.now = clock.now()
        self.register_token_generator("default", self._generate_token)
        self.register_grant(_CodeGrant, [_StrictPkce(), _OpenIDCode(self)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Introspection)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_EndSession)

    def query_client(self, client_id: str) -> _Client | None:
        row = repo.client_row(self.uow.session, client_id=client_id)
        if row is None or not row.active:
            return None
        return _Client(repo.client_from_row(row), row.secret_digest)

    def create_oauth2_request(self, request: HttpCall | _Request) -> _Request:
        return request if isinstance(request, _Request) else _Request(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> HttpAnswer:
        return HttpAnswer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def _generate_token(
        self,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        lifetime = self.provider.config.access_token_lifetime
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": int(lifetime.total_seconds()),
            "scope": scope or "",
        }
        if include_refresh_token and Scope.OFFLINE_ACCESS in parse_scopes(scope or ""):
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        grantee: _Grantee = request.user
        client: _Client = request.client
        previous: _Token | None = request.refresh_token
        code: _Code | None = request.authorization_code
        config = self.provider.config
        refresh = token.get("refresh_token")
        repo.add_token(
            self.uow.session,
            {
                "access_digest": token_digest(token["access_token"]),
                "refresh_digest": token_digest(refresh) if refresh else None,
                "client_pk": client.pk,
                "user_id": grantee.user_id,
                "session_id": grantee.session_id,
                "code_digest": code.row.code_digest if code is not None else None,
                "family": previous.row.family if previous is not None else secrets.token_hex(16),
                "scope": token["scope"],
                "legal_person_id": grantee.legal_person_id,
                "delegated_scopes": grantee.delegated_scopes,
                "issued_at": self.now,
                "access_expires_at": self.now + config.access_token_lifetime,
                "refresh_expires_at": self.now + config.refresh_token_lifetime if refresh else None,
            },
        )
        self.uow.audit(
            _client_actor(client),
            "identity.oidc.token.issue",
            object_type="user",
            object_id=grantee.user_id,
            detail={"scope": token["scope"], "grant": "refresh" if previous else "code"},
        )

    # Replays and reuses are refused and also undo what the first use gave (RFC 6749 section 4.1.2,
    # RFC 9700 section 4.14.2); the revocation commits together with the error answer.
    def revoke_for_replay(self, *, client: _Client, reason: str, **where: Any) -> None:
        revoked = repo.revoke_tokens(self.uow.session, self.now, reason, **where)
        self.uow.audit(
            _client_actor(client),
            f"identity.oidc.{reason}",
            outcome="refused",
            object_type="oidc_client",
            object_id=client.client_id,
            detail={"tokens_revoked": revoked},
        )


def _client_actor(client: _Client) -> Actor:
    """The relying system as the actor of protocol requests it authenticates itself for."""
    return Actor(
        kind=ActorKind.SYSTEM, username=f"oidc:{client.client_id}", division_code=client.client.division_code
    )


def _grantee_if_live(
    uow: UnitOfWork, user_id: int, session_id: str, now: datetime, **rest: Any
) -> _Grantee | None:
    row = login_repo.session_and_user(uow.session, session_id)
    if (
        row is None
        or row.ended_at is not None
        or not row.active
        or int(row.id) != user_id
        or clock.as_utc(row.expires_at) <= now
    ):
        return None
    return _Grantee(user_id=user_id, session_id=session_id, **rest)


class _StrictPkce(CodeChallenge):  # type: ignore[misc]
    """PKCE required of every client, confidential ones too (RFC 9700 section 2.1.1), and S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def wanshi(self) -> _Server:
        server: _Server = self.server
        return server

    def save_authorization_code(self, code: str, request: _Request) -> None:
        self.wanshi.provider.save_code(self.wanshi.uow, code, request, self.wanshi.now)

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        digest = token_digest(code)
        row = repo.get_code(self.wanshi.uow.session, digest)
        if row is None or int(row.client_pk) != client.pk:
            return None
        if row.used_at is not None:
            self.wanshi.revoke_for_replay(client=client, reason="code.replayed", code_digest=digest)
            return None
        if clock.as_utc(row.expires_at) <= self.wanshi.now:
            return None
        return _Code(row)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Nothing left to do: the code was spent (compare-and-set) in authenticate_user."""

    def authenticate_user(self, authorization_code: _Code) -> _Grantee | None:
        server, row = self.wanshi, authorization_code.row
        if not repo.use_code(server.uow.session, row.code_digest, server.now):
            server.revoke_for_replay(
                client=self.request.client, reason="code.replayed", code_digest=row.code_digest
            )
            return None
        return _grantee_if_live(
            server.uow,
            int(row.user_id),
            row.session_id,
            server.now,
            legal_person_id=row.legal_person_id,
            delegated_scopes=row.delegated_scopes,
        )


class _RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def wanshi(self) -> _Server:
        server: _Server = self.server
        return server

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        server = self.wanshi
        row = repo.token_by_refresh(server.uow.session, token_digest(refresh_token))
        if row is None:
            return None
        client: _Client = self.request.client
        if row.refresh_used_at is not None and int(row.client_pk) == client.pk:
            server.revoke_for_replay(client=client, reason="refresh.reused", family=row.family)
            return None
        token = _Token(row, "refresh", server.now)
        if token.is_expired() or token.is_revoked():
            return None
        return token

    def authenticate_user(self, refresh_token: _Token) -> _Grantee | None:
        server, row = self.wanshi, refresh_token.row
        if not repo.use_refresh(server.uow.session, int(row.id), server.now):
            server.revoke_for_replay(client=self.request.client, reason="refresh.reused", family=row.family)
            return None
        return _Grantee(
            user_id=int(row.user_id),
            session_id=row.session_id,
            legal_person_id=row.legal_person_id,
            delegated_scopes=row.delegated_scopes,
        )

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        """Spent already by authenticate_user; its access token lives out its short life."""


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, server: _Server) -> None:
        super().__init__(require_nonce=False)
        self.wanshi = server

    def exists_nonce(self, nonce: str, request: _Request) -> bool:
        client: _Client = request.client
        return repo.nonce_used(self.wanshi.uow.session, client.pk, nonce)

    def encode_id_token(self, token: dict[str, Any], request: _Request) -> str:
        server = self.wanshi
        code: _Code = request.authorization_code
        grantee: _Grantee = request.user
        client: _Client = request.client
        key = server.provider.oidc.signing_key(server.uow)
        subject = server.provider.subject(server.uow, grantee, frozenset())
        issued = int(server.now.timestamp())
        claims: dict[str, Any] = {
            **claims_for(subject, parse_scopes(token["scope"]) & _ID_TOKEN_SCOPES),
            "iss": server.issuer,
            "aud": client.client_id,
            "iat": issued,
            "exp": issued + int(server.provider.config.access_token_lifetime.total_seconds()),
            "auth_time": code.get_auth_time(),
            "acr": code.get_acr(),
            "amr": code.get_amr(),
            "at_hash": create_half_hash(token["access_token"], ALGORITHM).decode("ascii"),
            "sid": _sid(grantee.session_id),
        }
        if code.get_nonce():
            claims["nonce"] = code.get_nonce()
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key, [ALGORITHM])


# Personal data beyond the basic claims goes only through userinfo: ID tokens are kept and logged by
# relying systems more than access tokens are.
_ID_TOKEN_SCOPES = frozenset({Scope.OPENID, Scope.PROFILE})


def _sid(session_id: str) -> str:
    """A session identifier for relying systems that is not the session's key."""
    return token_digest("sid:" + session_id)[:32]


def _find_token(server: _Server, token_string: str, hint: str | None) -> _Token | None:
    digest = token_digest(token_string)
    if hint != "refresh_token":
        row = repo.token_by_access(server.uow.session, digest)
        if row is not None:
            return _Token(row, "access", server.now)
    row = repo.token_by_refresh(server.uow.session, digest)
    return _Token(row, "refresh", server.now) if row is not None else None


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = SECRET_AUTH_METHODS

    def create_endpoint_response(self, request: _Request) -> tuple[int, Any, list[tuple[str, str]]]:
        """The common case in one query: a system asking about its own token, its secret in HTTP Basic.
        The token's row carries its client's secret digest, so the client is authenticated from it; any
        other case (unknown token, another client's, bad credentials) takes Authlib's full path."""
        client_id, secret = extract_basic_authorization(request.headers)
        token_string = request.form.get("token")
        if (
            client_id
            and secret
            and token_string
            and request.form.get("token_type_hint") in (None, "access_token")
        ):
            server: _Server = self.server
            row = repo.token_by_access(server.uow.session, token_digest(token_string))
            if (
                row is not None
                and row.client_client_id == client_id
                and row.client_type == ClientType.CONFIDENTIAL.value
                and row.client_active
                and secret_matches(row.client_secret_digest, secret)
            ):
                token = _Token(row, "access", server.now)
                return 200, self.create_introspection_payload(token), default_json_headers
        return super().create_endpoint_response(request)  # type: ignore[no-any-return]

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        return _find_token(self.server, token_string, token_type_hint)

    def check_permission(self, token: _Token, client: _Client, request: _Request) -> bool:
        """A system introspects the tokens issued to itself only."""
        return bool(token.check_client(client))

    def introspect_token(self, token: _Token) -> dict[str, Any]:
        server: _Server = self.server
        r = token.row
        return {
            "active": True,
            "scope": r.scope,
            "client_id": r.client_client_id,
            "token_type": "Bearer" if token.kind == "access" else "refresh_token",
            "sub": r.user_public_id,
            "acct_type": claims_for(_row_subject(r), frozenset())["acct_type"],
            "exp": int(token.expires_at.timestamp()),
            "iat": int(clock.as_utc(r.issued_at).timestamp()),
            "iss": server.issuer,
            "aud": r.client_client_id,
        }


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        return _find_token(self.server, token_string, token_type_hint)

    def revoke_token(self, token: _Token, request: _Request) -> None:
        """An access token alone; a refresh token with every token of its family (RFC 7009 section 2.1)."""
        server: _Server = self.server
        if token.kind == "access":
            # Its row also holds the refresh token, which lives on: the access token is expired instead.
            revoked = repo.expire_access(server.uow.session, int(token.row.id), server.now)
        else:
            revoked = repo.revoke_tokens(
                server.uow.session, server.now, "revoked_by_client", family=token.row.family
            )
        server.uow.audit(
            _client_actor(request.client),
            "identity.oidc.token.revoke",
            object_type="user",
            object_id=int(token.row.user_id),
            detail={"kind": token.kind, "tokens_revoked": revoked},
        )


class _EndSession(EndSessionEndpoint):  # type: ignore[misc]
    def get_server_jwks(self) -> KeySet:
        server: _Server = self.server
        return server.provider.oidc.key_set(server.uow)

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def end_session(self, end_session_request: Any) -> None:
        """Done by OidcProvider.logout, which knows the browser's session."""


class _BearerValidator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, server: _Server) -> None:
        super().__init__(realm="wanshi")
        self.wanshi = server

    def authenticate_token(self, token_string: str) -> _Token | None:
        row = repo.token_by_access(self.wanshi.uow.session, token_digest(token_string))
        return _Token(row, "access", self.wanshi.now) if row is not None else None


def _row_subject(r: Any) -> Subject:
    return Subject(
        public_id=r.user_public_id or "",
        kind=ActorKind(r.user_kind),
        display_name=r.user_display_name,
        assurance=Assurance(r.user_assurance) if r.user_assurance else None,
        organisation_id=r.user_organisation_id,
        division_code=r.user_division_code,
        legal_person_id=r.legal_person_id,
        delegated_scopes=frozenset(r.delegated_scopes.split()),
    )


# --- the provider ------------------------------------------------------------------------------------------
class OidcProvider:
    """The protocol use cases; each takes the request's unit of work and commits what it changed."""

    def __init__(self, oidc: OidcService, identity: IdentityService) -> None:
        self.oidc = oidc
        self.identity = identity
        self.config = oidc.config

    def issuer(self, request_base_url: str) -> str:
        """The public URL when set (production must set it); otherwise the address the request came to."""
        return (self.config.public_url or request_base_url).rstrip("/")

    def discovery(self, issuer: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oidc/authorize",
            "token_endpoint": f"{issuer}/oidc/token",
            "userinfo_endpoint": f"{issuer}/oidc/userinfo",
            "jwks_uri": f"{issuer}/oidc/jwks",
            "introspection_endpoint": f"{issuer}/oidc/introspect",
            "revocation_endpoint": f"{issuer}/oidc/revoke",
            "end_session_endpoint": f"{issuer}/oidc/logout",
            "scopes_supported": [s.value for s in Scope],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": SECRET_AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "at_hash",
                "sid",
                "acct_type",
                "assurance_level",
                "name",
                "organisation_id",
                "organisation_name",
                "division_code",
                "roles",
                "enterprise",
                "phone_number",
                "phone_number_verified",
                "id_number",
            ],
            "acr_values_supported": [a.value for a in Assurance],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
            "ui_locales_supported": ["zh-CN", "en"],
        }

    def jwks(self, uow: UnitOfWork) -> dict[str, Any]:
        keys = self.oidc.published_keys(uow)
        if not keys:
            self.oidc.signing_key(uow)
            uow.commit()
            keys = self.oidc.published_keys(uow)
        return {"keys": keys}

    # --- authorization endpoint ----------------------------------------------------------------------------
    def authorize(
        self, uow: UnitOfWork, call: HttpCall, actor: Actor, issuer: str, *, decision: bool | None
    ) -> AuthorizeStep:
        """GET (decision None): validate, then ask for login or consent, or answer at once when the person
        already agreed to these scopes. POST from the consent form: decision True or False."""
        server = _Server(self, uow, issuer)
        signed_in = policies.can_authorize_client(actor)
        try:
            grant = server.get_consent_grant(request=call, end_user=actor if signed_in else None)
        except OAuth2Error as error:
            return _error_step(error)
        if not signed_in:
            return LoginNeeded()
        if decision is None and self._needs_fresh_login(uow, grant.request.payload.data, actor, server.now):
            # Back to the request without prompt=login, or the fresh login would be asked for again.
            kept = [
                (k, " ".join(p for p in v.split() if p != "login") if k == "prompt" else v)
                for k, v in [*call.query, *call.form]
            ]
            return LoginNeeded(again=True, params=tuple((k, v) for k, v in kept if v))
        uow.authorize(signed_in, actor, "identity.oidc.authorize")
        client: _Client = grant.request.client
        requested = parse_scopes(grant.request.scope or "")
        assert actor.user_id is not None
        consent = repo.consent_row(uow.session, actor.user_id, client.pk)
        remembered = (
            parse_scopes(consent.scopes)
            if consent is not None and consent.revoked_at is None
            else frozenset()
        )
        prompts = (grant.request.payload.data.get("prompt") or "").split()
        if decision is None:
            if requested <= remembered and "consent" not in prompts:
                decision = True
            elif "none" in prompts:
                return _error_step(
                    ConsentRequiredError(redirect_uri=grant.redirect_uri, state=grant.request.payload.state)
                )
            else:
                organisation = org.get_organisation(uow, client.client.organisation_id, _SEE_ALL)
                return ConsentNeeded(
                    client.client,
                    organisation.name,
                    sorted(requested, key=list(Scope).index),
                    grant.redirect_uri,
                )
        if decision:
            repo.save_consent(
                uow.session, actor.user_id, client.pk, scope_text(requested | remembered), server.now
            )
        answer: HttpAnswer = server.create_authorization_response(
            request=grant.request, grant_user=actor if decision else None, grant=grant
        )
        uow.audit(
            actor,
            "identity.oidc.authorize",
            outcome="success" if decision else "refused",
            object_type="oidc_client",
            object_id=client.client_id,
            detail={"scope": scope_text(requested)},
        )
        uow.commit()
        location = answer.location
        return Redirect(location) if location else Refused("server_error", "no redirect")

    @staticmethod
    def _needs_fresh_login(uow: UnitOfWork, data: dict[str, str], actor: Actor, now: datetime) -> bool:
        """OIDC Core 3.1.2.1: prompt=login asks for a new login; max_age bounds the age of the last one."""
        if "login" in (data.get("prompt") or "").split():
            return True
        raw = data.get("max_age")
        if raw is None or not raw.isdigit() or actor.session_id is None:
            return False
        session = login_repo.get_session(uow.session, actor.session_id)
        return session is None or (now - clock.as_utc(session.created_at)).total_seconds() > int(raw)

    def save_code(self, uow: UnitOfWork, code: str, request: _Request, now: datetime) -> None:
        actor: Actor = request.user
        client: _Client = request.client
        assert actor.user_id is not None
        assert actor.session_id is not None
        session_row = login_repo.get_session(uow.session, actor.session_id)
        data = request.payload.data
        self._ensure_public_id(uow, actor.user_id)
        repo.add_code(
            uow.session,
            {
                "code_digest": token_digest(code),
                "client_pk": client.pk,
                "user_id": actor.user_id,
                "session_id": actor.session_id,
                "redirect_uri": request.payload.redirect_uri,
                "scope": request.scope or "",
                "nonce": data.get("nonce"),
                "code_challenge": data["code_challenge"],
                "code_challenge_method": data["code_challenge_method"],
                "auth_time": session_row.created_at if session_row is not None else now,
                "acr": (actor.assurance or Assurance.REGISTERED).value,
                "amr": " ".join(actor.auth_methods) or "pwd",
                "legal_person_id": actor.legal_person_id,
                "delegated_scopes": " ".join(sorted(actor.delegated_scopes)),
                "created_at": now,
                "expires_at": now + CODE_LIFETIME,
            },
        )

    @staticmethod
    def _ensure_public_id(uow: UnitOfWork, user_id: int) -> None:
        """Every account that signs in to a relying system needs its stable subject (staff accounts are
        created without one)."""
        row = get_user_row(uow.session, user_id=user_id)
        if row is not None and not row.public_id:
            update_user(uow.session, user_id, {"public_id": secrets.token_hex(16)})

    # --- token, userinfo, introspection, revocation --------------------------------------------------------
    def token(self, uow: UnitOfWork, call: HttpCall, issuer: str) -> HttpAnswer:
        try:
            answer: HttpAnswer = _Server(self, uow, issuer).create_token_response(call)
        except OAuth2Error as error:  # raised before Authlib's own handling (e.g. plain HTTP)
            answer = _error_answer(error)
        uow.commit()
        return _no_store(answer)

    def userinfo(self, uow: UnitOfWork, call: HttpCall, issuer: str) -> HttpAnswer:
        """Read and record in one unit of work."""
        answer, release = self.read_userinfo(uow, call, issuer)
        if release is not None:
            self.record_release(uow, release)
        return answer

    def read_userinfo(
        self, uow: UnitOfWork, call: HttpCall, issuer: str
    ) -> tuple[HttpAnswer, PersonalDataRelease | None]:
        """The claims, read only (a reader unit of work will do); and, when personal data is handed on, the
        release that ``record_release`` must write."""
        server = _Server(self, uow, issuer)
        body_token = dict(call.form).get("access_token")
        if body_token and call.method == "POST" and "authorization" not in call.headers:
            # RFC 6750 section 2.2: the token in a form-encoded body, as some client libraries send it.
            call = replace(
                call, headers=Headers([*call.headers.items(), ("authorization", f"Bearer {body_token}")])
            )
        protector = ResourceProtector()
        protector.register_token_validator(_BearerValidator(server))
        try:
            token: _Token = protector.validate_request(["openid"], _Request(call))
        except OAuth2Error as error:
            return _error_answer(error), None
        r = token.row
        grantee = _Grantee(int(r.user_id), r.session_id, r.legal_person_id, r.delegated_scopes)
        scopes = parse_scopes(r.scope)
        claims = claims_for(self.subject(uow, grantee, scopes, row=r), scopes)
        sensitive = tuple(sorted(s.value for s in scopes if s in (Scope.PHONE, Scope.IDCARD)))
        release = PersonalDataRelease(r.client_client_id, int(r.user_id), sensitive) if sensitive else None
        return HttpAnswer(200, claims, list(NO_STORE)), release

    def record_release(self, uow: UnitOfWork, release: PersonalDataRelease) -> None:
        """Handing on personal data is recorded (个人信息保护法: who received what, when)."""
        uow.audit(
            Actor(kind=ActorKind.SYSTEM, username=f"oidc:{release.client_id}"),
            "identity.oidc.userinfo.personal_data",
            object_type="user",
            object_id=release.user_id,
            detail={"scopes": list(release.scopes)},
        )
        uow.commit()

    def introspect(self, uow: UnitOfWork, call: HttpCall, issuer: str) -> HttpAnswer:
        try:
            answer: HttpAnswer = _Server(self, uow, issuer).create_endpoint_response("introspection", call)
        except OAuth2Error as error:
            answer = _error_answer(error)
        return _no_store(answer)

    def revoke(self, uow: UnitOfWork, call: HttpCall, issuer: str) -> HttpAnswer:
        try:
            answer: HttpAnswer = _Server(self, uow, issuer).create_endpoint_response("revocation", call)
        except OAuth2Error as error:
            answer = _error_answer(error)
        uow.commit()
        return answer

    def subject(
        self, uow: UnitOfWork, grantee: _Grantee, scopes: frozenset[Scope], *, row: Any = None
    ) -> Subject:
        """What may be said about the person: the basic claims always, the rest only for these scopes."""
        if row is None:
            user = get_user_row(uow.session, user_id=grantee.user_id)
            if user is None:
                raise NotFound("账号不存在")
            base = Subject(
                public_id=user.public_id or "",
                kind=ActorKind(user.kind),
                display_name=user.display_name,
                assurance=Assurance(user.assurance) if user.assurance else None,
                organisation_id=user.organisation_id,
                division_code=user.division_code,
                legal_person_id=grantee.legal_person_id,
                delegated_scopes=frozenset(grantee.delegated_scopes.split()),
            )
        else:
            base = _row_subject(row)
        extra: dict[str, Any] = {}
        if Scope.ORG in scopes and base.kind is ActorKind.STAFF and base.organisation_id is not None:
            extra["grants"] = grants_of(uow.session, grantee.user_id)
            extra["organisation_name"] = org.get_organisation(uow, int(base.organisation_id), _SEE_ALL).name
        if Scope.ENTERPRISE in scopes and base.legal_person_id is not None:
            extra["enterprise_extra"] = self.enterprise_claims(uow, base.legal_person_id)
        if scopes & {Scope.PHONE, Scope.IDCARD}:
            personal = self.identity.accounts.subject_claims(uow, grantee.user_id)
            extra["phone"] = personal.phone if Scope.PHONE in scopes else None
            extra["id_number"] = personal.id_number if Scope.IDCARD in scopes else None
        return replace(base, **extra)

    def enterprise_claims(self, uow: UnitOfWork, legal_person_id: int) -> dict[str, Any]:
        """The enterprise the person acts for: its credit code and name (the delegated scopes come with the
        grantee; a revoked or expired delegation never reaches here, the session falls back to the person)."""
        credit_code, name = legal_person_claims(uow, legal_person_id)
        return {"credit_code": credit_code, "enterprise_name": name}

    # --- RP-initiated logout -----------------------------------------------------------------------------
    def logout(
        self, uow: UnitOfWork, call: HttpCall, actor: Actor, issuer: str, *, confirmed: bool
    ) -> LogoutStep | Refused:
        server = _Server(self, uow, issuer)
        try:
            request = server.validate_endpoint_request("end_session", call)
        except OAuth2Error as error:
            return Refused(error.error or "invalid_request", error.description or "")
        client_name = request.client.client.name if request.client is not None else None
        hint = request.id_token_claims
        if hint is not None and hint.get("iss") != issuer:
            return Refused("invalid_request", "id_token_hint was not issued here")
        session_id = actor.session_id
        same_person = hint is None or (
            actor.user_id is not None and _public_id(uow, actor.user_id) == hint.get("sub")
        )
        if session_id is None or not policies.can_end_sso_session(actor, actor.user_id or -1):
            return LogoutStep(False, request.redirect_uri, False, client_name)
        if not confirmed and (hint is None or not same_person):
            return LogoutStep(False, None, True, client_name)
        revoked = repo.revoke_tokens(uow.session, server.now, "logout", session_id=session_id)
        uow.audit(
            actor,
            "identity.oidc.logout",
            object_type="oidc_client",
            object_id=request.client.client_id if request.client is not None else "",
            detail={"tokens_revoked": revoked},
        )
        # Ends the session (authorised and audited there) and commits the revocation with it.
        self.identity.sessions.end(uow, session_id, actor, "oidc_logout")
        return LogoutStep(True, request.redirect_uri, False, client_name)


def _public_id(uow: UnitOfWork, user_id: int) -> str | None:
    row = get_user_row(uow.session, user_id=user_id)
    return row.public_id if row is not None else None


def _no_store(answer: HttpAnswer) -> HttpAnswer:
    """Token answers must not be cached (RFC 6749 section 5.1); Authlib's already say so, errors may not."""
    present = {k.lower() for k, _ in answer.headers}
    extra = [(k, v) for k, v in NO_STORE if k.lower() not in present]
    return HttpAnswer(answer.status, answer.body, [*answer.headers, *extra])


def _error_answer(error: OAuth2Error) -> HttpAnswer:
    status, body, headers = error()
    return HttpAnswer(status, body, list(headers))


def _error_step(error: OAuth2Error) -> Redirect | Refused:
    if error.redirect_uri:
        status, _body, headers = error()
        location = next((v for k, v in headers if k == "Location"), None)
        if status == 302 and location:
            return Redirect(location)
    return Refused(error.error or "invalid_request", error.description or "")


_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="identity.oidc")


def build_provider(settings: Settings, sealer: Sealer, identity: IdentityService) -> OidcProvider:
    return OidcProvider(OidcService(oidc_config(settings), sealer), identity)
