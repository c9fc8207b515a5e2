"""The 1155 flags read from a caller's words: 危 danger, 众 many workers, 多 repeated, 大 large amount, 隐 hidden risk.

Thresholds and words come from the taxonomy file; each raised flag keeps the words that raised it. 多 from the
words alone is the caller saying so ("反映过好几次"); linking tickets in the database raises it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.entities import Entities

FLAG_ORDER = ("danger", "mass", "repeat", "large", "hidden")


@dataclass(frozen=True)
class Flag:
    """One raised 1155 flag and the words that raised it."""

    name: str
    label: str
    words: tuple[str, ...]


def _hits(text: str, words: list[str], unless: list[str]) -> list[str]:
    """The words found in text, less those that sit inside an `unless` phrase ("累死了" is not a death)."""
    covered = [(m.start(), m.end()) for w in unless if w in text for m in re.finditer(re.escape(w), text)]
    found = []
    for word in words:
        if word not in text:
            continue
        for m in re.finditer(re.escape(word), text):
            if not any(s <= m.start() and m.end() <= e for s, e in covered):
                found.append(word)
                break
    # A shorter word inside a longer one found too adds nothing for staff.
    return [w for w in found if not any(w != o and w in o for o in found)]


def _asked_about(text: str, words: str, particles: list[str]) -> bool:
    """Whether a figure is asked about rather than owed: "能赔十万吗" puts no ¥100,000 at stake."""
    at = text.find(words)
    after = text[at + len(words):at + len(words) + 3] if at >= 0 else ""
    return any(after.startswith(p) or after[1:].startswith(p) for p in particles)


def urgency_flags(text: str, entities: Entities, rules: dict, kind: str = "help") -> list[Flag]:
    """The flags that `rules` (the taxonomy's `urgency` section) raise for this text and its entities.

    A flag whose rule says `help_only` counts only for a concrete dispute, not a consultation's example
    figures ("工伤十级能赔十万吗" puts no ¥100,000 at stake). `not_before` words right after the amount mark it as
    asked about ("能赔十万吗"); a `not_with` word anywhere silences the flag's words (a retiree's death)."""
    flags = []
    for name in FLAG_ORDER:
        spec = rules.get(name)
        if not spec or (spec.get("help_only") and kind != "help"):
            continue
        words = [] if any(w in text for w in spec.get("not_with", [])) else _hits(
            text, spec.get("words", []), spec.get("unless_words", []))
        if name == "mass" and entities.workers and entities.workers.value >= spec.get("min_workers", 10):
            words.insert(0, entities.workers.text)
        if (name == "large" and entities.amount and entities.amount.value >= spec.get("min_amount_yuan", 100_000)
                and not _asked_about(text, entities.amount.text, spec.get("not_before", []))):
            words.insert(0, entities.amount.text)
        if words:
            flags.append(Flag(name, spec.get("label", name), tuple(words)))
    return flags
