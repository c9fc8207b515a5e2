"""A first, simple understanding of a ticket: the caller's menu choice plus keywords in what they said."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Taxonomy:
    """Subjects with their keywords, and what each menu choice means."""

    subjects: dict[str, dict]
    menu_choices: dict[str, dict]
    handling_classes: dict[str, str]


@dataclass(frozen=True)
class Classification:
    """Subject, handling class and route, with the words that decided them (shown to staff)."""

    subject: str
    handling_class: str
    route: str
    evidence: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped in routing/data/taxonomy.yaml."""
    text = resources.files("routing.data").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Taxonomy(data["subjects"], data["menu_choices"], data["handling_classes"])


def classify(menu_choice: str | None, text: str, taxonomy: Taxonomy | None = None) -> Classification:
    """Classify from the menu choice; keywords in `text` pick the subject when any match."""
    taxonomy = taxonomy or default_taxonomy()
    base = taxonomy.menu_choices.get(menu_choice or "", taxonomy.menu_choices["operator"])
    scores: dict[str, list[str]] = {}
    for subject, spec in taxonomy.subjects.items():
        hits = [word for word in spec.get("keywords", []) if word in text]
        if hits:
            scores[subject] = hits
    if not scores:
        return Classification(base["subject"], base["handling_class"], base["route"])
    # Most distinct keywords wins; ties go to the order of the taxonomy file.
    subject = max(scores, key=lambda s: len(scores[s]))
    return Classification(subject, base["handling_class"], base["route"], scores[subject])
