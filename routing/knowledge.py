"""The policy knowledge base (政策知识库): the answer read to a caller with a policy question."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from rapidfuzz import fuzz


@dataclass(frozen=True)
class Answer:
    """One entry: how callers ask, and what they are told."""

    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Answers matched to a caller's words by fuzzy text similarity."""

    entries: tuple[Answer, ...]
    min_score: float = 60.0

    def best(self, text: str) -> tuple[Answer, float] | None:
        """The closest entry and its score (0-100), or None when nothing is close enough to read out."""
        if not text.strip():
            return None
        scored = [(entry, max(fuzz.partial_token_set_ratio(text, q) for q in entry.question.split()))
                  for entry in self.entries]
        entry, score = max(scored, key=lambda pair: pair[1])
        return (entry, score) if score >= self.min_score else None


@lru_cache(maxsize=4)
def load_knowledge(path: Path | None = None) -> KnowledgeBase:
    """The knowledge file (default: the shipped routing/data/knowledge.yaml)."""
    text = (Path(path).read_text(encoding="utf-8") if path
            else resources.files("routing.data").joinpath("knowledge.yaml").read_text(encoding="utf-8"))
    data = yaml.safe_load(text)
    return KnowledgeBase(tuple(Answer(str(e["id"]), str(e["question"]), str(e["answer"])) for e in data["entries"]))
