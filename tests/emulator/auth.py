"""OAuth 2.0 token endpoint and bearer-token scope checks.

`POST /token` accepts a service-account JWT assertion (signature not verified) and issues an
opaque access token, remembering the scopes and subject the assertion asked for. API calls made
with a token issued here must carry one of the scopes the discovery document lists for the
method, like Google's 403 insufficientPermissions. Tokens the emulator never issued (e.g.
`Credentials(token="x")`, anonymous calls) pass unless `require_auth` is set.

A delegated subject (the JWT `sub`, domain-wide delegation) must be a bare address
(`user@domain`): Google refuses anything else, e.g. `Name <user@domain>` or a bare domain, with
400 `invalid_request` "Invalid impersonation &quot;sub&quot; field: …" (HTML-escaped quotes, the value
appended), as quoted from Google's answer in GAM-team/GAM issue #1595 and listed among GAM's known
token errors (src/gam/gamlib/glapi.py, OAUTH2_TOKEN_ERRORS). With `workspace_domains` set, a subject
outside those domains is a user the service account was never authorised for: 401
`unauthorized_client` "Client is unauthorized to retrieve access tokens using this method, or client
not authorized for any of the scopes requested." (googleapis/google-auth-library-ruby issue #210,
peburrows/goth issue #159 shows the 401; the service-account guide
https://developers.google.com/identity/protocols/oauth2/service-account#delegate-domain-wide-authority
describes the delegation it checks).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .errors import ApiError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# A bare addr-spec: no display name, no angle brackets, no spaces, a dotted domain.
_BARE_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})$")
UNAUTHORIZED_CLIENT = ("Client is unauthorized to retrieve access tokens using this method, or client not "
                       "authorized for any of the scopes requested.")


@dataclass(frozen=True)
class Grant:
    access_token: str
    scopes: tuple[str, ...]
    subject: str | None
    issuer: str | None
    grant_type: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False)
    issued_at: float = 0.0


class TokenError(Exception):
    """OAuth endpoint errors use their own shape: {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def decode_jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("JWT payload is not base64url JSON") from exc
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    return claims


class Auth:
    def __init__(self, *, enforce_scopes: bool = True, require_auth: bool = False) -> None:
        self.enforce_scopes = enforce_scopes
        self.require_auth = require_auth
        # Domains whose users the service account may act as (domain-wide delegation); empty: any.
        self.workspace_domains: set[str] = set()
        self.grants: list[Grant] = []
        self._by_token: dict[str, Grant] = {}
        self._lock = threading.Lock()

    # -- token endpoint --------------------------------------------------------------------
    def token_request(self, body: bytes) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER:
            try:
                claims = decode_jwt_claims(form.get("assertion", ""))
            except ValueError as exc:
                raise TokenError("invalid_grant", f"Invalid JWT: {exc}") from exc
            scope = str(claims.get("scope", "")).strip()
            if not scope and not claims.get("target_audience"):
                # What Google says when a service account asks for a token without scopes.
                raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
            if claims.get("sub") is not None:
                self._check_subject(str(claims["sub"]))
            grant = self.issue(tuple(scope.split()), claims.get("sub"), claims.get("iss"), grant_type, claims)
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise TokenError("invalid_request", "Missing required parameter: refresh_token")
            scopes = tuple(form.get("scope", "").split())
            grant = self.issue(scopes, None, form.get("client_id"), grant_type, {})
        else:
            raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        return {"access_token": grant.access_token, "expires_in": 3600, "token_type": "Bearer"}

    def _check_subject(self, sub: str) -> None:
        bare = _BARE_ADDRESS.match(sub)
        if bare is None:
            escaped = sub.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
            raise TokenError("invalid_request", f"Invalid impersonation &quot;sub&quot; field: {escaped}")
        if self.workspace_domains and bare.group(1).lower() not in self.workspace_domains:
            raise TokenError("unauthorized_client", UNAUTHORIZED_CLIENT, status=401)

    def issue(
        self,
        scopes: tuple[str, ...],
        subject: str | None = None,
        issuer: str | None = None,
        grant_type: str = "manual",
        claims: dict[str, Any] | None = None,
    ) -> Grant:
        """Issue a token directly (tests may use this instead of the token endpoint)."""
        grant = Grant(
            access_token="ya29.emu-" + secrets.token_urlsafe(24),
            scopes=scopes,
            subject=subject,
            issuer=issuer,
            grant_type=grant_type,
            claims=dict(claims or {}),
            issued_at=time.time(),
        )
        with self._lock:
            self.grants.append(grant)
            self._by_token[grant.access_token] = grant
        return grant

    def grant_for(self, token: str) -> Grant | None:
        with self._lock:
            return self._by_token.get(token)

    # -- API calls -------------------------------------------------------------------------
    def check(
        self, authorization: str | None, access_token_param: str | None, scopes: list[str]
    ) -> Grant | None:
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        elif access_token_param:
            token = access_token_param
        if token is None:
            if self.require_auth:
                raise ApiError(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                    reason="required",
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                )
            return None
        grant = self.grant_for(token)
        granted: tuple[str, ...] | None = None
        if grant is not None:
            granted = grant.scopes
        else:
            # A self-signed JWT used directly as the bearer token (always_use_jwt_access).
            try:
                claims = decode_jwt_claims(token)
            except ValueError:
                claims = None
            if claims is not None and claims.get("scope"):
                granted = tuple(str(claims["scope"]).split())
            elif self.require_auth and claims is None:
                raise ApiError(401, "Request had invalid authentication credentials.", reason="authError")
        if self.enforce_scopes and granted is not None and scopes and not set(granted) & set(scopes):
            raise ApiError(
                403,
                "Request had insufficient authentication scopes.",
                reason="insufficientPermissions",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
                },
            )
        return grant
