"""Real words typed for another real word, read by the words next to them (issue 11).

The speller only changes words it does not know. A Spanish patient typing on a phone often
lands a red-flag word on another real word: seseo ("ciento", a hundred, for "siento", I
feel), a dropped h ("e" for "he", "a" for "ha"), yeismo and h/ay/ahí confusions ("ay abajo"
for "ahí abajo", "aya" for "allá"). ``es/spelling.yaml`` ``real_word_errors`` reads such a
word as the word meant only in the context that shows it, so that "ciento veinte" stays a
number. The same reading happens on both reader paths (the reference pipeline and the fast
reader), and the evidence keeps the words as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backpath.nlp import read_narrative
from backpath.nlp._fast import get_fast_reader
from backpath.nlp._knowledge import (
    NLP_DIR,
    RealWordEntry,
    _check_real_words,
    _Checker,
    _load_real_word_errors,
    _load_spelling,
    _tokenizer,
    load_nlp_knowledge,
)
from backpath.nlp._language import _stop_words, fold
from backpath.nlp._pipeline import get_pipeline
from backpath.nlp._reader import _read_reference, get_speller
from backpath.nlp._spelling import RealWordReader

# --------------------------------------------------------------- danger signs now read


@pytest.mark.parametrize(
    ("text", "code", "value"),
    [
        # seseo: "ciento" (a hundred) for "siento" (I feel)
        ("desde el domingo no ciento las piernas", "leg_numbness", True),
        ("no ciento las piernas", "bilateral_leg_symptoms", True),
        ("ya no ciento nada aya avajo cuando me limpio", "saddle_numbness", True),
        ("no ciento la entrepierna desde ayer", "saddle_numbness", True),
        # "he" without its h: the danger sign was read as denied ("no ... orinar")
        ("desde anoche no e podido orinar", "urinary_retention", True),
        ("esta mañana me e orinado encima sin enterarme", "urinary_incontinence", True),
        ("anoche e mojado la cama otra vez", "urinary_incontinence", True),
        # ahí / allá written as ay, hay, ai, aya
        ("me caí y no siento nada ay abajo", "saddle_numbness", True),
        ("desde la caida no siento nada hay abajo", "saddle_numbness", True),
        ("no siento nada ai abajo", "saddle_numbness", True),
        ("no siento nada aya abajo", "saddle_numbness", True),
        # words that are not words at all, read through `corrections`
        ("tengo la vejiga yena y no me sale", "urinary_retention", True),
        ("mi madre se callo por las escaleras", "trauma_major", True),
        ("me callí del tejado", "trauma_major", True),
        ("mi padre se izo pis encima en el sofá", "urinary_incontinence", True),
    ],
)
def test_a_danger_sign_typed_as_another_word_is_read(text: str, code: str, value: Any) -> None:
    reading = read_narrative(text, language="es")
    assert reading.answers().get(code) == value, reading.findings


def test_a_duration_typed_with_yeismo_is_read() -> None:
    """The word "yevo" is "llevo": the retention and how long it has lasted."""
    answers = read_narrative("yevo dos dias sin poder orinar", language="es").answers()
    assert answers.get("urinary_retention") is True
    assert answers.get("cauda_equina_symptoms_days") == 2


# ------------------------------------------------------------- real words left alone


def _norms(text: str) -> list[list[str]]:
    """The token norms of a (folded, lower-case) text on both reader paths."""
    reference = [token.norm_ for token in get_pipeline("es")(text)]
    fast = [token.norm_ for token in get_fast_reader("es")(text)]
    return [reference, fast]


@pytest.mark.parametrize(
    "text",
    [
        "me cobraron ciento veinte pesos",
        "el ciento por ciento de las veces",
        "no ciento veinte sino ciento treinta",  # a number next to it: always kept
        "mejore un cincuenta por ciento la fuerza",  # "por ciento": a percentage
        "pesaba ciento diez kilos",
        "la habitacion ciento uno",
        "lo dijo ciento y pico veces",
        "ciento",
    ],
)
def test_ciento_as_a_number_stays_a_number(text: str) -> None:
    for norms in _norms(text):
        assert "siento" not in norms, norms
        assert "ciento" in norms


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("me cobraron ciento veinte pesos y me duele la espalda", "leg_numbness"),
        ("el ciento por ciento de las veces me duele la espalda", "leg_numbness"),
        ("mejore un cincuenta por ciento la fuerza de las piernas", "leg_weakness"),
        ("la tension la tengo en ciento veinte y me duelen las piernas", "leg_numbness"),
    ],
)
def test_a_number_reads_no_feeling(text: str, absent: str) -> None:
    answers = read_narrative(text, language="es").answers()
    assert absent not in answers, answers
    assert "saddle_numbness" not in answers


def test_a_fever_in_words_keeps_its_number_word() -> None:
    """In "ciento dos de fiebre" the number word is not read as a feeling."""
    reading = read_narrative("tengo ciento dos de fiebre", language="es")
    assert reading.answers().get("fever") is True
    assert "leg_numbness" not in reading.answers()


@pytest.mark.parametrize(
    "text",
    [
        "el dolor baja a la pierna",  # "a" the preposition
        "estoy inflamado e hinchado",  # "e" the conjunction before a hi- word
        "ay que dolor",  # "ay" the cry of pain
        "no hay nadie en casa",
        "fui a pedido del medico",  # "a pedido": not a participle the entry lists
    ],
)
def test_real_words_outside_their_context_are_kept(text: str) -> None:
    for norms in _norms(text):
        assert norms == text.split(), norms


def test_the_context_is_the_words_as_written_next_to_it() -> None:
    """A punctuation mark or a line break between the two words breaks the context."""
    for norms in _norms("no, ciento veinte"):
        assert "siento" not in norms
    for norms in _norms("que no\nciento"):
        assert "siento" not in norms
    for norms in _norms("no ciento las piernas"):
        assert norms == ["no", "siento", "las", "piernas"]


# ------------------------------------------------------------------- evidence, paths


def test_the_evidence_points_at_the_words_as_written() -> None:
    text = "Desde el Lunes ya NO ciento nada ay abajo. Y me e orinado encima."
    reading = read_narrative(text, language="es")
    by_code = {finding.code: finding for finding in reading.findings}
    saddle = by_code["saddle_numbness"]
    start, end = saddle.span
    assert text[start:end] == saddle.text
    assert "ciento" in saddle.text or "ay abajo" in saddle.text
    incontinence = by_code["urinary_incontinence"]
    start, end = incontinence.span
    assert text[start:end] == incontinence.text
    assert "e orinado" in incontinence.text


def _view(reading: Any) -> tuple[Any, ...]:
    return (
        [(f.code, f.value, f.certainty, f.text, tuple(f.span)) for f in reading.findings],
        reading.understood,
        reading.language,
        list(reading.problems),
        tuple(reading.unresolved_danger_words),
    )


@pytest.mark.parametrize(
    "text",
    [
        "no ciento las piernas y tengo la vejiga yena",
        "ya no ciento nada aya avajo, no e podido orinar desde ayer",
        "me cobraron ciento veinte y el ciento por ciento de los dias me duele",
        "se me a dormido el culo y no siento nada hay abajo",
    ],
)
def test_both_reader_paths_read_the_same(text: str) -> None:
    for language in ("es", None):
        fast = read_narrative(text, language=language)
        reference = _read_reference(text, language=language)
        assert _view(fast) == _view(reference)


# ------------------------------------------------------------------ the knowledge


def test_every_written_word_reaches_the_context_step() -> None:
    """The word pass (speller) runs first: it must leave every written word alone (a known
    word, or a short unknown one it has no correction for), else the entry never sees it."""
    knowledge = load_nlp_knowledge("es")
    speller = get_speller("es")
    assert knowledge.real_word_errors
    for entry in knowledge.real_word_errors:
        for word in entry.written:
            assert speller(fold("es", word)) is None, (entry.id, word)


def test_english_has_no_real_word_entries_and_reads_as_before() -> None:
    """The mechanism is language-neutral; English has no entries (the section is absent)."""
    assert load_nlp_knowledge().real_word_errors == ()
    nlp = get_pipeline("en")
    text = "i cant feel a thing down there, a weak ago"
    assert [t.norm_ for t in nlp(text)] == [t.norm_ for t in nlp.make_doc(text)]


def test_the_reader_is_language_neutral() -> None:
    """``RealWordReader`` with made-up English entries: context before, after, both, the
    words that rule it out, and the number guard."""
    entries = [
        RealWordEntry("t1", "f", ("form",), "from", following=frozenset({"the"})),
        RealWordEntry(
            "t2",
            "f",
            ("weak",),
            "week",
            previous=frozenset({"a", "last"}),
            not_following=frozenset({"leg"}),
        ),
    ]
    reader = RealWordReader(entries)
    assert bool(reader)
    assert not RealWordReader([])

    def read(text: str) -> list[tuple[int, str]]:
        words = text.split()
        return reader.read(words, [word.isdigit() for word in words])

    assert read("numb form the waist down") == [(1, "from")]
    assert read("a form to fill") == []
    assert read("for a weak now") == [(2, "week")]
    assert read("a weak leg") == []  # not_following
    assert read("last weak 3") == []  # next to a number
    assert read("weak") == []


def _checker(language: str = "es") -> _Checker:
    return _Checker({}, _tokenizer(language))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "x1", "written": "ciento", "read_as": "siento"}, "needs a context"),
        (
            {"id": "x2", "written": "ciento", "read_as": "siento no", "previous": "no"},
            "exactly one word",
        ),
        ({"id": "x3", "written": "ciento", "read_as": "ciento", "previous": "no"}, "itself"),
        ({"id": "x4", "written": "asta", "read_as": "hasta", "previous": "no"}, "a correction"),
        ({"id": "x5", "written": "Ciento", "read_as": "siento", "previous": "no"}, "lower-case"),
        ({"id": "x6", "written": "ciento", "read_as": "siento", "previous": 3}, "separated"),
        (
            {"id": "x7", "written": "ciento", "read_as": "siento", "before": "no"},
            "unknown key",
        ),
    ],
)
def test_malformed_entries_are_refused(item: dict[str, Any], message: str) -> None:
    checker = _checker()
    entries = _load_real_word_errors(checker, [item], "nlp/es/spelling.yaml", {"asta": "hasta"})
    assert any(message in problem for problem in checker.problems), checker.problems
    if "unknown key" not in message:
        assert entries == ()


def test_words_the_reader_does_not_know_are_refused() -> None:
    """The word read and the context words must be in the reader's vocabulary."""
    knowledge = load_nlp_knowledge("es")
    checker = _checker()
    entry = RealWordEntry("x8", "f", ("ciento",), "sientoo", previous=frozenset({"no", "zzzq"}))
    bad = type(knowledge)(**{**knowledge.__dict__, "real_word_errors": (entry,)})
    _check_real_words(checker, bad, _stop_words("es"), lambda word: fold("es", word))
    assert len(checker.problems) == 2, checker.problems
    assert all("not a word the reader knows" in problem for problem in checker.problems)


def test_the_spelling_files_load_without_problems() -> None:
    for language, base in (("en", NLP_DIR), ("es", NLP_DIR / "es")):
        checker = _checker(language)
        spelling = _load_spelling(checker, _read_yaml, base)
        assert checker.problems == []
        assert (language == "es") == bool(spelling.real_word_errors)


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))
