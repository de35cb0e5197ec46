"""CDS Hooks security: JWT of the CDS client (ES384, RS384, wrong issuer, expired, alg none,
HMAC, audience, replay, JWK Set URL), CORS preflight, and the feedback endpoint."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from backpath.store import audit
from tests.interop._servers import serve
from tests.interop.conftest import SERVICE, hook_request, questionnaire_response
from tests.web._support import make_app

ISSUER = "https://ehr.example.org/"
BASE = "http://testserver"
EC_KEY = ECKey.generate_key("P-384", parameters={"kid": "ec-1", "use": "sig", "alg": "ES384"})
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS384"})
JWKS = {"keys": [EC_KEY.as_dict(private=False), RSA_KEY.as_dict(private=False)]}


def token(
    key: Any = EC_KEY,
    alg: str = "ES384",
    aud: str = f"{BASE}{SERVICE}",
    iss: str = ISSUER,
    exp_in: int = 300,
    jti: str | None = None,
    **header: Any,
) -> str:
    """A CDS client JWT."""
    now = int(time.time())
    claims = {
        "iss": iss,
        "aud": aud,
        "exp": now + exp_in,
        "iat": now - 5,
        "jti": jti or str(uuid.uuid4()),
        "tenant": "clinic-1",
    }
    head = {"alg": alg, "typ": "JWT", "kid": key.kid, **header}
    return jwt.encode(head, claims, key, algorithms=[alg])


def unsigned(aud: str = f"{BASE}{SERVICE}") -> str:
    """An ``alg: none`` JWT (no signature)."""

    def part(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": aud, "exp": now + 300, "iat": now, "jti": "x"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[TestClient]:
    """An app trusting ISSUER with an inline JWK Set, CORS for the sandbox's origin."""
    app, store = make_app(
        tmp_path,
        cds_issuers=((ISSUER, json.dumps(JWKS)),),
        cds_cors_origins=("https://sandbox.cds-hooks.org",),
    )
    with TestClient(app) as client:
        yield client
    store.dispose()


def call(client: TestClient, jwt_text: str | None) -> Any:
    """POST a routine request with ``Authorization: Bearer <jwt_text>``."""
    headers = {"authorization": f"Bearer {jwt_text}"} if jwt_text is not None else {}
    request = hook_request(questionnaire_response({"back_pain": True}))
    return client.post(SERVICE, json=request, headers=headers)


@pytest.mark.parametrize(("key", "alg"), [(EC_KEY, "ES384"), (RSA_KEY, "RS384")])
def test_valid_es384_and_rs384_tokens_are_accepted(secured: TestClient, key: Any, alg: str) -> None:
    """A JWT from the trusted issuer, signed ES384 or RS384, for this endpoint: 200."""
    response = call(secured, token(key, alg))
    assert response.status_code == 200, response.text
    assert response.json()["cards"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: None, "send Authorization"),
        (lambda: token(iss="https://evil.example/"), "not trusted"),
        (lambda: token(exp_in=-3600), "expired"),
        (unsigned, "alg 'none' is refused"),
        (
            lambda: token(OctKey.generate_key(256, parameters={"kid": "ec-1"}), "HS256"),
            "alg 'HS256' is refused",
        ),
        (lambda: token(aud="https://other.example/cds-services/x"), "aud"),
        (lambda: token(RSA_KEY, "RS384", kid="ec-1"), "signature"),
        (lambda: "not-a-jwt", "not a compact JWT"),
    ],
)
def test_bad_tokens_are_401(secured: TestClient, make: Any, reason: str) -> None:
    """Missing, untrusted, expired, unsigned, HMAC, wrong audience or forged: 401."""
    response = call(secured, make())
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["field"] == "Authorization"
    assert reason in response.json()["error"]["message"]


def test_a_replayed_token_is_refused(secured: TestClient) -> None:
    """The same jti twice: the second call is a replay (401)."""
    once = token(jti="same-jti")
    assert call(secured, once).status_code == 200
    again = call(secured, once)
    assert again.status_code == 401
    assert "replay" in again.json()["error"]["message"]


def test_jwks_is_read_from_the_issuers_url(tmp_path: Path) -> None:
    """An issuer configured with a JWK Set URL: the keys are fetched there (real HTTP),
    and a jku header naming another URL is refused."""
    with serve(lambda path, headers: (200, JWKS)) as (base, seen):
        url = f"{base}/.well-known/jwks.json"
        app, store = make_app(tmp_path, cds_issuers=((ISSUER, url),))
        with TestClient(app) as client:
            assert call(client, token(RSA_KEY, "RS384", jku=url)).status_code == 200
            assert call(client, token()).status_code == 200
            bad = call(client, token(jku="https://evil.example/jwks.json"))
        store.dispose()
    assert bad.status_code == 401
    assert "jku" in bad.json()["error"]["message"]
    assert seen
    assert seen[0][0] == "/.well-known/jwks.json"


def test_without_issuers_the_service_is_open(client: TestClient) -> None:
    """No trusted issuers configured (development): no JWT needed."""
    assert call(client, None).status_code == 200


