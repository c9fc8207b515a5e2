"""The learned part of understanding a caller: character n-grams, TF-IDF, one linear head per decision.

Trained with scikit-learn (logistic regression, fixed seed), stored as plain gzipped JSON (vocabulary, idf,
weights), and applied with numpy alone: deterministic, CPU only, well under a millisecond per text. Every
prediction carries the spans of the caller's words that pushed it most (evidence for staff).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from routing.normalise import normalise

FORMAT = "hotline12351-linear-text/1"
NGRAMS = (1, 2, 3)
MIN_DF = 2
SEED = 12351
SHIPPED_MODEL = "classifier.json.gz"
SHIPPED_TRAINING = "training.tsv"
_SEGMENT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")


def grams(text: str, cues: dict[str, list[str]] | None = None) -> list[tuple[str, int, int]]:
    """(feature, start, length) of the normalised text: character n-grams within runs of word characters (digits
    all read as 0), plus one `§name` feature for each occurrence of a cue word (a group of words that mean
    one thing, e.g. a counterpart refusing: 不给, 拖欠, 不管), and one `§a&b` feature for a combination cue (a
    cue named "a&b" with no words) where groups a and b both occur."""
    out = []
    for seg in _SEGMENT.finditer(text):
        chars = re.sub(r"\d", "0", seg.group().lower())
        base = seg.start()
        for n in NGRAMS:
            for i in range(len(chars) - n + 1):
                out.append((chars[i:i + n], base + i, n))
    first: dict[str, tuple[int, int]] = {}
    for name, words in (cues or {}).items():
        for word in words:
            start = text.find(word)
            while start >= 0:
                out.append((f"§{name}", start, len(word)))
                first.setdefault(name, (start, len(word)))
                start = text.find(word, start + len(word))
    # A cue named "a&b" with no words of its own fires where both groups a and b occur in the text (e.g. the
    # other side refusing *and* a question: "老板不给钱我能告他吗" is still a dispute to act on).
    for name, words in (cues or {}).items():
        if words or "&" not in name:
            continue
        parts = name.split("&")
        if all(p in first for p in parts):
            start, length = first[parts[0]]
            out.append((f"§{name}", start, length))
    return out


@dataclass(frozen=True)
class Prediction:
    """One head's answer: the label, its probability, every label's probability, and the words for it."""

    label: str
    probability: float
    probabilities: dict[str, float]
    evidence: tuple[str, ...]


@dataclass
class Head:
    """A linear decision over the shared features."""

    classes: list[str]
    coef: np.ndarray       # classes x features (a single row for two classes: the second class's log-odds)
    intercept: np.ndarray


class LinearTextModel:
    """Vocabulary, idf and heads; `predict` one text, `save`/`load` as gzipped JSON."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray, heads: dict[str, Head], source: dict,
                 cues: dict[str, list[str]] | None = None):
        self.cues = cues or {}
        self.vocabulary = vocabulary
        self.index = {g: i for i, g in enumerate(vocabulary)}
        self.idf = idf
        self.heads = heads
        self.source = source

    # --- applying -----------------------------------------------------------------------------------------

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """Feature indices, their TF-IDF weights (l2-normalised), and (feature, start, length) occurrences."""
        occurrences = [(self.index[g], start, n) for g, start, n in grams(text, self.cues) if g in self.index]
        counts = Counter(i for i, _, _ in occurrences)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0), []
        idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        x = (1.0 + np.log(tf)) * self.idf[idx]
        x /= np.linalg.norm(x)
        return idx, x, occurrences

    def predict(self, text: str, head: str, *, bias: dict[str, float] | None = None,
                max_evidence: int = 3) -> Prediction:
        """The head's answer for the text (normalised here); `bias` adds log-odds to named labels."""
        text = normalise(text)
        idx, x, occurrences = self.features(text)
        return self._predict(text, head, idx, x, occurrences, bias or {}, max_evidence)

    def predict_all(self, text: str, *, bias: dict[str, dict[str, float]] | None = None,
                    max_evidence: int = 3) -> dict[str, Prediction]:
        """Every head's answer, computing the features once."""
        text = normalise(text)
        idx, x, occurrences = self.features(text)
        bias = bias or {}
        return {name: self._predict(text, name, idx, x, occurrences, bias.get(name, {}), max_evidence)
                for name in self.heads}

    def _predict(self, text: str, name: str, idx: np.ndarray, x: np.ndarray,
                 occurrences: list[tuple[int, int, int]], bias: dict[str, float], max_evidence: int) -> Prediction:
        head = self.heads[name]
        w = head.coef[:, idx]  # classes x present features
        scores = w @ x + head.intercept
        if len(head.classes) == 2:  # binary: one row of log-odds for the second class
            scores = np.array([0.0, scores[0]])
            w = np.vstack([np.zeros_like(w[0]), w[0]]) - w[0] / 2
        for label, shift in bias.items():
            if label in head.classes:
                scores[head.classes.index(label)] += shift
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        contribution = (w[best] - w.mean(axis=0)) * x if len(x) else x
        evidence = _spans(text, dict(zip(idx.tolist(), contribution.tolist(), strict=False)), occurrences, max_evidence)
        return Prediction(head.classes[best], float(probs[best]),
                          {c: float(p) for c, p in zip(head.classes, probs, strict=False)}, evidence)

    # --- storing ------------------------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "ngrams": list(NGRAMS),
            "source": self.source,
            "cues": self.cues,
            "vocabulary": self.vocabulary,
            "idf": [round(float(v), 5) for v in self.idf],
            "heads": {name: {"classes": h.classes,
                             "coef": [[round(float(v), 4) for v in row] for row in h.coef],
                             "intercept": [round(float(v), 5) for v in h.intercept]}
                      for name, h in self.heads.items()},
        }

    def save(self, path: Path) -> None:
        """Gzipped JSON, byte-identical for the same training file (no timestamp in the gzip header)."""
        data = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9,
                                                    filename="") as out:
            out.write(data)

    @classmethod
    def from_json(cls, data: dict) -> LinearTextModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a classifier model of format {FORMAT}: {data.get('format')!r}")
        heads = {name: Head(h["classes"], np.array(h["coef"], dtype=np.float64),
                            np.array(h["intercept"], dtype=np.float64)) for name, h in data["heads"].items()}
        return cls(data["vocabulary"], np.array(data["idf"], dtype=np.float64), heads, data.get("source", {}),
                   data.get("cues", {}))

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))


