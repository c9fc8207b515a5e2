"""Clean-up of recognizer text for Chinese: Vosk puts a space between words, Chinese writes none."""

from __future__ import annotations

import re
from typing import Any

# Han ideographs (basic, extension A, compatibility, extensions B+), CJK punctuation and full-width forms;
# not Hangul or kana, whose words are written with spaces.
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60\uffe0-\uffe6\U00020000-\U0003ffff"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_WHITESPACE = re.compile(r"\s+")


def normalize_transcript(text: str) -> str:
    """Collapse whitespace and drop the spaces between CJK characters; spaces around Latin/digit tokens stay."""
    return _SPACE_BETWEEN_CJK.sub("", _WHITESPACE.sub(" ", text).strip())


def clean_transcript(text: str) -> dict[str, Any]:
    """Recognizer text made readable: no spaces between Han characters, numerals as digits, plus the amounts
    ("六十多万" → about 600000) and head-counts ("十三个人" → 13) found in it."""
    from speech.numbers import find_quantities, numerals_to_digits

    normalized = normalize_transcript(text)
    quantities = find_quantities(normalized)
    return {
        "text": numerals_to_digits(normalized),
        "amounts": [q.to_dict() for q in quantities if q.kind == "amount"],
        "headcounts": [q.to_dict() for q in quantities if q.kind == "headcount"],
    }
