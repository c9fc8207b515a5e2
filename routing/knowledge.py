"""The policy knowledge base (政策知识库): the answer read to a caller with a policy question."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator
from rapidfuzz import fuzz

from hotline.data_files import DataModel, Wrong, load_yaml

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


class _Entry(DataModel):
    id: Annotated[str, Field(min_length=1)]
    question: str
    keywords: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    answer: Annotated[str, Field(min_length=1)]


class KnowledgeFile(DataModel):
    """The knowledge file (routing/data/knowledge.yaml) as written."""

    entries: tuple[_Entry, ...]

    @model_validator(mode="after")
    def _ids_once(self) -> KnowledgeFile:
        ids = [e.id for e in self.entries]
        for n, entry_id in enumerate(ids):
            if entry_id in ids[:n]:
                raise Wrong(f"the id {entry_id} is used twice", "entries", n)
        return self

    def knowledge(self) -> KnowledgeBase:
        """The knowledge base this file describes."""
        return KnowledgeBase(tuple(Answer(e.id, e.question, e.keywords, e.answer) for e in self.entries))


@lru_cache(maxsize=4)
def load_knowledge(path: Path | None = None) -> KnowledgeBase:
    """The knowledge file (default: the shipped routing/data/knowledge.yaml)."""
    return load_yaml(KnowledgeFile, path, ("routing.data", "knowledge.yaml")).knowledge()
