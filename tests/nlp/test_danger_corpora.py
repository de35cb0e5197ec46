"""The corpus-level checks of the danger rounds, one test per check and corpus file
(tests/data/narratives/es_dev_v8.yaml, dev_v9.yaml, es_dev_v9.yaml, dev_v10.yaml,
es_dev_v10.yaml): every red flag a narrative affirms is read, no control raises one, triage
from the text alone never under-triages, the labelled urgency is what the labels give, and
the corpus is large enough. What each corpus still gets wrong (known gaps, over-readings and
under-triage) is data below, each entry with its reason; a corpus file is held to the checks
it was written for, on the part it was written for.

The phrase-by-phrase tests of each round stay in tests/nlp/test_danger_v*.py.

The v10 corpora have a held-out part (``split: reserve`` in English, so that
tests/nlp/test_corpus.py does not hold it to the tuned targets; ``split: heldout`` in
Spanish): it was scored once and is never tuned on, so the reader is run on the dev part
only. The size and the labelled-urgency checks read labels, not the reader, and count it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from backpath.intake import Intake
from backpath.nlp import read_narrative
from backpath.triage import assess
from backpath.triage.engine import NarrativeReader
from backpath.vocabulary import FindingValue, Urgency
from tests.nlp._eval import corpus_file, red_flags

Reading = tuple[str, str]
"""A narrative id and a finding code."""


@dataclass(frozen=True)
class Size:
    """How large a corpus file must be (held-out part included)."""

    narratives: int = 150
    controls: int = 40
    held_out: tuple[str, int, int] | None = None
    """The split value of the held-out part and how many narratives it has (at least, at most)."""


@dataclass(frozen=True)
class Corpus:
    """One corpus file, what the reader still gets wrong in it, and the checks it is held to."""

    file: str
    language: str
    known_gaps: Mapping[Reading, str]
    """Red flags the reader still misses, with the reason (not the lexicon): the test fails
    when one of them starts to pass, so the entry is removed."""
    known_overreads: Mapping[Reading, str]
    """Red flags read beyond the labels, each an over-reading (never an under-reading)."""
    overreads_exact: bool
    """True: exactly the known over-readings are raised; False: at most them."""
    overreads_on_dangers_only: bool = False
    """Every known over-reading is of a narrative that affirms a red flag of its own."""
    dev_only: bool = False
    """The reader is run on the ``split: dev`` narratives only (the default split)."""
    size: Size | None = None
    known_under_triage: Mapping[str, str] | None = None
    """Narratives triaged lower from the text than from the labels, with the reason; None:
    the file is not held to the triage check."""
    triage_reader: NarrativeReader | None = field(default=None, compare=False)
    """The reader the triage check gives the engine; None: the engine's default for the
    intake's language."""
    labels_checked: bool = False
    """Each narrative's urgency is checked against the engine on its labelled findings."""


ES_DEV_V8 = Corpus(
    file="es_dev_v8.yaml",
    language="es",
    known_gaps={},
    # Red flags read beyond the labels, each an over-reading (never an under-reading) of an
    # older entry: a sudden terrible pain in a cold white leg is read as sudden severe pain,
    # which the question keeps for the back and the belly.
    known_overreads={
        ("v8-es-040", "sudden_severe_pain"): "sudden pain in a cold white leg read as sudden",
    },
    overreads_exact=True,
)

DEV_V9 = Corpus(
    file="dev_v9.yaml",
    language="en",
    known_gaps={},
    # Red flags read beyond the labels, each an over-reading (never an under-reading) that
    # errs on the side of safety, with the reason. No control may raise any other red flag.
    known_overreads={
        # "Back is aching like period pain" at 24 weeks with bleeding: period-like pain is
        # itself a sign of preterm labour (NICE NG25), read as tightenings.
        ("v9-en-066", "regular_tightening"): "period-like pain in pregnancy read as tightenings",
        # "Pain ... that keeps getting worse and my legs feel wobbly": the worsening of the
        # pain is read onto the legs as well (an older entry; emergency either way with the
        # cancer).
        ("v9-en-102", "weakness_worsening"): "worsening pain read as worsening leg weakness",
        # "Been throwing up all night" is read as vomiting that keeps nothing down (another
        # round's lexicon, fluids_v9.yaml); the text does not quite say so.
        ("v9-en-154", "cannot_keep_fluids_down"): "vomiting all night read as no fluids kept down",
    },
    overreads_exact=False,
    size=Size(),
    known_under_triage={},
    triage_reader=read_narrative,
    labels_checked=True,
)

