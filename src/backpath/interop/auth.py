"""Who is calling: the CDS client's JWT (CDS Hooks 2.0 "Trusting CDS Clients").

When trusted issuers are configured (``BACKPATH_CDS_ISSUERS``), every call to a CDS
service and its feedback endpoint must carry ``Authorization: Bearer <JWT>``, and the JWT
must:

* be signed with an asymmetric algorithm (``ES384`` and ``RS384`` as the spec recommends,
  or another ES/RS/PS one): ``none`` and HMAC are refused;
* come from an allow-listed issuer (``iss``), verified with that issuer's JWK Set (inline
  or from its configured URL; a ``jku`` header must be that URL);
* name this endpoint in ``aud``; carry ``exp`` (not passed), ``iat`` and ``jti`` (a ``jti``
  seen before is a replay and is refused until the token expires).

Without configured issuers the service does not authenticate (development only; the docs
say so). Uses ``joserfc``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from backpath import jsonio
from backpath.errors import IntakeError

ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 4.0


class AuthError(Exception):
    """The request is not from a trusted CDS client (HTTP 401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TrustedIssuer:
    """An allow-listed CDS client: its ``iss`` and where its public keys are."""

    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None


def parse_issuers(pairs: Sequence[tuple[str, str]]) -> dict[str, TrustedIssuer]:
    """Issuers from settings: each value is a JWK Set URL or a JWK Set as JSON text."""
    issuers: dict[str, TrustedIssuer] = {}
    for iss, source in pairs:
        text = source.strip()
        if text.startswith("{"):
            document = json.loads(text)
            if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
                raise ValueError(f"issuer {iss!r}: the JWK Set must have a 'keys' list")
            issuers[iss] = TrustedIssuer(iss, jwks=document)
        else:
            issuers[iss] = TrustedIssuer(iss, jwks_url=text)
    return issuers


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, not yet verified (to find iss and kid)."""
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("the bearer token is not a compact JWT")

    def decode(segment: str) -> dict[str, Any]:
        padded = segment + "=" * (-len(segment) % 4)
        try:
            value = jsonio.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, IntakeError):
            raise AuthError("the bearer token is not a JWT") from None
        if not isinstance(value, dict):
            raise AuthError("the bearer token is not a JWT")
        return value

    return decode(parts[0]), decode(parts[1])


class ClientVerifier:
    """Verifies CDS client JWTs against the trusted issuers (thread-safe)."""

    def __init__(self, issuers: Mapping[str, TrustedIssuer]) -> None:
        self.issuers = dict(issuers)
        self._lock = threading.Lock()
        self._jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._seen_jti: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        """True when issuers are configured (then a valid JWT is required)."""
        return bool(self.issuers)

    def _key_set(self, issuer: TrustedIssuer, jku: Any) -> KeySet:
        if issuer.jwks is not None:
            return KeySet.import_key_set(dict(issuer.jwks))  # type: ignore[arg-type]
        assert issuer.jwks_url is not None
        if jku is not None and jku != issuer.jwks_url:
            raise AuthError(f"jku {jku!r} is not the JWK Set URL configured for {issuer.iss}")
        now = time.monotonic()
        with self._lock:
            cached = self._jwks_cache.get(issuer.jwks_url)
        if cached is None or now - cached[0] > JWKS_CACHE_SECONDS:
            try:
                response = httpx2.get(
                    issuer.jwks_url, timeout=JWKS_TIMEOUT_SECONDS, follow_redirects=False
                )
                document = response.json()
            except (httpx2.HTTPError, ValueError) as exc:
                raise AuthError(f"cannot read the JWK Set of {issuer.iss}: {exc}") from None
            if response.status_code != 200 or not isinstance(document, dict):
                raise AuthError(f"cannot read the JWK Set of {issuer.iss}")
            cached = (now, document)
            with self._lock:
                self._jwks_cache[issuer.jwks_url] = cached
        try:
            return KeySet.import_key_set(cached[1])  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError) as exc:
            raise AuthError(f"the JWK Set of {issuer.iss} is not valid: {exc}") from None

    def verify(self, authorization: str | None, audiences: Sequence[str]) -> dict[str, Any]:
        """The verified claims of the request's JWT; raises ``AuthError``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("send Authorization: Bearer <JWT> signed by a trusted CDS client")
        token = authorization[7:].strip()
        header, claims = _unverified(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthError(f"JWT alg {alg!r} is refused: use ES384 or RS384")
        if header.get("typ") not in (None, "JWT"):
            raise AuthError("JWT typ must be JWT")
        iss = claims.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError(f"JWT issuer {iss!r} is not trusted")
        keys = self._key_set(issuer, header.get("jku"))
        try:
            verified = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise AuthError(f"JWT signature not valid: {exc.description or exc.error}") from None
        except ValueError as exc:
            raise AuthError(f"JWT not valid: {exc}") from None
        claims = dict(verified.claims)
        now = time.time()
        self._check_times(claims, now)
        audience = claims.get("aud")
        sent = [audience] if isinstance(audience, str) else audience
        if not isinstance(sent, list) or not any(
            isinstance(a, str) and a.rstrip("/") in {x.rstrip("/") for x in audiences} for a in sent
        ):
            raise AuthError(f"JWT aud {audience!r} is not this endpoint ({audiences[0]})")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError("JWT jti is required")
        with self._lock:
            for old, expiry in list(self._seen_jti.items()):
                if expiry < now:
                    del self._seen_jti[old]
            key = f"{iss}\x00{jti}"
            if key in self._seen_jti:
                raise AuthError("JWT jti was already used (replay)")
            self._seen_jti[key] = float(claims["exp"]) + LEEWAY_SECONDS
        return claims

    @staticmethod
    def _check_times(claims: Mapping[str, Any], now: float) -> None:
        exp, iat = claims.get("exp"), claims.get("iat")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise AuthError("JWT exp is required")
        if exp + LEEWAY_SECONDS < now:
            raise AuthError("JWT has expired")
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise AuthError("JWT iat is required")
        if iat - LEEWAY_SECONDS > now:
            raise AuthError("JWT iat is in the future")
