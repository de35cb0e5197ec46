"""The closed schemas of the knowledge files.

Every model forbids unknown keys, so a typo in a knowledge file fails at load time with the
file, the id and the list of valid keys. Clinical *content* is not here: only its shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backpath.vocabulary import Concern, FindingType, Urgency

_ID = r"^[a-z][a-z0-9_]*$"


class Closed(BaseModel):
    """A model that rejects unknown keys and is immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Snomed(Closed):
    """A SNOMED CT concept; ``verified`` is false until a terminologist confirms the id."""

    code: str = Field(pattern=r"^\d{6,18}$")
    display: str
    verified: bool


class ChoiceValue(Closed):
    """One allowed value of a choice finding, with the words a patient sees."""

    value: str = Field(pattern=_ID)
    label: str


class FindingDef(Closed):
    """One finding of the vocabulary (DESIGN.md public contract)."""

    code: str = Field(pattern=_ID)
    type: FindingType
    group: str
    label: str
    question: str
    help: str | None = None
    # The question again in plainer words with an example, shown once when the person
    # answers "not sure" (issue #9: the bladder, bowel and saddle questions).
    unsure_help: str | None = None
    values: tuple[ChoiceValue, ...] = ()
    min: int | None = None
    max: int | None = None
    unit: str | None = None
    snomed: Snomed | None = None
    red_flag: bool = False
    implies: tuple[str, ...] = ()
    # Filled from an instrument's result, e.g. "startback.stratum" (never asked directly).
    from_score: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.(stratum|band|value)$")

    @property
    def allowed_values(self) -> tuple[str, ...]:
        """The allowed values of a choice or multi-choice finding."""
        return tuple(v.value for v in self.values)


class GroupDef(Closed):
    """A group of findings (for catalogues and the clinician view)."""

    id: str = Field(pattern=_ID)
    label: str
    # Findings only ever given (a measured sign from a home monitor, a nurse or the record),
    # never asked by the interview: an unknown value does not hold up a result, and a
    # known one is used like any answer.
    given_only: bool = False


class FindingsFile(Closed):
    """``findings.yaml``."""

    groups: tuple[GroupDef, ...]
    findings: tuple[FindingDef, ...]


class SourceDef(Closed):
    """A guideline, paper, pathway or seed section that a rule or text cites."""

    id: str = Field(pattern=_ID)
    kind: str = Field(pattern=r"^(seed|guideline|paper|pathway)$")
    title: str
    publisher: str
    year: int
    url: str | None = None
    doi: str | None = None
    notes: str | None = None
    verified: bool

    @field_validator("doi")
    @classmethod
    def _doi_shape(cls, doi: str | None) -> str | None:
        if doi is not None and not doi.startswith("10."):
            raise ValueError("a DOI starts with '10.'")
        return doi


class SourcesFile(Closed):
    """``sources.yaml``."""

    sources: tuple[SourceDef, ...]


class RuleDef(Closed):
    """A triage rule: when ``when`` is true, the result is at least ``urgency``."""

    id: str = Field(pattern=_ID)
    title: str
    concern: Concern
    urgency: Urgency
    when: Any
    patient: str
    clinician: str
    sources: tuple[str, ...] = Field(min_length=1)
    advice: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    notes: str | None = None
    # The first thing an emergency result tells the person to do (an id in
    # instructions.yaml). Required for emergency rules: "call an ambulance, do not drive"
    # and "go to the emergency department" are different instructions.
    first_instruction: str | None = Field(default=None, pattern=_ID)


class RulesFile(Closed):
    """``rules/*.yaml``."""

    rules: tuple[RuleDef, ...]


class PlanRuleDef(Closed):
    """A care-plan rule: for results of the listed urgencies, when ``when`` is true, add
    the advice and next steps."""

    id: str = Field(pattern=_ID)
    title: str
    when: Any = True
    for_urgency: tuple[Urgency, ...] = Field(min_length=1)
    advice: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    sources: tuple[str, ...] = Field(min_length=1)


class PlanFile(Closed):
    """``plan.yaml``."""

    plan: tuple[PlanRuleDef, ...]


class AdviceDef(Closed):
    """A block of patient text: an action, a piece of advice, a next step or safety net."""

    id: str = Field(pattern=_ID)
    kind: str = Field(pattern=r"^(action|advice|next_step|safety_net)$")
    title: str
    body: str
    clinician: str | None = None
    sources: tuple[str, ...] = Field(min_length=1)


class AdviceFile(Closed):
    """``advice/en/*.yaml``."""

    advice: tuple[AdviceDef, ...]


class UrgencyDef(Closed):
    """Patient and clinician wording of one urgency level."""

    id: Urgency
    label: str
    headline: str
    action: str
    clinician: str


class UrgenciesFile(Closed):
    """``urgencies.yaml``."""

    urgencies: tuple[UrgencyDef, ...]


