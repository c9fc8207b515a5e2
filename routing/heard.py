"""What the phone hears: toneless pinyin of caller text, and a seeded recogniser-noise model over it.

A telephone recogniser mostly gets the sounds right and the characters wrong (一群 heard as 一裙, 流血 as 留学 less
often than as 流雪), drops short syllables, and writes no punctuation. `toneless` gives each character's readings
without tones (what urgency cues are matched on, routing/urgency.py); `RecogniserNoise` makes such errors at a
rate, deterministically, so the bench and the tests can score the classifier on words as the phone hears them.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, pinyin

HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_NOT_HEARD = re.compile("[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z]+")


@lru_cache(maxsize=1)
def _word_frequencies() -> dict[str, int]:
    """jieba's dictionary of Chinese words and how often each is used."""
    from importlib import resources

    frequencies = {}
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            word, count, *_ = line.split(" ")
            if len(word) > 1:
                frequencies[word] = int(count)
    return frequencies


def is_common_word(text: str, min_frequency: int = 50) -> bool:
    """Whether these characters are an everyday word of their own (所在, 大人): a recogniser writing them meant
    them, so they are not taken for a cue that sounds the same (锁在, 打人)."""
    return _word_frequencies().get(text, 0) >= min_frequency


@lru_cache(maxsize=65536)
def toneless(ch: str) -> tuple[str, ...]:
    """Every reading of one character without tones, the commonest first ('血' → ('xue', 'xie')); () if not Han."""
    if not HAN.fullmatch(ch):
        return ()
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(r for r in (readings[0] if readings else []) if r.isalpha()))


def _near(syllable: str) -> set[str]:
    """Syllables one blur away (zh ↔ z, l ↔ n, ing ↔ in, ...)."""
    out = set()
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(a):
            out.add(b + syllable[2:])
        elif syllable.startswith(b):
            out.add(a + syllable[1:])
    for a, b in (("l", "n"), ("n", "l"), ("f", "h"), ("h", "f")):
        if syllable.startswith(a) and not syllable.startswith(("ng", "zh", "ch", "sh")):
            out.add(b + syllable[1:])
    for a, b in (("ing", "in"), ("eng", "en"), ("ang", "an")):
        if syllable.endswith(a):
            out.add(syllable[:-3] + b)
        elif syllable.endswith(b):
            out.add(syllable[:-2] + a)
    out.discard(syllable)
    return out


class RecogniserNoise:
    """Seeded recogniser errors at `rate`: of the Han characters, a share `rate`·(1 − `dropped`) swapped for a
    homophone (same toneless pinyin, else a near one) from `inventory`, a share `rate`·`dropped` dropped; digits
    spoken as Chinese numerals; punctuation and spaces gone. The same text, rate and seed give the same result."""

    def __init__(self, rate: float, seed: int = 12351, inventory: Iterable[str] = (), dropped: float = 0.2):
        if not 0 <= rate <= 1 or not 0 <= dropped <= 1:
            raise ValueError("rate and dropped are shares between 0 and 1")
        self.rate, self.seed, self.dropped = rate, seed, dropped
        by_sound: dict[str, list[str]] = defaultdict(list)
        for ch in sorted(set("".join(inventory))):
            if toneless(ch):
                by_sound[toneless(ch)[0]].append(ch)
        self.by_sound = dict(by_sound)

    def homophones(self, ch: str) -> list[str]:
        """Characters the recogniser could write for this one: same toneless pinyin, else a near syllable."""
        sounds = toneless(ch)
        if not sounds:
            return []
        same = [c for c in self.by_sound.get(sounds[0], []) if c != ch]
        if same:
            return same
        return sorted(c for s in _near(sounds[0]) for c in self.by_sound.get(s, []) if c != ch)

    @staticmethod
    def spoken(text: str) -> str:
        """The words as said, what a perfect recogniser would write: digits as numerals, no punctuation."""
        return _NOT_HEARD.sub("", _DIGITS.sub(lambda m: _numerals(m.group()), text))

    def hear(self, text: str) -> str:
        """The text as the recogniser might write it."""
        rng = random.Random(hashlib.sha256(f"{self.seed}:{self.rate}:{text}".encode()).digest())
        out = []
        for ch in self.spoken(text):
            draw = rng.random()
            if HAN.fullmatch(ch) and draw < self.rate:
                if draw < self.rate * self.dropped:
                    continue
                choices = self.homophones(ch)
                out.append(rng.choice(choices) if choices else ch)
            else:
                out.append(ch)
        return "".join(out)


