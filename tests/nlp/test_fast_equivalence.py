"""The fast reader (``_fast``) reads exactly what the spaCy + medspaCy pipeline reads.

``read_narrative`` matches with the fast reader; ``_reader._read_reference`` keeps the
pipeline path callable. Both read every narrative of the corpora - ``tests/data/
narratives`` (every split, English and Spanish), the narratives of ``tests/cases`` and of
``tests/redteam`` - and must give identical readings: the same findings (code, value,
certainty, evidence text and span), understood flag, language, problems and unresolved
danger words. The lexicon and context rules change often; this test is what makes such a
change safe for the fast path, so it compares the two paths as they are, never a stored
expected output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from spacy.matcher import Matcher

from backpath.nlp import read_narrative
from backpath.nlp._fast import _TokenMatcher, _Tokens, get_fast_reader
from backpath.nlp._normalise import normalise_text
from backpath.nlp._pipeline import (
    DANGER_GROUP,
    MEASURE_GROUP,
    TARGET_GROUP,
    _GatedTokenMatcher,
    get_pipeline,
)
from backpath.nlp._reader import _read_reference
from backpath.nlp._spanish import fold_accents

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 25)  # a Wednesday: "since Monday" is counted


def _corpus() -> list[tuple[str, str, str | None]]:
    """(id, text, language given) for every narrative of the corpora."""
    out: list[tuple[str, str, str | None]] = []
    for path in sorted((ROOT / "tests" / "data" / "narratives").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = data.get("language") or ("es" if path.stem.startswith("es_") else "en")
        for item in data["narratives"]:
            out.append(
                (f"{path.stem}:{item['id']}", str(item["text"]), item.get("language", language))
            )
    for folder in ("cases", "redteam"):
        for path in sorted((ROOT / "tests" / folder).glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            intake = data.get("intake") if isinstance(data, dict) else None
            if isinstance(intake, dict) and intake.get("narrative"):
                out.append(
                    (f"{folder}/{path.stem}", str(intake["narrative"]), intake.get("language"))
                )
    return out


CORPUS = _corpus()


def _reading(reading: Any) -> dict[str, Any]:
    return {
        "findings": [
            (f.code, f.value, f.certainty, f.text, tuple(f.span)) for f in reading.findings
        ],
        "understood": reading.understood,
        "language": reading.language,
        "problems": list(reading.problems),
        "danger": tuple(reading.unresolved_danger_words),
    }


def test_the_corpora_are_all_there() -> None:
    """The data narratives in both languages and the red-team narratives are read (the
    triage cases in ``tests/cases`` hold no narrative today; any they gain is read too)."""
    sources = {key.split(":")[0].split("/")[0] for key, _, _ in CORPUS}
    assert len(CORPUS) > 1000
    assert "redteam" in sources
    assert any(source.startswith("es_") for source in sources)


@pytest.mark.slow
def test_every_corpus_narrative_reads_the_same_on_both_paths() -> None:
    """With the language given and today's date, and again with neither."""
    different: list[str] = []
    for key, text, language in CORPUS:
        for given, today in ((language, TODAY), (None, None)):
            fast = _reading(read_narrative(text, today=today, language=given))
            reference = _reading(_read_reference(text, today=today, language=given))
            if fast != reference:
                different.append(
                    f"{key} language={given} today={today}:\n"
                    f"  fast      {fast}\n  reference {reference}"
                )
    assert not different, f"{len(different)} readings differ:\n" + "\n".join(different[:5])


def _in_place_order(spans: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Spans ordered by (start, end), keeping the order of spans on the same words.

    spaCy's Matcher reports two matches of one pattern that end on the same token in an
    order of its own (sometimes the later start first); the reader never depends on that
    order (it sorts mentions by length and start). The order of spans on the *same* words
    does matter (the first entry wins) and is kept, so it is compared.
    """
    return sorted(spans, key=lambda span: (span[1], span[2]))


def _doc_view(doc: Any) -> dict[str, Any]:
    """What the reader reads from a processed piece: sentences, span groups, modifiers."""
    graph = doc._.context_graph
    return {
        "tokens": [(t.text, t.norm_, t.lower_, t.is_alpha, t.is_punct, t.is_space) for t in doc],
        "sentences": [(s.start, s.end) for s in doc.sents],
        "groups": {
            group: _in_place_order(
                [
                    (
                        s.label_,
                        s.start,
                        s.end,
                        s.start_char,
                        s.end_char,
                        s.text,
                        tuple((m.category, m.modifier_span, m.scope_span) for m in s._.modifiers),
                    )
                    for s in doc.spans[group]
                ]
            )
            for group in (TARGET_GROUP, MEASURE_GROUP, DANGER_GROUP)
        },
        "graph": [(m.category, m.modifier_span, m.scope_span) for m in graph.modifiers],
    }


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_fast_documents_hold_what_the_pipeline_documents_hold(language: str) -> None:
    """Below the readings: the same tokens, sentences, matches in the same order, and the
    same ConText modifiers with the same scopes, on every data narrative of the language."""
    nlp = get_pipeline(language)
    fast = get_fast_reader(language)
    checked = 0
    for key, text, given in CORPUS:
        if given != language or ":" not in key:
            continue
        normalised = normalise_text(text)
        if language == "es":
            normalised = fold_accents(normalised)
        assert _doc_view(fast(normalised)) == _doc_view(nlp(normalised)), key
        checked += 1
    assert checked > 200


def test_the_token_matcher_finds_every_match_spacy_finds() -> None:
    """Gaps, optional words, numbers, regular expressions and fuzzy words, compared with
    spaCy's Matcher on hand-made texts (every match, not only the longest)."""
    nlp = get_pipeline("en")
    matcher = Matcher(nlp.vocab)
    gap = {"NORM": {"NOT_IN": ["but", "not"]}, "OP": "{0,3}"}
    patterns: dict[str, list[dict[str, Any]]] = {
        "gap": [{"NORM": "leg"}, gap, {"NORM": {"IN": ["numb", "weak"]}}],
        "optional": [{"NORM": {"IN": ["very", "really"]}, "OP": "?"}, {"NORM": "numb"}],
        "optional_end": [{"NORM": "pain"}, {"NORM": {"IN": ["now", "today"]}, "OP": "?"}],
        "number": [{"LIKE_NUM": True}, {"NORM": {"IN": ["days", "weeks"]}}],
        "regex": [{"NORM": {"REGEX": r"^\d{1,3}f$"}}],
        "score": [{"TEXT": {"REGEX": r"^(10|[0-9])/10$"}}],
        "fuzzy": [{"NORM": {"FUZZY1": "numbness"}}, {"NORM": "in"}],
    }
    for name, pattern in patterns.items():
        matcher.add(name, [pattern])
    ours = _TokenMatcher(_GatedTokenMatcher(matcher), nlp.vocab.strings)
    texts = [
        "my leg is so very numb and weak, leg numb, leg not numb",
        "pain now pain today pain but leg feels really really numb",
        "for 3 weeks, three days, 52f, 8/10 and 11/10, numbnes in my bum, numbess in",
        "leg a b c d numb leg a b c numb",
    ]
    for text in texts:
        doc = nlp.make_doc(text)
        tokens = _Tokens([t.norm_ for t in doc], [t.text for t in doc], [t.like_num for t in doc])
        expected = sorted(matcher(doc))
        assert sorted(ours(tokens)) == expected, text
        assert expected  # every text has matches