class NarrativePolicy(Closed):
    """How narrative findings join the structured answers."""

    counts_as_present: tuple[str, ...]
    negation_fills_red_flags: bool
    not_understood_keeps_present: bool


class Manifest(Closed):
    """``manifest.yaml``: the knowledge base's version and global settings."""

    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d+$")
    released: str
    status: str
    baseline_urgency: Urgency
    languages: tuple[str, ...]
    narrative: NarrativePolicy
    unresolved_advice: str = Field(pattern=_ID)

    @field_validator("baseline_urgency")
    @classmethod
    def _never_self_care(cls, urgency: Urgency) -> Urgency:
        if urgency is Urgency.SELF_CARE:
            raise ValueError("the baseline may never be self_care (unknown is not 'no')")
        return urgency


class QuestionRef(Closed):
    """One question in the questionnaire: a finding code and when to ask it."""

    code: str = Field(pattern=_ID)
    ask_if: Any = None


class SectionDef(Closed):
    """A page of the intake (web) or a block of the terminal interview."""

    id: str = Field(pattern=_ID)
    title: str
    intro: str | None = None
    safety_screen: bool = False
    questions: tuple[QuestionRef, ...] = Field(min_length=1)


StepKind = Literal["boolean", "number", "choice", "checklist"]


class RangeDef(Closed):
    """One answer of a number step shown as ranges ("2 to 4 weeks"): every whole number
    from ``min`` to ``max`` (``None``: no upper end) is answered as ``value``. The loader
    proves that no rule or question tells two numbers of one range apart."""

    label: str
    min: int
    max: int | None = None
    value: int


class StepDef(Closed):
    """One step of the interview: what a person sees and answers at one time.

    ``boolean``, ``number`` and ``choice`` ask one finding (its own question is the text
    unless ``text`` is given). A ``checklist`` answers several yes/no findings in one step
    while showing each by name: "none of these" answers each ``false``, "not sure" each
    ``null``, ticked items ``true`` and the others ``false``. ``ask_if`` (a condition on
    earlier steps' answers) makes a follow-up: asked only once the condition is not false.
    The order of the steps is the clinical order of the interview (life-threatening first).
    """

    id: str = Field(pattern=_ID)
    kind: StepKind
    codes: tuple[str, ...] = Field(min_length=1)
    text: str | None = None
    ask_if: Any = None
    # A number step may be answered by ranges instead of a typed number (web).
    ranges: tuple[RangeDef, ...] = ()


class QuestionnaireFile(Closed):
    """``questionnaire.yaml``: the one source of truth for question order.

    ``sections`` group the questions into pages (web intake); ``steps`` are the units the
    adaptive interview asks one at a time (``backpath.triage.interview.next_step``).
    """

    sections: tuple[SectionDef, ...]
    steps: tuple[StepDef, ...] = ()


class InstructionDef(Closed):
    """The first line of an emergency result, in patient words.

    ``text`` may contain ``{emergency_number}``: the clinic's configured number.
    """

    id: str = Field(pattern=_ID)
    text: str
    clinician: str


class EmergencyNumbers(Closed):
    """Emergency telephone numbers by region; the deployment picks one (web settings)."""

    presets: dict[str, str]
    default: str

    @field_validator("presets")
    @classmethod
    def _digits(cls, presets: dict[str, str]) -> dict[str, str]:
        for region, number in presets.items():
            if not number.isdigit():
                raise ValueError(f"{region}: an emergency number is digits only")
        return presets


class MetaRuleDef(Closed):
    """A rule the engine applies to the result as a whole, not to single answers.

    Used for uncertainty: the interview is complete and a serious rule is still undecided
    only because the person said "not sure" - the result is raised to ``urgency``.
    """

    id: str = Field(pattern=_ID)
    title: str
    concern: Concern
    urgency: Urgency
    patient: str
    clinician: str
    sources: tuple[str, ...] = Field(min_length=1)
    advice: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()


class SafetyFile(Closed):
    """``safety.yaml``: emergency instructions and numbers, and the engine's meta-rules."""

    emergency_numbers: EmergencyNumbers
    instructions: tuple[InstructionDef, ...] = Field(min_length=1)
    # A rule of at least this urgency left undecided by "not sure" answers escalates.
    unsure_escalates_from: Urgency
    # A rule of at least this urgency that "not sure" answers alone keep from firing, with
    # a red flag answered "yes" in it, sets the result to its own urgency.
    unsure_completes_from: Urgency
    # Risk factors: a "yes" to one of these alone does not complete such a rule.
    unsure_risk_factors: tuple[str, ...] = ()
    # Signs that, answered "yes", let "not sure" complete any such rule.
    unsure_context_signs: tuple[str, ...] = ()
    unsure_not_ruled_out: MetaRuleDef
    narrative_not_resolved: MetaRuleDef
    # Danger words in the narrative that no finding explains: a clinician reads it soon.
    danger_words_not_resolved: MetaRuleDef
