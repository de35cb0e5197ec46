"""Words come from the knowledge base; pages are small, safe and accessible by markup."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from backpath.kb import KnowledgeBase
from backpath.store.assessments import REVIEW_STATUSES
from backpath.vocabulary import Concern
from backpath.web.intake import BODY_MAP_REGIONS
from backpath.web.pages import STATIC_DIR, TEMPLATES_DIR
from tests.web._support import Patient

WEB_DIR = TEMPLATES_DIR.parent
# Keys built from a prefix and a vocabulary value in templates or code.
DYNAMIC_PREFIXES = ("unit_", "status_", "concern_", "channel_", "from_")


def _static_keys() -> set[str]:
    keys: set[str] = set()
    for path in TEMPLATES_DIR.rglob("*.html"):
        keys.update(re.findall(r"\bt\('([a-z_]*[a-z])'", path.read_text(encoding="utf-8")))
    for path in WEB_DIR.glob("*.py"):
        keys.update(re.findall(r'\bwords\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    return keys


def test_every_word_used_by_the_web_exists_in_web_yaml(kb: KnowledgeBase) -> None:
    """Each t('key') in templates and words("key") in code is a key of knowledge/ui/web.yaml."""
    missing = sorted(key for key in _static_keys() if f"web.{key}" not in kb.ui_texts)
    assert not missing


def test_dynamic_word_keys_cover_the_vocabulary(kb: KnowledgeBase) -> None:
    """Units, review statuses, concerns, channels and evidence sources all have words."""
    units = {f.unit for f in kb.findings.values() if f.unit}
    needed = (
        {f"unit_{u}" for u in units}
        | {f"status_{s}" for s in REVIEW_STATUSES}
        | {f"concern_{c.value}" for c in Concern}
        | {"channel_web", "channel_api"}
        | {f"from_{source}" for source in ("answer", "narrative", "unknown", "implied", "score")}
    )
    assert not sorted(k for k in needed if f"web.{k}" not in kb.ui_texts)


def test_every_web_yaml_key_is_used(kb: KnowledgeBase) -> None:
    """No stale words in web.yaml: each key is used by a template or the code."""
    used = _static_keys() | {"language_name"}
    unused = sorted(
        key[4:]
        for key in kb.ui_texts
        if key.startswith("web.")
        and key[4:] not in used
        and not key[4:].startswith(DYNAMIC_PREFIXES)
    )
    assert not unused


def test_no_patient_words_hard_coded_in_templates() -> None:
    """Templates contain no English sentences of their own: text nodes are lookups or symbols."""
    offenders = []
    for path in TEMPLATES_DIR.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        html = re.sub(r"\{#.*?#\}", "", html, flags=re.S)
        html = re.sub(r"\{[{%].*?[%}]\}", "", html, flags=re.S)
        html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
        html = re.sub(r"&[a-z]+;", " ", html)
        for text in re.findall(r">([^<>]+)<", html):
            words = re.findall(r"[A-Za-z]{3,}", text)
            if words:
                offenders.append(f"{path.name}: {text.strip()!r}")
    assert not offenders


def test_body_map_regions_match_the_vocabulary(kb: KnowledgeBase) -> None:
    """The regions the body map knows are exactly the pain_regions values of the vocabulary."""
    assert set(kb.findings["pain_regions"].allowed_values) == BODY_MAP_REGIONS


def test_body_map_page_draws_every_region_once_per_view(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """The pain page has a shape for every region; thigh, knee and foot appear in both views."""
    patient = Patient(client)
    patient.start()
    patient.advance_to("pain")
    regions = re.findall(r'data-region="([a-z_]+)"', patient.page.text)
    assert set(regions) == set(kb.findings["pain_regions"].allowed_values)
    for side in ("left", "right"):
        assert regions.count(f"thigh_{side}") == 2
        assert regions.count(f"lower_back_{side}") == 1


def test_intake_pages_with_css_and_js_are_under_100_kb(client: TestClient) -> None:
    """Every intake page's HTML + CSS + JS is under 100 kB (the body-map page is the largest)."""
    assets = sum(len(p.read_bytes()) for p in (STATIC_DIR / "app.css", STATIC_DIR / "app.js"))
    patient = Patient(client)
    patient.start()
    largest = 0
    for _ in range(40):
        if patient.on_emergency_screen():
            patient.emergency("continue")
            continue
        largest = max(largest, len(patient.page.content))
        if patient.on_narrative_page():
            break
        patient.submit({})
    assert largest + assets < 100_000, (largest, assets)


def test_pages_load_only_our_own_files(client: TestClient) -> None:
    """No page refers to another site's scripts, styles or fonts."""
    page = client.get("/")
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    for path in STATIC_DIR.iterdir():
        assert "http://" not in path.read_text(encoding="utf-8")
        assert "https://" not in path.read_text(encoding="utf-8")


def test_security_headers(client: TestClient) -> None:
    """Pages carry CSP (own files only), nosniff, no framing and no referrer."""
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_post_without_csrf_token_is_refused(client: TestClient) -> None:
    """Every patient form needs the session's CSRF token."""
    client.get("/")
    assert client.post("/intake", data={}).status_code == 403
    assert client.post("/intake", data={"csrf_token": "forged"}).status_code == 403


def test_unknown_page_is_a_friendly_404(client: TestClient, kb: KnowledgeBase) -> None:
    """An unknown address shows the not-found page in the person's language."""
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert kb.ui("web.page_not_found_title") in page.text


def test_every_form_control_has_a_label(client: TestClient) -> None:
    """On each intake page, text inputs have a <label for> and radio groups a legend."""
    patient = Patient(client)
    patient.start()
    for _ in range(40):
        if patient.on_emergency_screen():
            patient.emergency("continue")
            continue
        html = patient.page.text
        for control_id in re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', html):
            assert f'for="{control_id}"' in html, control_id
        assert html.count("<fieldset") == html.count("<legend")
        if patient.on_narrative_page():
            break
        patient.submit({})


def test_static_files_exist() -> None:
    """The stylesheet and script the pages link to are shipped with the package."""
    assert Path(STATIC_DIR / "app.css").stat().st_size > 0
    assert Path(STATIC_DIR / "app.js").stat().st_size > 0


def test_too_large_form_post_gets_a_page_in_the_browser_language(
    client: TestClient, kb: KnowledgeBase
) -> None:
    """A form post over the body limit gets a short HTML page (413), not a crash."""
    response = client.post(
        "/intake/anything-else",
        data={"narrative": "x" * 100_000},
        headers={"accept-language": "en"},
    )
    assert response.status_code == 413
    assert kb.ui("web.too_large_title") in response.text