ES_DEV_V9 = Corpus(
    file="es_dev_v9.yaml",
    language="es",
    known_gaps={
        # "tuve a mi bebé hace 3 semanas por cesárea": a caesarean is an operation of the
        # last 6 weeks, but the older dev corpora leave it unlabelled (v5-es-046, v6-es-078,
        # v8-es-123 "cesárea hace 10 días"), so reading it waits for the lead to relabel them.
        ("v9-es-098", "recent_procedure"): "a recent caesarean, unlabelled in older corpora",
    },
    # Red flags read beyond the labels of a narrative that has a danger of its own, each an
    # over-reading (never an under-reading), none on a control:
    known_overreads={
        # "me vino un dolor desgarrador": a tearing pain that came on is also read as sudden.
        ("v9-es-029", "sudden_severe_pain"): "tearing pain read as sudden",
        # "un bulto q me late en la panza": the beating lump is read as belly pain as well.
        ("v9-es-033", "abdominal_pain"): "a beating lump in the belly read as belly pain",
        # "se me nubla la vista" in pregnancy: blurred sight is read as near-fainting too.
        ("v9-es-086", "collapse"): "blurred sight read as near-fainting",
        # "se me pone la panza dura seguido" (tightening) is also read as a hard belly.
        ("v9-es-089", "rigid_belly"): "tightening read as a hard belly",
        # "me pusieron una sonda en la vejiga hace 1 semana": a catheter read as retention.
        ("v9-es-135", "urinary_retention"): "a catheter read as retention",
        ("v9-es-135", "ces_symptom_recent"): "a catheter read as retention",
        # "me operaron de cáncer de próstata" with no date: recent_procedure reads any
        # operation.
        ("v9-es-142", "recent_procedure"): "an undated operation read as recent",
        # "orino x horario" (timed voiding, the bladder no longer felt) read as retention.
        ("v9-es-181", "urinary_retention"): "timed voiding read as retention",
    },
    overreads_exact=True,
    overreads_on_dangers_only=True,
    size=Size(),
    known_under_triage={},
)

DEV_V10 = Corpus(
    file="dev_v10.yaml",
    language="en",
    known_gaps={},
    # Red flags read beyond the labels, each an over-reading (never an under-reading) that
    # errs on the side of safety, with the reason. No control may raise any other red flag.
    known_overreads={
        # "A tearing feeling between my shoulder blades", "sharp tearing pain in my back": an
        # older entry reads a tearing pain as sudden and severe too (dissection pain is).
        ("v10-en-020", "sudden_severe_pain"): "tearing pain read as sudden severe pain",
        ("v10-en-149", "sudden_severe_pain"): "tearing pain read as sudden severe pain",
        # "So out of breath I can't get up the stairs ... my lips look a bit blue": blue lips
        # are read as the colour of shock (danger_v8), and the stairs as a walking difficulty.
        ("v10-en-036", "pale_sweaty_faint"): "blue lips read as the colour of shock",
        ("v10-en-036", "walking_difficulty"): (
            "can't get up the stairs (for breath) read as walking"
        ),
        # "Since my stent": an operation with no date is read as recent.
        ("v10-en-085", "recent_procedure"): "an undated stent read as a recent procedure",
        # "Unsteady on my feet": feet (plural) unsteady read as weak legs, both sides.
        ("v10-en-096", "leg_weakness"): "unsteady on my feet read as weak legs",
        ("v10-en-096", "bilateral_leg_symptoms"): "feet (plural) read as both legs",
        # "Didn't realise I'd wet myself": not feeling the urine pass is also a sensation
        # change.
        ("v10-en-104", "urinary_sensation_change"): (
            "wetting without noticing read as no sensation"
        ),
        # "Both legs feel like jelly": jelly legs read as a walking difficulty too.
        ("v10-en-107", "walking_difficulty"): "legs like jelly read as a walking difficulty",
        # "Haven't weed since yesterday morning and I don't even need to go": no finding
        # exists for passing no urine (NICE NG51 high-risk sign); retention is the nearest
        # reading and gives the emergency that NG51 asks for.
        ("v10-en-113", "urinary_retention"): (
            "no urine passed read as retention (no finding for it)"
        ),
        ("v10-en-113", "ces_symptom_recent"): "no urine passed since yesterday dated as recent",
        # "Been vomiting all day" is read as vomiting that keeps nothing down (fluids_v9).
        ("v10-en-128", "cannot_keep_fluids_down"): "vomiting all day read as no fluids kept down",
    },
    overreads_exact=False,
    dev_only=True,
    size=Size(held_out=("reserve", 25, 35)),
    # Empty: v10-en-116 ("My blood pressure machine says 85 over 50") is read since
    # measures.yaml takes "machine", "monitor" or "cuff" between "blood pressure" and the
    # number.
    known_under_triage={},
    triage_reader=read_narrative,
    labels_checked=True,
)