def test_cors_preflight_allows_the_configured_origin_only(secured: TestClient) -> None:
    """OPTIONS from the configured origin: 200 with the CORS headers; another origin: not
    allowed; patient pages are untouched."""
    preflight = {
        "origin": "https://sandbox.cds-hooks.org",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    response = secured.options(SERVICE, headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    discovery = secured.get("/cds-services", headers={"origin": "https://sandbox.cds-hooks.org"})
    assert discovery.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    other = secured.options(SERVICE, headers=preflight | {"origin": "https://evil.example"})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    page = secured.get("/", headers={"origin": "https://sandbox.cds-hooks.org"})
    assert "access-control-allow-origin" not in page.headers


def feedback(card: str, outcome: str = "overridden", **extra: Any) -> dict[str, Any]:
    """A feedback body for one card."""
    item = {"card": card, "outcome": outcome, "outcomeTimestamp": "2026-11-25T10:05:31Z"}
    item.update(extra)
    return {"feedback": [item]}


def test_feedback_on_an_issued_card_is_stored(tmp_path: Path) -> None:
    """Each card issued is audited by uuid; feedback (overridden with a reason, accepted
    with suggestions) is stored against it, with the client's issuer."""
    app, store = make_app(tmp_path, cds_issuers=((ISSUER, json.dumps(JWKS)),))
    with TestClient(app) as client:
        card = call(client, token()).json()["cards"][0]
        url = f"{SERVICE}/feedback"
        reason = {
            "reason": {"code": "already-seen", "system": "urn:example", "display": "Seen"},
            "userComment": "seen in clinic today",
        }
        overridden = client.post(
            url,
            json=feedback(card["uuid"], overrideReason=reason),
            headers={"authorization": f"Bearer {token(aud=f'{BASE}{url}')}"},
        )
        accepted = client.post(
            url,
            json=feedback(card["uuid"], "accepted", acceptedSuggestions=[{"id": "s1"}]),
            headers={"authorization": f"Bearer {token(aud=f'{BASE}{url}')}"},
        )
        unauthenticated = client.post(url, json=feedback(card["uuid"]))
    assert overridden.status_code == 200, overridden.text
    assert accepted.status_code == 200
    assert unauthenticated.status_code == 401
    with store.session() as session:
        events = audit.events(session, target_id=card["uuid"])
        rows = [(e.action, e.actor, e.detail) for e in events]
    store.dispose()
    actions = sorted(action for action, _, _ in rows)
    assert actions == ["cds_card", "cds_feedback", "cds_feedback"]
    stored = {d["outcome"]: d for a, _, d in rows if a == "cds_feedback"}
    assert stored["overridden"]["overrideReason"]["userComment"] == "seen in clinic today"
    assert stored["accepted"]["acceptedSuggestions"] == [{"id": "s1"}]
    assert all(actor == f"cds-client:{ISSUER}" for _, actor, _ in rows)
    issued = next(d for a, _, d in rows if a == "cds_card")
    assert issued["patientId"] == "p1"
    assert issued["tenant"] == "clinic-1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"feedback": "nope"}, "feedback"),
        (feedback("x", "maybe"), "feedback[0].outcome"),
        (feedback("x", "accepted"), "feedback[0].acceptedSuggestions"),
        ({"feedback": [{"card": "x", "outcome": "overridden"}]}, "feedback[0].outcomeTimestamp"),
        (feedback(str(uuid.uuid4())), "feedback[0].card"),
    ],
)
def test_invalid_feedback_is_400(client: TestClient, body: Any, field: str) -> None:
    """Malformed feedback, or feedback on a card this service never issued: 400."""
    response = client.post(f"{SERVICE}/feedback", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


# The example of the CDS Hooks specification ("Trusting CDS Clients"): its JWK Set and its
# ES384 token, which expired in 2015.
SPEC_ISSUER = "https://fhir-ehr.example.com/"
SPEC_JWKS = {
    "keys": [
        {
            "kty": "EC",
            "use": "sig",
            "crv": "P-384",
            "kid": "example-kid",
            "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
            "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
            "alg": "ES384",
        }
    ]
}
SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGly"
    "LWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIs"
    "ImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0"
    "MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNh"
    "YzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9"
    "do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjoo"
    "ZdooCSDf2L8-i4awdoUwiEb"
)


def test_the_specification_example_token_is_verified_and_refused_as_expired() -> None:
    """The spec's example JWT verifies against the spec's JWK Set (a real ES384
    signature), and is refused because it expired in 2015."""
    from backpath.interop.auth import AuthError, ClientVerifier, TrustedIssuer

    verifier = ClientVerifier({SPEC_ISSUER: TrustedIssuer(SPEC_ISSUER, jwks=SPEC_JWKS)})
    audience = ["https://cds.example.org/cds-services/some-service"]
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(f"Bearer {SPEC_TOKEN}", audience)
    tampered = SPEC_TOKEN[:-6] + "AAAAAA"
    with pytest.raises(AuthError, match="signature"):
        verifier.verify(f"Bearer {tampered}", audience)
