"""Reading the EHR's FHIR server when the CDS client did not prefetch what the service needs.

CDS Hooks 2.0: when a prefetch key is missing (not ``null``: ``null`` means "no data"), the
service may query ``fhirServer`` itself with the ``fhirAuthorization`` bearer token. Only
servers on the configured allow-list are queried (``BACKPATH_CDS_FHIR_SERVERS``): the
address comes from the request, and a service that fetches whatever URL it is sent can be
turned against the network it runs in. Queries are short (a few seconds in all), follow
no redirects, and read at most a few pages of a search.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx2

FHIR_JSON = "application/fhir+json"
TIMEOUT_SECONDS = 4.0
MAX_PAGES = 5


class FhirQueryError(Exception):
    """The FHIR server could not give the data (names the prefetch key and why)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def server_allowed(server: str, allowed: Sequence[str]) -> bool:
    """True when ``server`` is one of the allowed base URLs (or below one of them)."""
    wanted = server.rstrip("/") + "/"
    for base in allowed:
        prefix = base.rstrip("/") + "/"
        if wanted.startswith(prefix):
            return True
    return False


def fill_template(template: str, context: Mapping[str, Any]) -> str:
    """A prefetch template with its ``{{context.x}}`` tokens replaced (URL-encoded)."""
    out = template
    for key, value in context.items():
        if isinstance(value, str | int):
            out = out.replace("{{context." + key + "}}", quote(str(value), safe=""))
    if "{{" in out:
        raise FhirQueryError("(template)", f"unfilled token in {template!r}")
    return out


def _same_origin(url: str, base: str) -> bool:
    first, second = urlsplit(url), urlsplit(base)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


class FhirReader:
    """A short-lived, read-only FHIR client for one CDS request."""

    def __init__(self, server: str, token: str | None, timeout: float = TIMEOUT_SECONDS) -> None:
        self.server = server.rstrip("/") + "/"
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx2.Client(headers=headers, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> FhirReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, key: str, url: str) -> Any:
        try:
            response = self._client.get(url)
        except httpx2.HTTPError as exc:
            raise FhirQueryError(key, f"FHIR server not reachable: {exc}") from None
        if response.status_code != 200:
            raise FhirQueryError(key, f"FHIR server answered {response.status_code} for {url}")
        try:
            document = response.json()
        except ValueError:
            raise FhirQueryError(key, f"FHIR server sent no JSON for {url}") from None
        if not isinstance(document, dict):
            raise FhirQueryError(key, "FHIR server sent something that is not a resource")
        if document.get("resourceType") == "OperationOutcome":
            raise FhirQueryError(key, f"FHIR server reported: {outcome_text(document)}")
        return document

    def read(self, key: str, relative: str) -> Any:
        """One read or search (``Patient/1``, ``Condition?patient=1``): the resource, or a
        searchset Bundle holding every page's entries (at most ``MAX_PAGES`` pages)."""
        url = urljoin(self.server, relative)
        document = self._get(key, url)
        if document.get("resourceType") != "Bundle":
            return document
        entries = list(document.get("entry") or [])
        pages = 1
        while pages < MAX_PAGES:
            following = next(
                (
                    link.get("url")
                    for link in document.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"
                ),
                None,
            )
            if not isinstance(following, str) or not _same_origin(following, self.server):
                break
            document = self._get(key, following)
            entries.extend(document.get("entry") or [])
            pages += 1
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def outcome_text(outcome: Mapping[str, Any]) -> str:
    """The diagnostics of an OperationOutcome, in one line."""
    parts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
        parts.append(f"{issue.get('severity', '?')} {issue.get('code', '?')}: {text or '-'}")
    return "; ".join(parts) or "an OperationOutcome without issues"
