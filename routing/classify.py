"""Understanding a caller: subject, consult-or-help, handling class, 1155 urgency flags and entities, each with
the words that decided it (shown to staff).

The subject and the kind are learned (routing/classifier_model.py, trained on the project's own caller-style
examples); urgency, entities and the handling class are rules over the taxonomy file, where rules are right, with
urgency words matched as the phone hears them (routing/urgency.py) and a learned 1155 head that may add a flag the
rules missed, never take one away. Below the taxonomy's `confidence` the result says why a person should confirm
it (`doubts`). With no Chinese words to go on (nothing said yet, or another language), the menu choice decides.
Where the ticket then goes is not decided here: `routing.decide.decide_route` is the one route decider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from hotline.data_files import DataFileError, DataModel, Wrong, load_yaml
from routing.classifier_model import NO_LABEL, LinearTextModel, Prediction, shipped_model_path
from routing.entities import Entities, extract
from routing.heard import HAN
from routing.normalise import is_chinese, normalise
from routing.urgency import Flag, urgency_flags

KINDS = ("consult", "help")
# Why a person should confirm what was understood (Classification.doubts): stable codes, in this order.
DOUBTS = (
    "no_words",  # nothing in Chinese to go on: the menu choice decided
    "subject_unsure",  # the learned subject's probability below confidence.subject
    "subject_close",  # the second subject within confidence.subject_margin of the first
    "kind_unsure",  # consult-or-help's probability below confidence.kind
    "urgency_by_sound",  # an urgency flag raised only by words matched by sound (what the phone may have misheard)
    "urgency_unsure",  # no flag, but the learned 1155 head gives urgency confidence.urgent_doubt or more
    "urgency_by_model",  # the flag is the learned 1155 head's: the rules' words found none
)


@dataclass(frozen=True)
class Taxonomy:
    """The hotline's classes, subjects, menu meanings and rules (routing/data/taxonomy.yaml)."""

    # Each entry's spec is the YAML mapping as the hotline wrote it (label, keywords, legal, route, ...).
    subjects: dict[str, dict[str, Any]]
    menu_choices: dict[str, dict[str, Any]]
    handling_classes: dict[str, str]
    urgency: dict[str, dict[str, Any]] = field(default_factory=dict)
    complex_rules: dict[str, list[str]] = field(default_factory=dict)  # words: [...], subjects: [...]
    min_subject_confidence: float = 0.0
    cues: dict[str, list[str]] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)  # below these a person confirms (doubts)

    def model_cues(self) -> dict[str, list[str]]:
        """The word groups the learned model reads as one feature each: the `cues`, and each subject's keywords."""
        cues = {name: list(words) for name, words in self.cues.items()}
        for subject, spec in self.subjects.items():
            if spec.get("keywords"):
                cues[f"subject_{subject}"] = list(spec["keywords"])
        return cues

    def label(self, subject: str) -> str:
        """The subject's Chinese label for staff (its code if the taxonomy gives none)."""
        return str(self.subjects.get(subject, {}).get("label", subject))

    def is_legal(self, subject: str) -> bool:
        """Whether a consultation on this subject is a legal question (lawyer seats)."""
        return bool(self.subjects.get(subject, {}).get("legal", False))

    def menu(self, choice: str | None) -> dict[str, Any]:
        """What a menu choice means (subject, handling class, route); no choice or an unknown one: the operator's."""
        return self.menu_choices.get(choice or "", self.menu_choices["operator"])


class TaxonomyError(DataFileError):
    """The taxonomy file is not usable; the message names the key and what to fix."""


# The handling classes the rules decide among (`_handling_class`), and the first routes a menu choice may give
# (routing.decide's route codes; not imported, since routing.decide builds on this module).
HANDLING_CLASSES = ("consult", "assist", "complex", "urgent")
MenuRoute = Literal["lawyer_queue", "supervisor", "local_union", "dispatcher", "knowledge_base", "operator"]
Words = list[Annotated[str, Field(min_length=1)]]
Share = Annotated[float, Field(ge=0, le=1)]


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


class _Subject(DataModel):
    label: Annotated[str, Field(min_length=1)]
    legal: bool = False
    keywords: Words = Field(default_factory=list)


