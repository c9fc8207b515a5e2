"""The policy knowledge base (政策知识库): the answer read to a caller with a policy question."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from rapidfuzz import fuzz

FUZZY_KEYWORD_SCORE = 90.0  # a longer keyword heard with one character wrong still counts


@dataclass(frozen=True)
class Answer:
    """One entry: the question it answers, the words that point to it, and what the caller is told."""

    id: str
    question: str
    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class KnowledgeMatch:
    """The entry chosen and the caller's words that chose it."""

    entry: Answer
    words: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Answers chosen by the keywords a caller's words contain."""

    entries: tuple[Answer, ...]
    min_keywords: int = 2

    def best(self, text: str) -> KnowledgeMatch | None:
        """The entry with most keywords in `text` (at least `min_keywords`), or None: then a person answers."""
        best: KnowledgeMatch | None = None
        for entry in self.entries:
            words = tuple(k for k in entry.keywords if _heard(k, text))
            if len(words) >= self.min_keywords and (best is None or len(words) > len(best.words)):
                best = KnowledgeMatch(entry, words)
        return best


def _heard(keyword: str, text: str) -> bool:
    if keyword in text:
        return True
    return len(keyword) >= 3 and fuzz.partial_ratio(keyword, text) >= FUZZY_KEYWORD_SCORE


@lru_cache(maxsize=4)
def load_knowledge(path: Path | None = None) -> KnowledgeBase:
    """The knowledge file (default: the shipped routing/data/knowledge.yaml)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("routing.data").joinpath("knowledge.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    return KnowledgeBase(
        tuple(Answer(str(e["id"]), str(e["question"]), tuple(e["keywords"]), str(e["answer"])) for e in data["entries"])
    )
