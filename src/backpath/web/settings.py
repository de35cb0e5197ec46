"""Settings of the web application, from arguments and ``BACKPATH_*`` environment variables."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from backpath.store import default_database_url
from backpath.store.identity import IdentityKeyring, load_identity_key, old_identity_keys

SECRET_KEY_ENV = "BACKPATH_SECRET_KEY"
SECURE_COOKIES_ENV = "BACKPATH_SECURE_COOKIES"
DATA_DIR_ENV = "BACKPATH_DATA_DIR"
# CDS Hooks / FHIR (docs/interop.md): browser origins allowed by CORS (comma-separated),
# trusted CDS clients (JSON object: issuer -> JWK Set URL or inline JWK Set), FHIR servers
# the CDS service may query (comma-separated base URLs), and the public base URL (JWT aud).
CDS_CORS_ORIGINS_ENV = "BACKPATH_CDS_CORS_ORIGINS"
CDS_ISSUERS_ENV = "BACKPATH_CDS_ISSUERS"
CDS_FHIR_SERVERS_ENV = "BACKPATH_CDS_FHIR_SERVERS"
PUBLIC_URL_ENV = "BACKPATH_PUBLIC_URL"
# The JSON API (docs/web.md, "API access"): anonymous POST /api/v1/assessments ("1" turns it
# on), its limit per client address and minute, and how long an Idempotency-Key is kept.
API_ANONYMOUS_POSTS_ENV = "BACKPATH_API_ANONYMOUS_POSTS"
API_ANONYMOUS_PER_MINUTE_ENV = "BACKPATH_API_ANONYMOUS_POSTS_PER_MINUTE"
IDEMPOTENCY_HOURS_ENV = "BACKPATH_IDEMPOTENCY_KEY_HOURS"
# SMART App Launch (docs/interop.md, issue 13): the client id registered with the EHR, the
# FHIR servers (iss) allowed to launch the app (comma-separated base URLs), the redirect URL
# registered with the EHR (default: <public URL>/smart/callback) and the scopes asked for.
SMART_CLIENT_ID_ENV = "BACKPATH_SMART_CLIENT_ID"
SMART_ISSUERS_ENV = "BACKPATH_SMART_ISSUERS"
SMART_REDIRECT_URL_ENV = "BACKPATH_SMART_REDIRECT_URL"
SMART_SCOPES_ENV = "BACKPATH_SMART_SCOPES"
# The clinician worklist asks for new emergency and urgent assessments every this many
# seconds while it is open (the live alert, issue #12).
CLINIC_ALERT_POLL_ENV = "BACKPATH_CLINIC_ALERT_POLL_SECONDS"


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs; the defaults suit one clinic on one machine.

    ``secure_cookies`` marks cookies ``Secure`` (HTTPS only): turn it on whenever the app is
    reached over HTTPS, which must be the case for anything but a machine's own loopback.
    """

    database_url: str
    secret_key: str
    data_dir: Path = Path("data")
    secure_cookies: bool = False
    max_body_bytes: int = 64 * 1024
    max_narrative_chars: int = 4000
    draft_lifetime: timedelta = timedelta(hours=12)
    clinician_session_lifetime: timedelta = timedelta(hours=8)
    # Sign-in: failures in the last ``login_window`` slow further attempts down (never a
    # lockout). Per username, the first 3 failures are free; per client address (one
    # proxy or clinic NAT may carry many clinicians) the first 10. Then the wait doubles
    # from ``login_delay_base_seconds`` up to ``login_delay_max_seconds``.
    login_window: timedelta = timedelta(minutes=15)
    login_free_failures_per_user: int = 3
    login_free_failures_per_client: int = 10
    login_delay_base_seconds: float = 1.0
    login_delay_max_seconds: float = 30.0
    # Strict-Transport-Security max-age, sent when the app is reached over HTTPS (request
    # scheme, or ``public_url`` starting with https://); 0 turns the header off.
    hsts_max_age: int = 2 * 365 * 24 * 3600
    session_cookie: str = "backpath_session"
    # CDS Hooks and FHIR (docs/interop.md). No issuers: the CDS service does not
    # authenticate its clients (development only). No FHIR servers: it never queries one.
    cds_cors_origins: tuple[str, ...] = ()
    cds_issuers: tuple[tuple[str, str], ...] = ()
    cds_fhir_servers: tuple[str, ...] = ()
    # The address patients and systems use to reach the app (``$BACKPATH_PUBLIC_URL``, e.g.
    # ``https://backpath.clinic.example``). Absolute links (the patient's private result
    # link, FHIR ``CapabilityStatement.url``) are built from it, never from the request's
    # ``Host`` header; when unset, links are relative.
    public_url: str | None = None
    # The JSON API. Off: POST /api/v1/assessments needs an API token with the
    # assessments:write scope. On: anyone may post, at most `api_anonymous_posts_per_window`
    # posts per client address per `api_anonymous_window` (then 429 with Retry-After).
    api_anonymous_posts: bool = False
    api_anonymous_posts_per_window: int = 10
    api_anonymous_window: timedelta = timedelta(minutes=1)
    idempotency_key_lifetime: timedelta = timedelta(hours=24)
    # Patient identity and contact (docs/security.md, "Patient identity"): the Fernet key
    # that encrypts and indexes (None: ``<data_dir>/identity_key``, made on first use) and
    # earlier keys that still decrypt and are still searched until ``reencrypt`` has run.
    identity_key: str | None = field(default=None, repr=False)
    identity_keys_old: tuple[str, ...] = field(default=(), repr=False)
    # SMART App Launch (backpath.interop.smart, issue 13): no client id or no issuers turns
    # it off; a launch from an iss that is not listed is refused. ``smart_scopes`` empty:
    # the default scopes of backpath.interop.smart.
    smart_client_id: str | None = None
    smart_issuers: tuple[str, ...] = ()
    smart_redirect_url: str | None = None
    smart_scopes: str = ""
    # The worklist's live alert: how often an open worklist asks the server for new
    # emergency and urgent assessments (``GET /clinic/alerts``). Ten seconds keeps a new
    # emergency on screen within seconds for a few requests a minute per open worklist.
    clinic_alert_poll_seconds: float = 10.0