class _MenuChoice(DataModel):
    handling_class: str
    route: MenuRoute
    subject: str
    kind_bias: float = 0.0


class _Flag(DataModel):
    label: Annotated[str, Field(min_length=1)]
    words: Words = Field(default_factory=list)
    help_words: Words = Field(default_factory=list)
    everyday_words: Words = Field(default_factory=list)
    together: list[list[Words]] = Field(default_factory=list)
    unless_words: Words = Field(default_factory=list)
    not_with: Words = Field(default_factory=list)
    patterns: list[Annotated[str, AfterValidator(_pattern)]] = Field(default_factory=list)
    min_workers: Annotated[int, Field(ge=1)] = 10
    min_amount_yuan: Annotated[int, Field(gt=0)] = 100_000
    not_before: Words = Field(default_factory=list)
    help_only: bool = False


class _Complex(DataModel):
    subjects: list[str] = Field(default_factory=list)
    words: Words = Field(default_factory=list)


class _Confidence(DataModel):
    subject: Share = 0.0
    subject_margin: Share = 0.0
    kind: Share = 0.0
    urgent_flag: Share = 1.0
    urgent_min_chars: Annotated[float, Field(ge=0)] = 0
    urgent_doubt: Share = 1.0


class TaxonomyFile(DataModel):
    """The taxonomy file (routing/data/taxonomy.yaml) as written."""

    handling_classes: dict[str, Annotated[str, Field(min_length=1)]]
    subjects: Annotated[dict[str, _Subject], Field(min_length=1)]
    menu_choices: dict[str, _MenuChoice]
    cues: dict[str, Words] = Field(default_factory=dict)
    min_subject_confidence: Share = 0.0
    complex: _Complex = _Complex()
    urgency: dict[str, _Flag] = Field(default_factory=dict)
    confidence: _Confidence = _Confidence()

    @model_validator(mode="after")
    def _names_what_it_defines(self) -> TaxonomyFile:
        for name in HANDLING_CLASSES:
            if name not in self.handling_classes:
                raise Wrong(
                    f"missing: add it with its label (the classes are {', '.join(HANDLING_CLASSES)})",
                    "handling_classes",
                    name,
                )
        if "operator" not in self.menu_choices:
            raise Wrong("missing: the choice of a caller who chose nothing; add it", "menu_choices", "operator")
        for choice, spec in self.menu_choices.items():
            if spec.subject not in self.subjects:
                raise Wrong(f"{spec.subject!r} is not in `subjects`", "menu_choices", choice, "subject")
            if spec.handling_class not in self.handling_classes:
                raise Wrong(
                    f"{spec.handling_class!r} is not in `handling_classes`", "menu_choices", choice, "handling_class"
                )
        for n, subject in enumerate(self.complex.subjects):
            if subject not in self.subjects:
                raise Wrong(f"{subject!r} is not in `subjects`", "complex", "subjects", n)
        for name, words in self.cues.items():
            unknown = [part for part in name.split("&") if part not in self.cues] if "&" in name else []
            if unknown and not words:
                raise Wrong(f"combines {unknown[0]!r}, which is no cue here", "cues", name)
        return self

    def taxonomy(self) -> Taxonomy:
        """The taxonomy this file describes; each spec is the mapping as written (no defaults filled in)."""

        def written(spec: DataModel) -> dict[str, Any]:
            return spec.model_dump(exclude_unset=True)

        return Taxonomy(
            {code: written(s) for code, s in self.subjects.items()},
            {code: written(c) for code, c in self.menu_choices.items()},
            dict(self.handling_classes),
            {code: written(f) for code, f in self.urgency.items()},
            written(self.complex),
            self.min_subject_confidence,
            {name: list(words) for name, words in self.cues.items()},
            written(self.confidence),
        )


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy file at `path` (default: the shipped routing/data/taxonomy.yaml), checked."""
    return load_yaml(TaxonomyFile, path, ("routing.data", "taxonomy.yaml"), TaxonomyError).taxonomy()


@dataclass(frozen=True)
class Decision:
    """One decision, the words that drove it, how sure it is and where it came from (model, rule, menu)."""

    value: str
    words: tuple[str, ...] = ()
    confidence: float | None = None
    source: str = "model"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the ticket's evidence."""
        out: dict[str, Any] = {"value": self.value, "words": list(self.words), "source": self.source}
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 3)
        return out


