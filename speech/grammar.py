"""Menu phrases as a Vosk runtime grammar, and the choice a caller's words make.

Each option of a menu has spoken synonyms ("法律咨询", "律师"); each phrase is segmented into words of the model's
vocabulary (jieba first, then the fewest vocabulary words that spell each piece). Words the model does not have are
reported, never silently dropped; a phrase with such a word is left out of the grammar.

A grammar alone cannot tell a menu answer from other speech: it spells every sound as one of its phrases. So a
choice is taken at once only when the free-speech recognizer, run on the same audio, heard the same phrase;
a choice heard by the grammar alone, in a short answer, is confirmed with a question first.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from speech.vocabulary import is_word, unknown_word

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MAX_WORD_CHARS = 8
# A grammar answer longer than this many phrases is someone talking, not choosing (the grammar spells
# every sound of a sentence as its phrases).
MAX_ANSWER_PHRASES = 2
MIN_CONFIRM_CONFIDENCE = 0.6  # mean word confidence below which a grammar-only choice is not even asked about
MIN_CONFIDENT = 0.5  # mean word confidence below which an agreed choice is still confirmed


@dataclass(frozen=True)
class Phrase:
    """One spoken synonym of a menu option, as written and as the model's words."""

    choice: str
    text: str
    words: tuple[str, ...]
    missing: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return bool(self.words) and not self.missing

    @property
    def key(self) -> str:
        """What free-speech text must contain to have said it: the words, no spaces."""
        return "".join(self.words)


@dataclass(frozen=True)
class MenuGrammar:
    """The phrases of one menu step, ready for `KaldiRecognizer(model, rate, grammar.json())`."""

    step: str
    phrases: tuple[Phrase, ...]
    unknown: str | None = "[unk]"

    @property
    def usable(self) -> tuple[Phrase, ...]:
        return tuple(p for p in self.phrases if p.usable)

    @property
    def missing(self) -> list[tuple[str, str, str]]:
        """(choice, phrase, word) for every word of a phrase the model cannot recognise."""
        return [(p.choice, p.text, w) for p in self.phrases for w in p.missing]

    def json(self) -> str:
        """The grammar as Vosk takes it: a JSON list of space-separated phrases, plus the unknown word."""
        phrases = list(dict.fromkeys(" ".join(p.words) for p in self.usable))
        if self.unknown:
            phrases.append(self.unknown)
        return json.dumps(phrases, ensure_ascii=False)

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for p in self.usable for w in p.words)


@dataclass(frozen=True)
class MenuChoice:
    """What the caller chose by voice: `confident` → go there now; otherwise ask to confirm."""

    choice: str
    phrase: str
    confidence: float
    confident: bool
    grammar_text: str = ""
    free_text: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


def _jieba_cut(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [piece for piece in jieba.lcut(text, HMM=False) if piece.strip()]


def _fewest_words(token: str, vocabulary: frozenset[str]) -> list[str] | None:
    """Spell `token` with the fewest vocabulary words, or None when some part of it is in no word."""
    n = len(token)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - _MAX_WORD_CHARS), end):
            piece, prefix, shortest = token[start:end], best[start], best[end]
            if prefix is not None and piece in vocabulary:
                candidate = [*prefix, piece]
                if shortest is None or len(candidate) < len(shortest):
                    best[end] = candidate
    return best[n]


def segment(phrase: str, vocabulary: frozenset[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words, missing): `phrase` as vocabulary words, and the pieces no vocabulary word spells."""
    words: list[str] = []
    missing: list[str] = []
    for token in phrase.split():
        if vocabulary is None:
            words += _jieba_cut(token) if _HAN.search(token) else [token]
            continue
        if token in vocabulary:
            words.append(token)
            continue
        pieces = _jieba_cut(token) if _HAN.search(token) else [token]
        for piece in pieces:
            spelled = [piece] if piece in vocabulary else _fewest_words(piece, vocabulary)
            if spelled is None:
                missing.append(piece)
            else:
                words += spelled
    return tuple(words), tuple(missing)


def build_grammar(step: str, options: Mapping[str, Iterable[str]], vocabulary: frozenset[str] | None) -> MenuGrammar:
    """The grammar of a menu: `options` maps each choice to its spoken phrases."""
    phrases = []
    for choice, texts in options.items():
        for text in texts:
            words, missing = segment(text, vocabulary)
            phrases.append(Phrase(choice, text, words, missing))
    return MenuGrammar(step, tuple(phrases), unknown_word(vocabulary))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _grammar_hits(grammar: MenuGrammar, words: list[dict[str, Any]]) -> list[tuple[Phrase, float]]:
    """Every phrase found (as consecutive words) in the grammar recognizer's words, with its mean confidence."""
    tokens = [w["word"] for w in words]
    hits = []
    i = 0
    while i < len(tokens):
        best = None
        for phrase in grammar.usable:
            n = len(phrase.words)
            if tuple(tokens[i : i + n]) == phrase.words and (best is None or n > len(best.words)):
                best = phrase
        if best is None:
            i += 1
            continue
        confs = [float(w.get("conf", 1.0)) for w in words[i : i + len(best.words)]]
        hits.append((best, sum(confs) / len(confs)))
        i += len(best.words)
    return hits


def decide(grammar: MenuGrammar, grammar_words: list[dict[str, Any]], free_text: str) -> MenuChoice | None:
    """The caller's choice from one answer: the grammar recognizer's words and the free recognizer's text."""
    hits = _grammar_hits(grammar, grammar_words)
    heard = " ".join(w["word"] for w in grammar_words if is_word(w["word"]))
    squashed = _squash(free_text)
    said: dict[str, Phrase] = {}
    for phrase in grammar.usable:
        if phrase.key and phrase.key in squashed:
            said.setdefault(phrase.choice, phrase)
    by_choice: dict[str, tuple[Phrase, float]] = {}
    for phrase, conf in hits:
        if phrase.choice not in by_choice or conf > by_choice[phrase.choice][1]:
            by_choice[phrase.choice] = (phrase, conf)
    evidence = {"grammar_hits": [[p.text, round(c, 3)] for p, c in hits], "free_hits": sorted(said)}
    if len(said) == 1:
        choice = next(iter(said))
        if choice in by_choice:
            phrase, conf = by_choice[choice]
            return MenuChoice(choice, phrase.text, round(conf, 3), conf >= MIN_CONFIDENT, heard, free_text, evidence)
        if not hits:  # free speech heard it, the grammar only heard noise
            return MenuChoice(choice, said[choice].text, 0.5, False, heard, free_text, evidence)
        return None  # the two recognizers disagree
    if not said and len(by_choice) == 1 and len(hits) <= MAX_ANSWER_PHRASES:
        phrase, conf = next(iter(by_choice.values()))
        if conf >= MIN_CONFIRM_CONFIDENCE:
            return MenuChoice(phrase.choice, phrase.text, round(conf, 3), False, heard, free_text, evidence)
    return None


def report_missing(grammar: MenuGrammar, model_name: str) -> list[str]:
    """Log (warning) and return one line per phrase word the model lacks."""
    lines = [
        f"menu {grammar.step!r}, option {choice!r}: {word!r} of {phrase!r} is not in the vocabulary of "
        f"{model_name}; the phrase is left out of the grammar"
        for choice, phrase, word in grammar.missing
    ]
    for line in lines:
        log.warning("%s", line)
    return lines