def _numerals(digits: str) -> str:
    """'6000' as said: '六千' (Vosk writes what it hears in characters)."""
    import cn2an

    try:
        said: str = cn2an.an2cn(digits, "low")  # cn2an ships no type information
        return said
    except (ValueError, KeyError):
        return digits


_NUMERALS = "零一二三四五六七八九十百千万亿两几"
_DIGIT_SOUNDS = {
    "yi": "一",
    "er": "二",
    "san": "三",
    "si": "四",
    "wu": "五",
    "liu": "六",
    "qi": "七",
    "ba": "八",
    "jiu": "九",
    "liang": "两",
    "ji": "几",
}
_UNIT_SOUNDS = {"shi": "十", "bai": "百", "qian": "千", "wan": "万", "ge": "个"}
_COUNTED_SOUNDS = {"ren": "人", "ming": "名", "wei": "位"}  # what a head-count counts ("十二个任" was 十二个人)


def restore_numerals(text: str) -> str:
    """Numerals the recogniser wrote as homophones, put back where a numeral stands next to them: "三时个工人" →
    "三十个工人", "山十万" → "三十万". Only a unit's sound after a numeral (十 百 千 万 个) and a digit's sound before
    十 百 千 万, so that "是个" or "把五千" stay as they are; and the people a head-count counts (人 名 位) by their
    sound after its numeral and measure word ("十八哥忍" → "十八个人"), unless the heard character or the restored
    one begins an everyday word ("十几个任务", "五百韧事": a sum, then 人事)."""
    if not any(ch in _NUMERALS for ch in text):
        return text
    chars = list(text)
    for _ in range(2):  # a restored numeral can reveal the next ("六时多晚" → "六十多晚" → "六十多万")
        near = {j for i, ch in enumerate(chars) if ch in _NUMERALS for j in (i - 1, i + 1, i + 2, i + 3)}
        for i in sorted(j for j in near if 0 <= j < len(chars)):
            ch = chars[i]
            if ch in _NUMERALS or not toneless(ch):
                continue
            before = chars[i - 1] if i else ""
            after = chars[i + 1] if i + 1 < len(chars) else ""
            sound = toneless(ch)[0]
            if (
                sound in _UNIT_SOUNDS
                and before
                and _UNIT_SOUNDS[sound] != before
                and (before in _NUMERALS or (before in "多来余" and i > 1 and chars[i - 2] in _NUMERALS))
            ):
                chars[i] = _UNIT_SOUNDS[sound]
            elif sound in _DIGIT_SOUNDS and after in "十百千万":
                chars[i] = _DIGIT_SOUNDS[sound]
            elif (
                sound in _COUNTED_SOUNDS
                and ch != _COUNTED_SOUNDS[sound]
                and _counts_people_at(chars, i, sound)
                and not (after and (is_common_word(ch + after) or is_common_word(_COUNTED_SOUNDS[sound] + after)))
            ):
                chars[i] = _COUNTED_SOUNDS[sound]
    return "".join(chars)


def _counts_people_at(chars: list[str], i: int, sound: str) -> bool:
    """Whether place i follows a numeral, its 多/余/来 and (before 人) a measure word: where 人, 名 or 位 stands."""
    j = i - 1
    if sound == "ren" and j >= 0 and chars[j] in "个名位":
        j -= 1
    if j >= 0 and chars[j] in "多余来":
        j -= 1
    return j >= 0 and chars[j] in _NUMERALS
