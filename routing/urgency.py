"""The 1155 flags read from a caller's words: 危 danger, 众 many workers, 多 repeated, 大 large amount, 隐 hidden risk.

Thresholds and words come from the taxonomy file; each raised flag keeps the words that raised it. The words are
matched as the phone hears them, not only as typed: the same characters, else the same toneless pinyin (流雪 for
流血, a homophone the recogniser wrote) with most of the cue's own characters there, else for a long cue one inner
syllable dropped; unless what was heard is an everyday word of its own (所在 is not 锁在). A word found that way is
shown as heard with the cue it was taken for ("流雪≈流血"). 多 from the words alone is the caller saying so
("反映过好几次"); linking tickets in the database raises it too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

from routing.entities import Entities, extract
from routing.heard import HAN, is_common_word, restore_numerals, toneless

FLAG_ORDER = ("danger", "mass", "repeat", "large", "hidden")
FUZZY_MIN_SYLLABLES = 5  # a cue this long still counts with one inner syllable dropped (4: 已经过 for 已经打过)


@dataclass(frozen=True)
class Flag:
    """One raised 1155 flag and the words that raised it."""

    name: str
    label: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A cue word found in the text: where, and whether the characters themselves were there."""

    cue: str
    start: int
    end: int
    heard: str  # the text's own characters there

    @property
    def word(self) -> str:
        """The words for staff: the cue itself, or what was heard and the cue it was taken for."""
        return self.cue if self.heard == self.cue else f"{self.heard}≈{self.cue}"


class Sounds:
    """A text's Han characters with their toneless readings, for matching cues by sound."""

    def __init__(self, text: str):
        self.text = text
        sounds = [(i, _sound(ch)) for i, ch in enumerate(text)]
        self.positions = [i for i, sound in sounds if sound]
        self.readings = [sound for _, sound in sounds if sound]
        # The syllable pairs that start at each character (cues are looked up by their first two syllables)
        self.pairs = [
            [(a, b) for a in first for b in second]
            for first, second in zip(self.readings, self.readings[1:], strict=False)
        ]


@lru_cache(maxsize=65536)
def _sound(ch: str) -> frozenset[str]:
    """A heard character's commonest toneless reading, as a set (empty for anything not Han): a recogniser writes a
    character for the sound it is mostly read with (its rare readings made 查了 sound like 炸了)."""
    return frozenset(toneless(ch)[:1])


def _cue_sounds(word: str) -> list[frozenset[str]]:
    """Each character of a cue as said in it, and its commonest reading (流血: liu, xue/xie), not rare ones."""
    said = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    if len(said) != len(word):
        said = [(toneless(ch) or ("",))[0] for ch in word]
    return [frozenset({s, *toneless(ch)[:1]}) for s, ch in zip(said, word, strict=True)]


