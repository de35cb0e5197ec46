"""How the lexicon is loaded into the spaCy + medspaCy pipeline.

The pipeline adds every literal word sequence of a lexicon entry to spaCy's PhraseMatcher
as norm hashes under one rule per entry, and adds Matcher patterns without spaCy's (slow)
schema check; these tests check both shortcuts against what they replace.
"""

from __future__ import annotations

from spacy.schemas import validate_token_pattern

from backpath.nlp import read_narrative
from backpath.nlp._knowledge import load_nlp_knowledge
from backpath.nlp._normalise import normalise_text
from backpath.nlp._patterns import compile_for_matching
from backpath.nlp._pipeline import (
    MEASURE_GROUP,
    TARGET_GROUP,
    get_pipeline,
    phrase_tokenizer,
)


def test_every_matcher_pattern_of_the_lexicon_passes_spacys_schema() -> None:
    """The pipeline skips spaCy's pattern validation, so the compiled patterns must be valid."""
    knowledge = load_nlp_knowledge()
    tokenize = phrase_tokenizer()
    entries = [*knowledge.targets, *knowledge.measures, *knowledge.context]
    checked = 0
    for entry in entries:
        for phrase in entry.phrases:
            _, patterns = compile_for_matching(phrase, knowledge.macros, tokenize)
            for pattern in patterns:
                assert validate_token_pattern(pattern) == [], (entry.id, phrase, pattern)
                checked += 1
    assert checked > 0


def test_every_entry_matches_its_own_literal_word_sequences() -> None:
    """The first and last word sequence of each literal phrase is found as that entry."""
    knowledge = load_nlp_knowledge()
    tokenize = phrase_tokenizer()
    nlp = get_pipeline()
    for group, entries in ((TARGET_GROUP, knowledge.targets), (MEASURE_GROUP, knowledge.measures)):
        for entry in entries:
            for phrase in entry.phrases:
                literals, _ = compile_for_matching(phrase, knowledge.macros, tokenize)
                for norms in {tuple(literals[0]), tuple(literals[-1])} if literals else ():
                    doc = nlp(normalise_text(" ".join(norms)))
                    found = {(span.label_, span.start, span.end) for span in doc.spans[group]}
                    assert (entry.id, 0, len(doc)) in found, (entry.id, phrase, norms)


def test_word_sequences_share_their_entrys_rule() -> None:
    """Far fewer rules than word sequences (one rule per sequence took ~8 s to build)."""
    knowledge = load_nlp_knowledge()
    tokenize = phrase_tokenizer()
    sequences = sum(
        len(compile_for_matching(phrase, knowledge.macros, tokenize)[0])
        for entry in knowledge.targets
        for phrase in entry.phrases
    )
    targets = get_pipeline().get_pipe("backpath_targets")
    assert sequences > 10_000
    assert len(targets.rules) * 20 < sequences


def test_words_of_two_context_rules_read_as_before() -> None:
    """ "not sure" is both a forward and a backward uncertainty trigger; medspaCy keeps one.

    Which one depends on the order of spaCy's hash map of rule keys; the pipeline keeps the
    rule keys of the earlier one-rule-per-sequence build, so this reading did not change.
    """
    reading = read_narrative(
        "i think my bum might be a little bit numb but i'm not sure "
        "for 3 weeks pain in my lower back."
    )
    certainty = {finding.code: finding.certainty for finding in reading.findings}
    assert certainty == {
        "saddle_numbness": "uncertain",
        "duration_days": "affirmed",
        "back_pain": "affirmed",
    }


def test_gated_token_matcher_finds_exactly_what_the_full_matcher_finds() -> None:
    """Issue 11 speed work: each pattern runs only where its required words are; on the
    corpus texts (English and Spanish pipelines) the matches are those of spaCy's full
    Matcher, in the same order by end token."""
    import yaml

    from backpath.nlp._normalise import normalise
    from backpath.nlp._pipeline import _GatedTokenMatcher
    from tests.nlp.test_corpus import ROOT

    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data" / "narratives").glob("*.yaml")):
        texts += [item["text"] for item in yaml.safe_load(path.read_text())["narratives"]]
    checked = 0
    for language in ("en", "es"):
        nlp = get_pipeline(language)
        for name in nlp.pipe_names:
            component = nlp.get_pipe(name)
            owner = getattr(component, "_TargetMatcher__matcher", None) or getattr(
                component, "_ConText__matcher", None
            )
            gated = getattr(owner, "_MedspacyMatcher__matcher", None)
            if not isinstance(gated, _GatedTokenMatcher):
                continue
            for text in texts[::3]:
                doc = nlp.make_doc(normalise(text).text.lower())
                full = gated.full(doc)
                got = gated(doc)
                assert sorted(got) == sorted(full), (language, name, text)
                assert [m[2] for m in got] == sorted(m[2] for m in full)
                checked += 1
    assert checked > 1000


def test_warm_up_builds_each_reader_once() -> None:
    """``warm_up`` builds the English and Spanish pipelines; a second call builds nothing
    (the same pipeline objects) and refuses a language with no reader."""
    import pytest

    from backpath.nlp import warm_up

    seconds = warm_up()
    assert set(seconds) == {"en", "es"}
    first = (get_pipeline("en"), get_pipeline("es"))
    warm_up()
    assert (get_pipeline("en"), get_pipeline("es")) == first
    with pytest.raises(ValueError, match="no reader"):
        warm_up(["de"])


def test_concurrent_first_use_builds_one_pipeline() -> None:
    """Threads asking for a pipeline at once get the same object (built under one lock)."""
    import threading

    from backpath.nlp import _pipeline

    _pipeline.get_pipeline.cache_clear()
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(_pipeline.get_pipeline("en"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 4
    assert all(item is got[0] for item in got)