ES_DEV_V10 = Corpus(
    file="es_dev_v10.yaml",
    language="es",
    known_gaps={
        # "me hicieron cesárea hace 2 semanas": a caesarean is an operation of the last 6
        # weeks, but older dev corpora leave it unlabelled (as v9-es-098), so reading it
        # waits for the lead to relabel them.
        ("v10-es-054", "recent_procedure"): "a recent caesarean, unlabelled in older corpora",
        # "..., me cuesta caminar, hace 2 días": the date is nearest to the walking
        # difficulty, whose duration policy (knowledge/nlp/codes.yaml) dates the episode,
        # not the cauda equina symptoms, so the both-leg symptom is not dated as recent.
        ("v10-es-063", "ces_symptom_recent"): "the date goes to the walking difficulty",
        ("v10-es-090", "ces_symptom_recent"): "the date goes to the walking difficulty",
    },
    # Red flags read beyond the labels of a narrative that has a danger of its own, each an
    # over-reading (never an under-reading), none on a control:
    known_overreads={
        # "derrepente un dolor de cabeza horrible": the sudden headache also as sudden pain.
        ("v10-es-008", "sudden_severe_pain"): "a sudden headache read as sudden pain",
        # "un dolor desgarrador": a tearing pain also as sudden (as v9-es-029).
        ("v10-es-015", "sudden_severe_pain"): "tearing pain read as sudden",
        # "un cólico nefrítico": renal colic also read as loin pain.
        ("v10-es-034", "loin_pain"): "renal colic read as loin pain",
        # "se me hincharon mucho la cara y las manos" in pregnancy: read as allergic swelling.
        ("v10-es-051", "allergic_swelling"): "swollen face and hands read as allergic",
        # "me duele ... la mandíbula al masticar" (jaw claudication) also as jaw pain.
        ("v10-es-112", "pain_to_arm_or_jaw"): "jaw claudication read as jaw pain",
    },
    overreads_exact=True,
    overreads_on_dangers_only=True,
    dev_only=True,
    size=Size(held_out=("heldout", 25, 35)),
    # v10-es-062 ("estoy con warfarina y hace 2 días me empezó un dolor en el costado") was
    # routine: the 2 days are not read onto the side pain. Since knowledge 2026.12.10 the
    # rule counts a pain with no date as new (H76), so it is an emergency again.
    known_under_triage={},
    labels_checked=True,
)

CORPORA = (ES_DEV_V8, DEV_V9, ES_DEV_V9, DEV_V10, ES_DEV_V10)


def _params(*, when: str | None = None) -> list[Any]:
    """The corpora (those whose ``when`` field is set), each named by its file."""
    return [
        pytest.param(corpus, id=corpus.file)
        for corpus in CORPORA
        if when is None or getattr(corpus, when) not in (None, False)
    ]


@functools.cache
def _answers(text: str, language: str) -> Mapping[str, FindingValue]:
    return read_narrative(text, language=language).answers()


def _read(corpus: Corpus) -> list[dict[str, Any]]:
    """The narratives the reader is run on (the dev part where the file has a held-out one)."""
    narratives = corpus_file(corpus.file)
    if corpus.dev_only:
        return [n for n in narratives if n.get("split", "dev") == "dev"]
    return narratives


