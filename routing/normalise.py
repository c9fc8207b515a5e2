"""One form for caller text, typed or recognised: half-width, no spaces between Chinese words, one kind of dash."""

from __future__ import annotations

import re
import unicodedata

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_NEAR_HAN = re.compile(f"(?<=[{_HAN}])\\s+|\\s+(?=[{_HAN}])")
_SPACES = re.compile(r"\s+")
_FILLERS = re.compile("(?:嗯+|呃+|啊+(?=[，,。 ]|$)|那个那个)")


def normalise(text: str) -> str:
    """Vosk output ("老板 欠 我们 六十 多万") and typed text ("老板欠我们６０多万！") end up alike."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_NEAR_HAN.sub("", text)
    return _FILLERS.sub("", text)


def is_chinese(text: str) -> bool:
    """Whether the text holds any Chinese characters at all (a Korean or empty transcript does not)."""
    return re.search(f"[{_HAN}]", text or "") is not None