def check_public_url(value: str | None) -> str | None:
    """``value`` without a trailing ``/``, or a ``ValueError`` naming the setting."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{PUBLIC_URL_ENV} must be an http:// or https:// address, got {value!r}")
    return value.rstrip("/")


def load_secret_key(data_dir: Path) -> str:
    """``$BACKPATH_SECRET_KEY``, or a key kept in ``<data_dir>/secret_key`` (made once, 0600)."""
    configured = os.environ.get(SECRET_KEY_ENV)
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _env_issuers() -> tuple[tuple[str, str], ...]:
    """``$BACKPATH_CDS_ISSUERS``: ``{"https://ehr.example/": "https://ehr.example/jwks"}``;
    a value may also be a JWK Set object (kept as JSON text)."""
    raw = os.environ.get(CDS_ISSUERS_ENV, "").strip()
    if not raw:
        return ()
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise ValueError(f"{CDS_ISSUERS_ENV} must be a JSON object: issuer -> JWK Set")
    return tuple(
        (str(iss), value if isinstance(value, str) else json.dumps(value))
        for iss, value in document.items()
    )


def settings_from_env(
    database_url: str | None = None,
    data_dir: Path | None = None,
    secure_cookies: bool | None = None,
) -> Settings:
    """Settings from arguments, falling back to the environment and then to the defaults."""
    folder = data_dir or Path(os.environ.get(DATA_DIR_ENV, "data"))
    if secure_cookies is None:
        secure_cookies = os.environ.get(SECURE_COOKIES_ENV, "0") == "1"
    return Settings(
        database_url=database_url or default_database_url(folder),
        secret_key=load_secret_key(folder),
        data_dir=folder,
        secure_cookies=secure_cookies,
        cds_cors_origins=_env_list(CDS_CORS_ORIGINS_ENV),
        cds_issuers=_env_issuers(),
        cds_fhir_servers=_env_list(CDS_FHIR_SERVERS_ENV),
        public_url=check_public_url(os.environ.get(PUBLIC_URL_ENV)),
        api_anonymous_posts=os.environ.get(API_ANONYMOUS_POSTS_ENV, "0") == "1",
        api_anonymous_posts_per_window=_env_int(API_ANONYMOUS_PER_MINUTE_ENV, 10),
        idempotency_key_lifetime=timedelta(hours=_env_int(IDEMPOTENCY_HOURS_ENV, 24)),
        identity_key=load_identity_key(folder),
        identity_keys_old=old_identity_keys(),
        smart_client_id=os.environ.get(SMART_CLIENT_ID_ENV, "").strip() or None,
        smart_issuers=_env_list(SMART_ISSUERS_ENV),
        smart_redirect_url=os.environ.get(SMART_REDIRECT_URL_ENV, "").strip() or None,
        smart_scopes=os.environ.get(SMART_SCOPES_ENV, "").strip(),
        clinic_alert_poll_seconds=_env_int(CLINIC_ALERT_POLL_ENV, 10),
    )


def _env_int(name: str, default: int) -> int:
    """A positive whole number from the environment; a bad value stops the start, naming it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


@lru_cache(maxsize=8)
def _keyring(current: str, old: tuple[str, ...]) -> IdentityKeyring:
    return IdentityKeyring(current, old)


def identity_keyring(settings: Settings) -> IdentityKeyring:
    """The keys that encrypt, decrypt and search patient identities under ``settings``
    (``BACKPATH_IDENTITY_KEY`` or the key file in the data folder, then the old keys)."""
    current = settings.identity_key or load_identity_key(settings.data_dir)
    return _keyring(current, settings.identity_keys_old)