class CueMatcher:
    """Finds cue words in a text as typed or as heard (see the module's docstring)."""

    def __init__(self, words: list[str], fuzzy_min: int = FUZZY_MIN_SYLLABLES, everyday: tuple[str, ...] = ()):
        self.words = list(dict.fromkeys(w for w in words if w))
        self.everyday = set(everyday)  # words of a labour call that sound like a cue but are what was said
        # Pattern: (cue, the cue's characters as heard, their syllables); an inner one left out where dropped.
        self.patterns: list[tuple[str, str, tuple[frozenset[str], ...]]] = []
        self.index: dict[tuple[str, str], list[int]] = defaultdict(list)  # by the first two syllables
        for word in self.words:
            if not all(HAN.fullmatch(ch) for ch in word) or len(word) < 2:
                continue  # by sound only all-Han cues of two characters or more: a single sound is too common
            sounds = tuple(_cue_sounds(word))
            self._add(word, word, sounds)
            if len(sounds) >= fuzzy_min:
                for k in range(1, len(sounds) - 1):  # an inner one: both ends heard keep it the same cue
                    self._add(word, word[:k] + word[k + 1 :], sounds[:k] + sounds[k + 1 :])

        # Cues not matched by sound (a digit, a single character) are found by their characters alone.
        plain = sorted((w for w in self.words if not any(p[0] == w for p in self.patterns)), key=len, reverse=True)
        self.plain = re.compile("(?=(" + "|".join(map(re.escape, plain)) + "))") if plain else None

    def _add(self, word: str, chars: str, sounds: tuple[frozenset[str], ...]) -> None:
        number = len(self.patterns)
        self.patterns.append((word, chars, sounds))
        for first in sounds[0]:
            for second in sounds[1]:
                self.index[(first, second)].append(number)

    def find(self, sounds: Sounds) -> list[Hit]:
        """Every cue found: by its characters first, else by sound; one hit per cue and place."""
        text = sounds.text
        hits: dict[tuple[str, int], Hit] = {}
        for m in self.plain.finditer(text) if self.plain else ():
            word = m.group(1)
            hits[(word, m.start())] = Hit(word, m.start(), m.start() + len(word), word)
        readings, positions = sounds.readings, sounds.positions
        index = self.index
        for i, keys in enumerate(sounds.pairs):
            for key in keys:
                for number in index.get(key, ()):
                    word, chars, pattern = self.patterns[number]
                    end = i + len(pattern)
                    if end > len(readings) or positions[end - 1] - positions[i] != len(pattern) - 1:
                        continue  # past the end, or across punctuation
                    if not all(p & readings[i + j] for j, p in enumerate(pattern)):
                        continue
                    first, last = positions[i], positions[end - 1] + 1
                    heard = text[first:last]
                    if heard == word:
                        hits[(word, first)] = Hit(word, first, last, heard)
                        continue
                    # Most of the cue's own characters must be there: by sound alone, two-character cues
                    # collide with too many everyday words (去世 and 取失, 倒塌 and 到他).
                    same = sum(a == b for a, b in zip(chars, heard, strict=True))
                    if (
                        2 * same < len(word)
                        or is_common_word(heard)
                        or _explained(text, first, last, chars)
                        or any(w in text[max(0, first - 2) : last + 2] for w in self.everyday)
                    ):
                        continue
                    hits.setdefault((word, first), Hit(word, first, last, heard))
        # By its characters at a place, a cue is not also found there by sound (a dropped syllable, say).
        exact = [h for h in hits.values() if h.heard == h.cue]
        by_sound = [
            h
            for h in hits.values()
            if h.heard != h.cue and not any(e.cue == h.cue and e.start <= h.start < e.end for e in exact)
        ]
        return sorted(exact + by_sound, key=lambda h: (h.start, -len(h.cue)))


def _explained(text: str, first: int, last: int, chars: str) -> bool:
    """Whether a character that differs from the cue makes an everyday word with its neighbour outside the span:
    then it was said, not misheard ("去时候" is 时候, not 去世; "过试用期" is 试用, not 过世)."""
    for p in range(first, last):
        if text[p] == chars[p - first]:
            continue
        for a, b in ((p - 1, p + 1), (p, p + 2), (p - 2, p + 1), (p, p + 3)):
            if a >= 0 and b <= len(text) and (a < first or b > last) and is_common_word(text[a:b]):
                return True
    return False


_MATCHERS: dict[int, tuple[dict[str, Any], CueMatcher]] = {}


def _matcher(rules: dict[str, Any]) -> CueMatcher:
    """One matcher for every word of the urgency rules, built once per rules (the taxonomy's do not change)."""
    cached = _MATCHERS.get(id(rules))
    if cached is None or cached[0] is not rules:
        words, everyday = [], []
        for spec in rules.values():
            for key in ("words", "help_words", "unless_words", "not_with"):
                words += spec.get(key, [])
            words += [w for groups in spec.get("together", []) for group in groups for w in group]
            everyday += spec.get("everyday_words", [])
        cached = _MATCHERS[id(rules)] = (rules, CueMatcher(words, everyday=tuple(everyday)))
    return cached[1]