@dataclass(frozen=True)
class Classification:
    """What the hotline understood of a call. `evidence` lists the words behind the subject and the flags."""

    subject: str
    handling_class: str
    route: str  # the menu choice's route: where the call stands before decide_route routes it on these words
    evidence: list[str] = field(default_factory=list)
    kind: str = "help"
    flags: tuple[str, ...] = ()
    legal: bool = False
    entities: Entities = field(default_factory=Entities)
    decisions: dict[str, Decision] = field(default_factory=dict)
    doubts: tuple[str, ...] = ()  # codes from DOUBTS: why a person should confirm it (empty: no doubt)

    @property
    def urgent(self) -> bool:
        return self.handling_class == "urgent"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the ticket and `hotline classify --json` (which adds decide_route's route)."""
        return {
            "subject": self.subject,
            "kind": self.kind,
            "handling_class": self.handling_class,
            "legal": self.legal,
            "flags": list(self.flags),
            "doubts": list(self.doubts),
            "entities": self.entities.to_dict(),
            "evidence": {name: d.to_dict() for name, d in self.decisions.items()},
        }

    def staff_note(self, taxonomy: Taxonomy | None = None) -> str:
        """One line for the ticket's history: each decision with its words."""
        taxonomy = taxonomy or default_taxonomy()
        parts = []
        for name, d in self.decisions.items():
            value = taxonomy.label(d.value) if name == "subject" else d.value
            words = f"（{'、'.join(d.words)}）" if d.words else ""
            parts.append(f"{name}: {value}{words}")
        parts.extend(self.entities.describe())
        return "; ".join(parts)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped in routing/data/taxonomy.yaml."""
    return load_taxonomy()


@lru_cache(maxsize=4)
def load_model(path: Path | None = None) -> LinearTextModel:
    """A trained model: the one at `path` (a hotline's own, from `hotline classifier train`) or the shipped one."""
    return LinearTextModel.load(path or shipped_model_path())


def default_model(var_dir: Path | None = None) -> LinearTextModel:
    """The hotline's own model if one was trained into `var_dir`, else the shipped one."""
    own = var_dir / "classifier.json.gz" if var_dir else None
    return load_model(own if own and own.exists() else None)


def classify(
    menu_choice: str | None, text: str, taxonomy: Taxonomy | None = None, model: LinearTextModel | None = None
) -> Classification:
    """Understand what the caller said, after choosing `menu_choice` ("legal", "help", "policy", "operator")."""
    taxonomy = taxonomy or default_taxonomy()
    base = taxonomy.menu(menu_choice)
    text = normalise(text)
    decisions: dict[str, Decision] = {}
    if not is_chinese(text):
        kind = "consult" if base["handling_class"] == "consult" else "help"
        decisions["subject"] = Decision(base["subject"], source="menu")
        decisions["kind"] = Decision(kind, source="menu")
        decisions["handling_class"] = Decision(base["handling_class"], source="menu")
        return Classification(
            base["subject"],
            base["handling_class"],
            base["route"],
            [],
            kind,
            legal=kind == "consult" and taxonomy.is_legal(base["subject"]),
            decisions=decisions,
            doubts=("no_words",),
        )

    model = model or load_model()
    kind_bias = float(base.get("kind_bias", 0.0)) if menu_choice else 0.0
    predicted = model.predict_all(text, bias={"kind": {"help": kind_bias}}, explain=("subject", "kind"))
    subject_p, kind_p = predicted["subject"], predicted["kind"]
    if subject_p.probability >= taxonomy.min_subject_confidence and subject_p.label in taxonomy.subjects:
        decisions["subject"] = Decision(subject_p.label, subject_p.evidence, subject_p.probability)
    else:
        decisions["subject"] = Decision(base["subject"], (), subject_p.probability, source="menu")
    subject = decisions["subject"].value
    kind = kind_p.label if kind_p.label in KINDS else "help"
    decisions["kind"] = Decision(
        kind, kind_p.evidence, kind_p.probability, source=f"model, menu {menu_choice}" if kind_bias else "model"
    )

    entities = extract(text)
    flags = urgency_flags(text, entities, taxonomy.urgency, kind)
    for flag in flags:
        decisions[f"flag:{flag.name}"] = Decision(flag.label, flag.words, source="rule")
    learned = _learned_flag(taxonomy, predicted.get("urgent"), flags, text)
    if learned:
        flag, probability = learned
        flag = Flag(flag.name, flag.label, model.predict(text, "urgent").evidence)  # the words, now they are needed
        flags.append(flag)
        decisions[f"flag:{flag.name}"] = Decision(flag.label, flag.words, probability, source="model")
    handling = _handling_class(taxonomy, subject, kind, flags, text)
    decisions["handling_class"] = handling
    legal = kind == "consult" and taxonomy.is_legal(subject)
    evidence = list(dict.fromkeys([*decisions["subject"].words, *(w for f in flags for w in f.words)]))
    urgent_p = predicted.get("urgent")
    urgent_probability = 1.0 - urgent_p.probabilities.get(NO_LABEL, 1.0) if urgent_p else 0.0  # any flag
    doubts = _doubts(taxonomy.confidence, subject_p.probabilities, kind_p.probability, flags, urgent_probability)
    if learned:
        doubts = (*doubts, "urgency_by_model")
    return Classification(
        subject,
        handling.value,
        base["route"],
        evidence,
        kind,
        tuple(f.name for f in flags),
        legal,
        entities,
        decisions,
        doubts,
    )


def _learned_flag(
    taxonomy: Taxonomy, urgent: Prediction | None, flags: list[Flag], text: str
) -> tuple[Flag, float] | None:
    """The learned 1155 head's flag, where the rules raised none, the caller said enough to judge
    (confidence.urgent_min_chars) and the head is sure enough (confidence.urgent_flag): it adds urgency the rules'
    words missed ("下面的人喘不上气然后就没声音了"), never takes one away."""
    if urgent is None or flags or len(HAN.findall(text)) < taxonomy.confidence.get("urgent_min_chars", 0):
        return None
    probability = 1.0 - urgent.probabilities.get(NO_LABEL, 1.0)  # some flag, whichever
    if probability < taxonomy.confidence.get("urgent_flag", 1.0):
        return None
    name = max((p, label) for label, p in urgent.probabilities.items() if label != NO_LABEL)[1]
    spec = taxonomy.urgency.get(name, {})
    return Flag(name, spec.get("label", name), urgent.evidence), probability


def _doubts(
    confidence: dict[str, float],
    subjects: dict[str, float],
    kind_probability: float,
    flags: list[Flag],
    urgent_probability: float = 0.0,
) -> tuple[str, ...]:
    """Why a person should confirm this understanding (codes from DOUBTS), by the taxonomy's `confidence`."""
    found = set()
    first, second = [*sorted(subjects.values(), reverse=True), 0.0, 0.0][:2]
    if first < confidence.get("subject", 0.0):
        found.add("subject_unsure")
    if first - second < confidence.get("subject_margin", 0.0):
        found.add("subject_close")
    if kind_probability < confidence.get("kind", 0.0):
        found.add("kind_unsure")
    if flags and all("≈" in w for f in flags for w in f.words):
        found.add("urgency_by_sound")
    if not flags and urgent_probability >= confidence.get("urgent_doubt", 1.0):
        found.add("urgency_unsure")
    return tuple(d for d in DOUBTS if d in found)


def _handling_class(taxonomy: Taxonomy, subject: str, kind: str, flags: list[Flag], text: str) -> Decision:
    """Any 1155 flag: urgent; a question: consult; help needing other departments: complex; else assist."""
    if flags:
        return Decision("urgent", tuple(f"{f.label}:{w}" for f in flags for w in f.words[:1]), source="rule")
    if kind == "consult":
        return Decision("consult", (), source="rule")
    words = tuple(w for w in taxonomy.complex_rules.get("words", []) if w in text)
    words = tuple(w for w in words if not any(w != o and w in o for o in words))
    if words:
        return Decision("complex", words, source="rule")
    if subject in taxonomy.complex_rules.get("subjects", []):
        return Decision("complex", (taxonomy.label(subject),), source="rule")
    return Decision("assist", (), source="rule")