def _spans(text: str, contribution: dict[int, float], occurrences: list[tuple[int, int, int]],
           limit: int) -> tuple[str, ...]:
    """The runs of characters whose n-grams pushed the decision most, strongest first."""
    if not contribution or limit <= 0:
        return ()
    per_char = np.zeros(len(text))
    for feature, start, length in occurrences:
        c = contribution.get(feature, 0.0)
        if c > 0:
            per_char[start:start + length] += c / length
    if not per_char.any():
        return ()
    floor = 0.2 * per_char.max()
    runs, start = [], None
    for i, v in enumerate([*per_char.tolist(), 0.0]):
        if v > floor and start is None:
            start = i
        elif v <= floor and start is not None:
            if i - start >= 2 or per_char[start] > 0.6 * per_char.max():
                runs.append((float(per_char[start:i].sum()), start, i))
            start = None
    runs.sort(key=lambda r: -r[0])
    return tuple(text[s:e] for _, s, e in runs[:limit])


# --- training ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    """One labelled text: what was said, its subject and its kind (consult / help)."""

    text: str
    subject: str
    kind: str


def read_examples(path: Path) -> list[Example]:
    """Labelled rows of a TSV with a header holding `text`, `subject` and `kind` (other columns ignored)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t",
                                quoting=csv.QUOTE_NONE)
        missing = {"text", "subject", "kind"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [Example(row["text"].strip(), row["subject"].strip(), row["kind"].strip())
                for row in reader if row.get("text", "").strip()]


def _asr_style(text: str) -> str:
    """What the recogniser makes of the same words: no punctuation at all."""
    return "".join(_SEGMENT.findall(normalise(text)))


def train(examples: Sequence[Example], *, source: dict | None = None, cues: dict[str, list[str]] | None = None,
          c: float = 4.0, kind_c: float = 8.0) -> LinearTextModel:
    """Fit the vocabulary, idf and both heads on the examples (and their unpunctuated forms); deterministic.

    `kind_c` is weaker regularisation than the subject's: consult-or-help turns on a few words (a refusal, a
    question) in otherwise long texts, which a strongly shrunk head underweights. Measured (bench/RESULTS.md):
    raising it from 1.0 to 8.0 raised kind accuracy on cross-validation, dev and weak.tsv alike; 4-32 is a plateau."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    texts, subjects, kinds = [], [], []
    for ex in examples:
        for variant in dict.fromkeys((normalise(ex.text), _asr_style(ex.text))):
            texts.append(variant)
            subjects.append(ex.subject)
            kinds.append(ex.kind)
    bags = [Counter(g for g, _, _ in grams(t, cues)) for t in texts]
    df = Counter(g for bag in bags for g in bag)
    vocabulary = sorted(g for g, n in df.items() if n >= MIN_DF)
    index = {g: i for i, g in enumerate(vocabulary)}
    n_docs = len(texts)
    idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in vocabulary])
    rows, cols, vals = [], [], []
    for r, bag in enumerate(bags):
        items = [(index[g], n) for g, n in bag.items() if g in index]
        if not items:
            continue
        weights = np.array([(1.0 + math.log(n)) * idf[i] for i, n in items])
        weights /= np.linalg.norm(weights)
        for (i, _), v in zip(items, weights, strict=False):
            rows.append(r)
            cols.append(i)
            vals.append(v)
    matrix = csr_matrix((vals, (rows, cols)), shape=(n_docs, len(vocabulary)))
    heads = {}
    # One BLAS thread: the same sums in the same order on every machine (and no thread contention on small data).
    with threadpool_limits(limits=1):
        for name, labels in (("subject", subjects), ("kind", kinds)):
            model = LogisticRegression(C=c if name == "subject" else kind_c, max_iter=1000, random_state=SEED)
            model.fit(matrix, labels)
            heads[name] = Head([str(x) for x in model.classes_], model.coef_.copy(), model.intercept_.copy())
    return LinearTextModel(vocabulary, idf, heads, source or {}, cues)


def train_file(path: Path, cues: dict[str, list[str]] | None = None) -> LinearTextModel:
    """Train on a labelled TSV; the model remembers which file (name, rows, sha256) it came from."""
    examples = read_examples(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return train(examples, source={"file": path.name, "rows": len(examples), "sha256": digest}, cues=cues)


def shipped_model_path() -> Path:
    return Path(str(resources.files("routing.data").joinpath(SHIPPED_MODEL)))


def shipped_training_path() -> Path:
    return Path(str(resources.files("routing.data").joinpath(SHIPPED_TRAINING)))