def _hits(found: list[Hit], words: list[str], unless: list[str]) -> list[Hit]:
    """Of the cue words found, those of `words`, less those inside an `unless` phrase ("累死了" is not a death), a
    cue found by sound where another was found by its characters, and a shorter word inside a longer one (it adds
    nothing for staff)."""
    wanted, unwanted = set(words), set(unless)
    covered = [(h.start, h.end) for h in found if h.cue in unwanted]
    mine = [h for h in found if h.cue in wanted and not any(s <= h.start and h.end <= e for s, e in covered)]
    kept = [h for h in mine if h.heard == h.cue]
    for hit in (h for h in mine if h.heard != h.cue):
        if not any(h.start < hit.end and hit.start < h.end for h in kept):
            kept.append(hit)
    return [
        h
        for h in kept
        if not any(
            o is not h and o.start <= h.start and h.end <= o.end and o.end - o.start > h.end - h.start for o in kept
        )
    ]


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    """A taxonomy pattern, compiled once."""
    return re.compile(pattern)


def _asked_about(text: str, words: str, particles: list[str]) -> bool:
    """Whether a figure is asked about rather than owed: "能赔十万吗" puts no ¥100,000 at stake."""
    at = text.find(words)
    after = text[at + len(words) : at + len(words) + 3] if at >= 0 else ""
    return any(after.startswith(p) or after[1:].startswith(p) for p in particles)


def _first_words(hits: list[Hit]) -> list[str]:
    """The words for staff, each once, in the order heard."""
    return list(dict.fromkeys(h.word for h in hits))


def urgency_flags(text: str, entities: Entities, rules: dict[str, Any], kind: str = "help") -> list[Flag]:
    """The flags that `rules` (the taxonomy's `urgency` section) raise for this text and its entities.

    Per flag: `words` raise it, and `patterns` (regular expressions over the characters: "打了三次"); `help_words`
    only in a concrete dispute (someone hurt now), not a rule question ("中暑算工伤吗"); `together` lists groups of
    words that raise it only all together (the boss gone *and* many unpaid); `unless_words` phrases inside which a
    word does not count ("累死了"); a `not_with` word anywhere silences the flag's words (a retiree's death). A flag
    whose rule says `help_only` counts only for a concrete dispute. `not_before` words right after the amount mark
    it as asked about ("能赔十万吗"). Head-counts and amounts are read again with numerals the recogniser wrote as
    homophones restored ("三时个工人")."""
    found = _matcher(rules).find(Sounds(text))
    restored = restore_numerals(text)
    heard_entities = extract(restored) if restored != text else entities
    flags = []
    for name in FLAG_ORDER:
        spec = rules.get(name)
        if not spec or (spec.get("help_only") and kind != "help"):
            continue
        words: list[str] = []
        if not (spec.get("not_with") and _hits(found, spec["not_with"], [])):
            unless = spec.get("unless_words", [])
            words = _first_words(_hits(found, spec.get("words", []), unless))
            if kind == "help":
                words += _first_words(_hits(found, spec.get("help_words", []), unless))
            words += [m.group() for m in (_pattern(p).search(text) for p in spec.get("patterns", [])) if m]
            for groups in spec.get("together", []):
                each = [_first_words(_hits(found, group, unless))[:1] for group in groups]
                if all(each):
                    words.append("+".join(w[0] for w in each))
        workers = entities.workers or heard_entities.workers
        if name == "mass" and workers and workers.value >= spec.get("min_workers", 10):
            words.insert(0, workers.text)
        amount = entities.amount or heard_entities.amount
        if (
            name == "large"
            and amount
            and amount.value >= spec.get("min_amount_yuan", 100_000)
            and not _asked_about(restored, amount.text, spec.get("not_before", []))
        ):
            words.insert(0, amount.text)
        words = list(dict.fromkeys(words))
        if words:
            flags.append(Flag(name, spec.get("label", name), tuple(words)))
    return flags