def _affirms_a_red_flag(narrative: dict[str, Any], flags: set[str]) -> bool:
    return any(narrative["findings"].get(code) is True for code in flags)


def _age(narrative: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    if narrative.get("age") is not None:
        data["age"] = narrative["age"]
    return data


@pytest.mark.parametrize("corpus", _params(when="size"))
def test_the_corpus_is_large_and_has_controls(corpus: Corpus) -> None:
    """At least 150 narratives, at least 40 of them controls that state no red flag (and a
    held-out part of about 30 where the file has one)."""
    assert corpus.size is not None
    flags = red_flags()
    narratives = corpus_file(corpus.file)
    controls = [n for n in narratives if not _affirms_a_red_flag(n, flags)]
    assert len(narratives) >= corpus.size.narratives
    assert len(controls) >= corpus.size.controls
    if corpus.size.held_out is not None:
        split, least, most = corpus.size.held_out
        held_out = [n for n in narratives if n.get("split") == split]
        assert least <= len(held_out) <= most


@pytest.mark.parametrize("corpus", _params())
def test_every_red_flag_of_the_corpus_is_read(corpus: Corpus) -> None:
    """Every red flag the narratives affirm is read as present (the known gaps apart)."""
    flags = red_flags()
    missed = []
    for narrative in _read(corpus):
        findings = narrative["findings"]
        assert isinstance(findings, dict)
        answers = _answers(str(narrative["text"]), corpus.language)
        for code, value in findings.items():
            if code in flags and value is True and answers.get(code) is not True:
                missed.append((narrative["id"], code))
    assert set(missed) == set(corpus.known_gaps)


@pytest.mark.parametrize("corpus", _params())
def test_no_control_of_the_corpus_raises_a_red_flag(corpus: Corpus) -> None:
    """A red flag read as present must be labelled present (the known over-readings apart):
    no control raises one."""
    flags = red_flags()
    raised = []
    for narrative in _read(corpus):
        findings = narrative["findings"]
        assert isinstance(findings, dict)
        for code, value in _answers(str(narrative["text"]), corpus.language).items():
            if code in flags and value is True and findings.get(code) is not True:
                raised.append((narrative["id"], code))
    known = set(corpus.known_overreads)
    if corpus.overreads_exact:
        assert set(raised) == known
    else:
        assert set(raised) <= known, sorted(set(raised) - known)
    if corpus.overreads_on_dangers_only:
        affirmed = {n["id"] for n in _read(corpus) if _affirms_a_red_flag(n, flags)}
        assert {narrative for narrative, _ in known} <= affirmed


@pytest.mark.parametrize("corpus", _params(when="known_under_triage"))
def test_triage_from_the_text_alone_never_under_triages(corpus: Corpus) -> None:
    """The triage engine on the narrative (+ age) alone reaches at least the urgency that
    the labelled findings give (the known under-triage apart)."""
    assert corpus.known_under_triage is not None
    under = []
    for narrative in _read(corpus):
        data = _age(narrative, {"narrative": narrative["text"], "language": corpus.language})
        got = str(assess(Intake.from_json(data), read_narrative=corpus.triage_reader).urgency)
        if Urgency(got).rank < Urgency(narrative["urgency"]).rank:
            under.append((narrative["id"], narrative["urgency"], got))
    assert {narrative for narrative, _, _ in under} == set(corpus.known_under_triage), under


@pytest.mark.parametrize("corpus", _params(when="labels_checked"))
def test_the_labelled_urgency_is_what_the_labels_give(corpus: Corpus) -> None:
    """Each narrative's urgency (held-out ones too: this reads labels, not the reader) is
    the triage engine's on its labelled findings (+ age) as structured answers: a perfect
    reader."""
    wrong = []
    for narrative in corpus_file(corpus.file):
        data = _age(narrative, {"answers": dict(narrative["findings"])})
        got = str(assess(Intake.from_json(data)).urgency)
        if got != narrative["urgency"]:
            wrong.append((narrative["id"], narrative["urgency"], got))
    assert wrong == []
