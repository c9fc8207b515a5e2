"""Employer and project names as callers say them, made comparable: "西安宏达建筑有限公司" and "宏达建筑公司" are one.

For linking tickets into one case (the same employer or project within a window): `name_key` strips what
varies between callers (legal form, city prefix, placeholders, spaces), `name_similarity` scores two names
0–100 with rapidfuzz, `same_name` applies the threshold.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from routing.entities import is_generic_name, place_names
from routing.normalise import normalise

SAME_NAME_SCORE = 85.0
LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团有限公司",
    "集团公司",
    "责任公司",
    "股份公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "项目部",
    "项目",
    "工厂",
    "厂",
    "门店",
    "店",
)
PLACEHOLDERS = re.compile("某某|某|XX|xx|××")
_NOT_WORD = re.compile(r"[^\u3400-\u9fffA-Za-z0-9]+")


def name_key(name: str | None) -> str:
    """The part of a name that tells it apart: "陕西省西安市宏达建筑有限公司" → "宏达建筑"."""
    if not name:
        return ""
    key = _NOT_WORD.sub("", normalise(name)).lower()
    key = PLACEHOLDERS.sub("", key)
    provinces, cities = place_names()
    for _ in range(2):  # "陕西西安…": a province, then a city
        for place in (*provinces, *cities):
            for form in (place + "省", place + "市", place):
                if key.startswith(form) and len(key) > len(form) + 1:
                    key = key[len(form) :]
                    break
    for form in LEGAL_FORMS:
        if key.endswith(form) and len(key) > len(form) + 1:
            key = key[: -len(form)]
            break
    return "" if is_generic_name(key) else key


def name_similarity(a: str | None, b: str | None) -> float:
    """0–100: how alike two spoken names are once their legal forms and places are set aside."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 100.0
    score = fuzz.ratio(ka, kb)
    shorter, longer = sorted((ka, kb), key=len)
    if len(shorter) >= 2 and shorter in longer:  # "宏达" named inside "宏达建筑": the same, said shorter
        score = max(score, 90.0 if len(shorter) >= 3 else 86.0)
    return float(score)


def same_name(a: str | None, b: str | None, threshold: float = SAME_NAME_SCORE) -> bool:
    """True when two employer or project names, as callers say them, name the same thing."""
    return name_similarity(a, b) >= threshold
