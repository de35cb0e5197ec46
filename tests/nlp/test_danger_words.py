"""Danger words: words that can signal a serious problem the vocabulary may not capture.

The reader reports in ``NarrativeReading.unresolved_danger_words`` every danger word
(``knowledge/nlp/danger_words.yaml``) that is not itself denied and that no finding named
in its entry explains with a value in the same sentence; ``problems`` then holds
``"danger_words"`` (the triage engine will not end in self-care).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from spacy.schemas import validate_token_pattern

from backpath.nlp import (
    DANGER_WORDS_PROBLEM,
    NarrativeReading,
    _knowledge,
    read_narrative,
    validate_nlp_knowledge,
)
from backpath.nlp._normalise import normalise_text
from backpath.nlp._patterns import compile_for_matching
from backpath.nlp._pipeline import (
    DANGER_GROUP,
    IGNORE_SUFFIX,
    get_pipeline,
    phrase_tokenizer,
)


def test_the_problem_string_is_danger_words() -> None:
    """The triage engine looks for exactly this string in ``problems``."""
    assert DANGER_WORDS_PROBLEM == "danger_words"


def test_reading_stays_backward_compatible() -> None:
    """Old callers build a reading with four arguments; the new field defaults to empty."""
    reading = NarrativeReading([], True, "en", [])
    assert reading.unresolved_danger_words == ()
    assert read_narrative("My back hurts.").unresolved_danger_words == ()
    assert read_narrative("").unresolved_danger_words == ()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("there was blood on the sheets this morning", ("blood",)),
        ("I'm bleeding from my ear", ("bleeding",)),
        ("my mum collapsed and I hurt my back catching her", ("collapsed",)),
        ("I had a fit last night", ("had a fit",)),
        ("I want to die", ("want to die",)),
        ("I'm suicidal", ("suicidal",)),
        ("I took too many tablets last night", ("took too many tablets",)),
        ("my legs are paralysed", ("paralysed",)),
        ("we called an ambulance", ("ambulance",)),
        ("my back is agony", ("agony",)),
        ("there's a lump on my spine", ("lump",)),
        ("I have a swelling on my lower back", ("swelling",)),
        ("I had a rash last week", ("rash",)),
        ("I'm in agony and I've got a lump", ("agony", "lump")),
        ("I had a miscarriage last week", ("miscarriage",)),
        ("vomiting, and there is blood on my pillow", ("blood",)),
    ],
)
def test_unexplained_danger_words_are_reported(text: str, words: tuple[str, ...]) -> None:
    """A danger word that no finding accounts for is reported, with the problem string."""
    reading = read_narrative(text)
    assert reading.unresolved_danger_words == words
    assert DANGER_WORDS_PROBLEM in reading.problems
    note = next(p for p in reading.problems if p.startswith("words that can signal"))
    for word in words:
        assert repr(word) in note


@pytest.mark.parametrize(
    "text",
    [
        # explained by a finding with a value in the same sentence
        "there's blood in my pee",
        "no blood in my pee",
        "I coughed up blood",
        "I'm on blood thinners",
        "I collapsed this morning",
        "I've got a fever",
        "I've been vomiting",
        "my eyes have gone yellow",
        "a blistery rash in a band round my side",
        "I can feel a pulsing lump in my tummy",
        "the worst pain of my life, it came on suddenly",
        # legs that will not move are read as leg weakness (second red team, H37 round)
        "my legs won't move",
        "I can't move my legs",
        # the word itself denied
        "no fever",
        "I'm not suicidal",
        "I don't want to die from this",
        "never collapsed",
        "no lumps or bumps anywhere",
        # the word used in a way that signals nothing
        "I had a blood test last week",
        "I'm on blood pressure tablets",
        "my blood tests came back normal",
        "it's not an emergency but my back hurts",
        "my GP told me to go to A&E if I lose control of my bladder",
        "I know to call 999 if my legs go numb",
        "I'm a fit 45 year old",
        "I'm fit and healthy",
        "a collapsed disc",
        "a faint ache in my back",
        "I'm sick of this pain",
        "my phlegm is yellow",
        "I'm not in agony",
        # no danger word at all
        "my back hurts and my left leg is numb",
    ],
)
def test_explained_denied_or_harmless_uses_are_not_reported(text: str) -> None:
    """Explained, denied or harmless uses leave nothing unresolved and add no problem."""
    reading = read_narrative(text)
    assert reading.unresolved_danger_words == (), reading.findings
    assert DANGER_WORDS_PROBLEM not in reading.problems


def test_explanation_must_be_in_the_same_sentence() -> None:
    """A finding in another sentence does not explain a danger word."""
    reading = read_narrative("There was blood on the sheets. No blood in my pee though.")
    assert reading.unresolved_danger_words == ("blood",)


def test_someone_elses_finding_does_not_explain_a_danger_word() -> None:
    """'My dad collapsed', from a writer with back pain of their own, is the father's (no
    value): a person should read it. Alone, it is a carer telling what happened to the
    patient (tests/nlp/test_carer_texts.py)."""
    reading = read_narrative("my dad collapsed yesterday and I have back pain from lifting him")
    assert reading.answers().get("collapse") is None
    assert reading.unresolved_danger_words == ("collapsed",)


def test_each_word_is_reported_once_and_the_longest_phrase_speaks() -> None:
    """Repeated words are reported once; overlapping phrases by the longest one."""
    reading = read_narrative("blood on the sheets, blood on the towel. Me quiero morir.")
    assert reading.unresolved_danger_words == ("blood", "me quiero morir")
    assert reading.problems.count(DANGER_WORDS_PROBLEM) == 1


def test_spanish_danger_words_are_explained_by_the_spanish_reader() -> None:
    """Spanish is read (issue 11): its danger words are explained by Spanish findings."""
    reading = read_narrative("Me duele la espalda, no puedo respirar y tengo sangre en la orina")
    assert reading.understood is True
    assert reading.unresolved_danger_words == ()
    assert reading.answers()["breathless_now"] is True
    assert reading.answers()["blood_in_urine"] is True


def test_in_a_text_that_is_not_understood_nothing_is_taken_as_a_denial() -> None:
    """In a text with no reader (German) a 'no' is not trusted to deny a word."""
    reading = read_narrative("Ich habe seit drei Tagen starke Rückenschmerzen, no blood")
    assert reading.understood is False
    assert reading.unresolved_danger_words == ("blood",)


def test_english_danger_words_count_as_english() -> None:
    """A one-word English text made of a danger word is understood (not 'not English')."""
    reading = read_narrative("suicidal")
    assert reading.understood is True
    assert reading.unresolved_danger_words == ("suicidal",)


def test_long_texts_report_danger_words_from_every_chunk() -> None:
    """Narratives read in chunks still report words from the start and the end."""
    text = "I collapsed at home but then I felt ok. " + "My back hurts. " * 150 + "I want to die."
    reading = read_narrative(text)
    assert reading.unresolved_danger_words == ("want to die",)


# ------------------------------------------------------------------ knowledge and pipeline


def test_every_danger_entry_matches_its_own_word_sequences() -> None:
    """The first and last word sequence of each danger phrase is found under its entry."""
    knowledge = _knowledge.load_nlp_knowledge()
    tokenize = phrase_tokenizer()
    nlp = get_pipeline()
    assert knowledge.danger_words
    for entry in knowledge.danger_words:
        for label, phrases in (
            (entry.id, entry.phrases),
            (entry.id + IGNORE_SUFFIX, entry.ignore_in),
        ):
            for phrase in phrases:
                literals, patterns = compile_for_matching(phrase, knowledge.macros, tokenize)
                for pattern in patterns:
                    assert validate_token_pattern(pattern) == [], (entry.id, phrase)
                for norms in {tuple(literals[0]), tuple(literals[-1])} if literals else ():
                    doc = nlp(normalise_text(" ".join(norms)))
                    found = {(s.label_, s.start, s.end) for s in doc.spans[DANGER_GROUP]}
                    assert (label, 0, len(doc)) in found, (label, phrase, norms)


def test_every_explained_by_code_is_a_finding_code() -> None:
    """explained_by names real finding codes; English and Spanish entries both exist."""
    knowledge = _knowledge.load_nlp_knowledge()
    languages = {entry.language for entry in knowledge.danger_words}
    assert {"en", "es"} <= languages
    for entry in knowledge.danger_words:
        for code in entry.explained_by:
            assert code in knowledge.finding_types, (entry.id, code)


@pytest.fixture
def knowledge_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of knowledge/nlp that the validator reads instead of the real one."""
    target = tmp_path / "nlp"
    shutil.copytree(_knowledge.NLP_DIR, target)
    monkeypatch.setattr(_knowledge, "NLP_DIR", target)
    return target


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '\n  - id: test.bad_key\n    phrases: ["zzz"]\n    explained: [fever]\n',
            "test.bad_key: unknown key(s) explained; valid keys are",
        ),
        (
            '\n  - id: test.bad_code\n    phrases: ["zzz"]\n    explained_by: [not_a_code]\n',
            "test.bad_code: unknown finding code 'not_a_code' in 'explained_by'",
        ),
        (
            '\n  - id: test.bad_language\n    language: xx\n    phrases: ["zzz"]\n',
            "test.bad_language: 'language' must be one of",
        ),
        (
            '\n  - id: test.bad_phrase\n    phrases: ["$NO_SUCH_MACRO"]\n',
            "test.bad_phrase: phrase '$NO_SUCH_MACRO': unknown macro $NO_SUCH_MACRO",
        ),
        (
            "\n  - id: test.no_phrases\n    phrases: []\n",
            "test.no_phrases: 'phrases' must be a non-empty list of text",
        ),
        (
            '\n  - id: danger.blood\n    phrases: ["zzz"]\n',
            "danger.blood: duplicate id (also in nlp/danger_words.yaml)",
        ),
    ],
)
def test_danger_words_file_is_validated(knowledge_copy: Path, entry: str, message: str) -> None:
    """The danger-word file has closed keys, real codes, known languages, valid phrases."""
    _append(knowledge_copy / "danger_words.yaml", entry)
    problems = validate_nlp_knowledge()
    assert any(message in p for p in problems), problems
    assert all(p.startswith("nlp/danger_words.yaml: ") for p in problems), problems


def test_missing_danger_words_list_is_reported(knowledge_copy: Path) -> None:
    """A file without the 'danger_words' list is a problem, not a crash."""
    (knowledge_copy / "danger_words.yaml").write_text("words: []\n", encoding="utf-8")
    problems = validate_nlp_knowledge()
    assert any("danger_words.yaml: (file): must be a mapping with a 'danger_words' list" in p
               for p in problems)  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "I'm bleeding from my bottom",
        "vomiting and blood in my poo",
        "bloody diarrhoea since last night",
    ],
)
def test_blood_from_the_bottom_is_rectal_bleeding(text: str) -> None:
    """Blood from the back passage has its own finding (knowledge 2026.12.4): it explains
    the danger word, and a clinician sees it as rectal bleeding."""
    reading = read_narrative(text)
    assert reading.answers()["rectal_bleeding"] is True
    assert not reading.unresolved_danger_words
