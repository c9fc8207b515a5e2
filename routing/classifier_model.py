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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from routing.heard import RecogniserNoise, toneless
from routing.normalise import normalise

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

FORMAT = "hotline12351-linear-text/2"
FORMATS = ("hotline12351-linear-text/1", FORMAT)  # /1: no pinyin n-grams, no calibration
NGRAMS = (1, 2, 3)
MIN_DF = 2
SEED = 12351
SHIPPED_MODEL = "classifier.json.gz"
SHIPPED_TRAINING = "training.tsv"
# The shipped training settings (bench/RESULTS.md says why each).
SUBJECT_HEAD = "svm"
SVM_C = 0.3
PINYIN_NGRAMS = (2,)
HEARD_COPIES = (0.2,)
KIND_BALANCED = True
# The kind head learns as if this share of callers were in a dispute (help): most calls to the hotline are
# questions (DOMAIN.md: 2,065 tickets from 23,933 calls, 11,000 from 63,000), while the own examples are 59 % help;
# 0.4, not the tickets' 10-20 %, because a dispute misread as a question loses its ticket. Overrides KIND_BALANCED.
KIND_PRIOR = {"consult": 0.6, "help": 0.4}
URGENT_C = 4.0
NO_LABEL = "none"  # the 1155 head's class for no flag
URGENT_MIN_EXAMPLES = 20  # fewer flagged examples than this: no 1155 head
_SEGMENT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")


def grams(
    text: str, cues: dict[str, list[str]] | None = None, pinyin: tuple[int, ...] = ()
) -> list[tuple[str, int, int]]:
    """(feature, start, length) of the normalised text: character n-grams within runs of word characters (digits
    all read as 0), `pinyin` n-grams of their toneless syllables (`~gong di`: the same feature for 工地 and a
    homophone the recogniser wrote instead), plus one `§name` feature for each occurrence of a cue word (a group of
    words that mean one thing, e.g. a counterpart refusing: 不给, 拖欠, 不管), and one `§a&b` feature for a
    combination cue (a cue named "a&b" with no words) where groups a and b both occur."""
    out = []
    for seg in _SEGMENT.finditer(text):
        chars = re.sub(r"\d", "0", seg.group().lower())
        base = seg.start()
        for n in NGRAMS:
            for i in range(len(chars) - n + 1):
                out.append((chars[i : i + n], base + i, n))
        if pinyin:
            sounds = [(toneless(ch) or (ch,))[0] for ch in chars]
            for n in pinyin:
                for i in range(len(sounds) - n + 1):
                    out.append(("~" + " ".join(sounds[i : i + n]), base + i, n))
    first: dict[str, tuple[int, int]] = {}
    if cues:
        by_first = _cue_index(cues)
        taken: dict[str, int] = {}  # a word counts again only after its previous occurrence ends
        for start, ch in enumerate(text):
            for word, names in by_first.get(ch, ()):
                if text.startswith(word, start) and start >= taken.get(word, 0):
                    taken[word] = start + len(word)
                    for name in names:
                        out.append((f"§{name}", start, len(word)))
                        first.setdefault(name, (start, len(word)))
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


_CUE_INDEXES: dict[int, tuple[dict[str, list[str]], dict[str, list[tuple[str, list[str]]]]]] = {}


def _cue_index(cues: dict[str, list[str]]) -> dict[str, list[tuple[str, list[str]]]]:
    """The cue words by their first character, each with the cue groups it belongs to (built once per cues)."""
    cached = _CUE_INDEXES.get(id(cues))
    if cached is None or cached[0] is not cues:
        groups: dict[str, list[str]] = {}
        for name, words in cues.items():
            for word in words:
                if word:
                    groups.setdefault(word, []).append(name)
        index: dict[str, list[tuple[str, list[str]]]] = {}
        for word, names in groups.items():
            index.setdefault(word[0], []).append((word, names))
        cached = _CUE_INDEXES[id(cues)] = (cues, index)
    return cached[1]


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
    coef: np.ndarray  # classes x features (a single row for two classes: the second class's log-odds)
    intercept: np.ndarray
    # Per class (a, b) of a sigmoid over its score: p = 1 / (1 + exp(a·score + b)), then normalised over the
    # classes (a linear SVM's calibration, folded into plain numbers). None: the scores are log-odds (softmax).
    calibration: np.ndarray | None = None


class LinearTextModel:
    """Vocabulary, idf and heads; `predict` one text, `save`/`load` as gzipped JSON."""

    def __init__(
        self,
        vocabulary: list[str],
        idf: np.ndarray,
        heads: dict[str, Head],
        source: dict[str, Any],  # where the model came from (training file, its checksum, settings): free-form JSON
        cues: dict[str, list[str]] | None = None,
        pinyin: tuple[int, ...] = (),
    ):
        self.cues = cues or {}
        self.pinyin = tuple(pinyin)
        self.vocabulary = vocabulary
        self.index = {g: i for i, g in enumerate(vocabulary)}
        self.idf = idf
        self.heads = heads
        self.source = source

    # --- applying -----------------------------------------------------------------------------------------

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """Feature indices, their TF-IDF weights (l2-normalised), and (feature, start, length) occurrences."""
        get = self.index.get
        occurrences = [
            (i, start, n) for g, start, n in grams(text, self.cues, self.pinyin) if (i := get(g)) is not None
        ]
        counts = Counter(i for i, _, _ in occurrences)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0), []
        idx = np.array(sorted(counts), dtype=np.int64)  # sorted: _spans finds an occurrence's place by bisection
        tf = np.array([counts[i] for i in idx.tolist()], dtype=np.float64)
        x = (1.0 + np.log(tf)) * self.idf[idx]
        x /= np.linalg.norm(x)
        return idx, x, occurrences

    def predict(
        self, text: str, head: str, *, bias: dict[str, float] | None = None, max_evidence: int = 3
    ) -> Prediction:
        """The head's answer for the text (normalised here); `bias` adds log-odds to named labels."""
        text = normalise(text)
        idx, x, occurrences = self.features(text)
        return self._predict(text, head, idx, x, occurrences, bias or {}, max_evidence)

    def predict_all(
        self,
        text: str,
        *,
        bias: dict[str, dict[str, float]] | None = None,
        max_evidence: int = 3,
        explain: Collection[str] | None = None,
    ) -> dict[str, Prediction]:
        """Every head's answer, computing the features once; the words for each head in `explain` (default all)."""
        text = normalise(text)
        idx, x, occurrences = self.features(text)
        bias = bias or {}
        return {
            name: self._predict(text, name, idx, x, occurrences, bias.get(name, {}), max_evidence, explain)
            for name in self.heads
        }

    def _predict(
        self,
        text: str,
        name: str,
        idx: np.ndarray,
        x: np.ndarray,
        occurrences: list[tuple[int, int, int]],
        bias: dict[str, float],
        max_evidence: int,
        explain: Collection[str] | None = None,
    ) -> Prediction:
        head = self.heads[name]
        w = head.coef[:, idx]  # classes x present features
        scores = w @ x + head.intercept
        if len(head.classes) == 2:  # binary: one row of log-odds for the second class
            scores = np.array([0.0, scores[0]])
            w = np.vstack([np.zeros_like(w[0]), w[0]]) - w[0] / 2
        if head.calibration is not None:  # calibrated margins as log-odds, so a bias shifts them alike
            probs = 1.0 / (1.0 + np.exp(np.clip(head.calibration[:, 0] * scores + head.calibration[:, 1], -30, 30)))
            scores = np.log(np.clip(probs / probs.sum(), 1e-12, None))
        for label, shift in bias.items():
            if label in head.classes:
                scores[head.classes.index(label)] += shift
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        # A "none" class (the 1155 head's no flag) has no words of its own: show those for the likeliest other one.
        shown = (
            best
            if head.classes[best] != NO_LABEL
            else int(np.argmax(np.where(np.array(head.classes) == NO_LABEL, -np.inf, probs)))
        )
        evidence: tuple[str, ...] = ()
        if explain is None or name in explain:
            contribution = (w[shown] - w.mean(axis=0)) * x if len(x) else x
            evidence = _spans(text, idx, contribution, occurrences, max_evidence)
        return Prediction(
            head.classes[best],
            float(probs[best]),
            {c: float(p) for c, p in zip(head.classes, probs, strict=False)},
            evidence,
        )

    # --- storing ------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON (what `save` writes)."""
        return {
            "format": FORMAT,
            "ngrams": list(NGRAMS),
            "pinyin_ngrams": list(self.pinyin),
            "source": self.source,
            "cues": self.cues,
            "vocabulary": self.vocabulary,
            "idf": [round(float(v), 5) for v in self.idf],
            "heads": {
                name: {
                    "classes": h.classes,
                    "coef": [[round(float(v), 4) for v in row] for row in h.coef],
                    "intercept": [round(float(v), 5) for v in h.intercept],
                    **(
                        {"calibration": [[round(float(v), 5) for v in ab] for ab in h.calibration]}
                        if h.calibration is not None
                        else {}
                    ),
                }
                for name, h in self.heads.items()
            },
        }

    def save(self, path: Path) -> None:
        """Gzipped JSON, byte-identical for the same training file (no timestamp in the gzip header)."""
        data = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9, filename="") as out,
        ):
            out.write(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearTextModel:
        """A model from its JSON; refuses another format."""
        if data.get("format") not in FORMATS:
            raise ValueError(f"not a classifier model of format {FORMAT}: {data.get('format')!r}")
        heads = {
            name: Head(
                h["classes"],
                np.array(h["coef"], dtype=np.float64),
                np.array(h["intercept"], dtype=np.float64),
                np.array(h["calibration"], dtype=np.float64) if h.get("calibration") else None,
            )
            for name, h in data["heads"].items()
        }
        return cls(
            data["vocabulary"],
            np.array(data["idf"], dtype=np.float64),
            heads,
            data.get("source", {}),
            data.get("cues", {}),
            tuple(data.get("pinyin_ngrams", ())),
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))


def _spans(
    text: str, idx: np.ndarray, contribution: np.ndarray, occurrences: list[tuple[int, int, int]], limit: int
) -> tuple[str, ...]:
    """The runs of characters whose n-grams pushed the decision most, strongest first (`contribution` per feature
    of the sorted `idx`)."""
    if not len(idx) or limit <= 0 or not occurrences:
        return ()
    feature, start, length = (np.array(column, dtype=np.int64) for column in zip(*occurrences, strict=True))
    share = contribution[np.searchsorted(idx, feature)] / length
    keep = share > 0
    start, length, share = start[keep], length[keep], share[keep]
    per_char = np.zeros(len(text) + 1)
    for k in range(int(length.max()) if len(length) else 0):  # each character an occurrence covers gets its share
        inside = length > k
        np.add.at(per_char, start[inside] + k, share[inside])
    per_char = per_char[: len(text)]
    if not per_char.any():
        return ()
    floor = 0.2 * per_char.max()
    runs: list[tuple[float, int, int]] = []
    run_start: int | None = None
    for i, v in enumerate([*per_char.tolist(), 0.0]):
        if v > floor and run_start is None:
            run_start = i
        elif v <= floor and run_start is not None:
            if i - run_start >= 2 or per_char[run_start] > 0.6 * per_char.max():
                runs.append((float(per_char[run_start:i].sum()), run_start, i))
            run_start = None
    runs.sort(key=lambda r: -r[0])
    return tuple(text[s:e] for _, s, e in runs[:limit])


# --- training ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One labelled text: what was said, its subject and its kind (consult / help); where known, the 1155 flags it
    has (`flags`: codes, empty for none; None when the row does not say, e.g. a ticket's correction)."""

    text: str
    subject: str
    kind: str
    flags: tuple[str, ...] | None = None


def read_examples(path: Path) -> list[Example]:
    """Labelled rows of a TSV with a header holding `text`, `subject` and `kind` (other columns ignored)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(
            (line for line in fh if not line.startswith("#")), delimiter="\t", quoting=csv.QUOTE_NONE
        )
        missing = {"text", "subject", "kind"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [
            Example(row["text"].strip(), row["subject"].strip(), row["kind"].strip(), _flags(row))
            for row in reader
            if row.get("text", "").strip()
        ]


def _flags(row: dict[str, str]) -> tuple[str, ...] | None:
    """The row's 1155 flags: its `flags` column; else none when `urgent` is 0; else unknown (urgent, no flag said)."""
    if (row.get("flags") or "").strip():
        return tuple(f.strip() for f in row["flags"].split(",") if f.strip())
    if (row.get("urgent") or "").strip() == "0":
        return ()
    return None


def _asr_style(text: str) -> str:
    """What the recogniser makes of the same words: no punctuation at all."""
    return "".join(_SEGMENT.findall(normalise(text)))


def train(
    examples: Sequence[Example],
    *,
    source: dict[str, Any] | None = None,
    cues: dict[str, list[str]] | None = None,
    c: float = 4.0,
    kind_c: float = 8.0,
    subject_head: str = SUBJECT_HEAD,
    svm_c: float = SVM_C,
    pinyin: tuple[int, ...] = PINYIN_NGRAMS,
    heard: tuple[float, ...] = HEARD_COPIES,
    kind_balanced: bool = KIND_BALANCED,
    urgent_head: bool = True,
    urgent_c: float = URGENT_C,
    example_weights: Sequence[float] | None = None,
    kind_prior: dict[str, float] | None = KIND_PRIOR,
) -> LinearTextModel:
    """Fit the vocabulary, idf and both heads on the examples (and their unpunctuated and heard forms);
    deterministic.

    Each example is learned as typed, without punctuation, and once per rate in `heard` as the recogniser-noise
    model hears it (routing/heard.py, homophones from the examples' own characters): what the phone hears. The
    subject head is a class-balanced linear SVM (`subject_head="svm"`, C `svm_c`) whose margins are calibrated
    into probabilities by a sigmoid per class, fitted on held-out folds of whole examples; or logistic regression
    (`"lr"`, C `c`). `kind_c` is weaker regularisation than the subject's: consult-or-help turns on a few words
    (a refusal, a question) in otherwise long texts, which a strongly shrunk head underweights; it learns as if
    `kind_prior` were the share of each kind among callers (None: `kind_balanced`). `example_weights`, one per
    example, weigh the subject and kind heads' examples (e.g. by source), not the 1155 head's. Each choice was
    measured (bench/RESULTS.md)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    noises = [RecogniserNoise(rate, SEED + i, (ex.text for ex in examples)) for i, rate in enumerate(heard)]
    texts, subjects, kinds, groups, said, urgency = [], [], [], [], [], []
    per_example = list(example_weights) if example_weights is not None else [1.0] * len(examples)
    for number, ex in enumerate(examples):
        clean = normalise(ex.text)
        forms = dict.fromkeys((clean, _asr_style(ex.text)))
        for variant in [*forms, *(h for h in (n.hear(clean) for n in noises) if h not in forms)]:
            texts.append(variant)
            subjects.append(ex.subject)
            kinds.append(ex.kind)
            groups.append(number)
            said.append(variant in forms)
            urgency.append(None if ex.flags is None else next(iter(ex.flags), NO_LABEL))
    bags = [Counter(g for g, _, _ in grams(t, cues, pinyin)) for t in texts]
    # The vocabulary is what the examples say; their heard forms only teach the weights (a misheard character's
    # n-grams are noise, its toneless pinyin is not).
    df = Counter(g for bag, typed in zip(bags, said, strict=True) if typed for g in bag)
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
    sample_weight = np.array([per_example[g] for g in groups], dtype=np.float64)
    heads = {}
    # One BLAS thread: the same sums in the same order on every machine (and no thread contention on small data).
    with threadpool_limits(limits=1):
        if subject_head == "svm" and len(set(subjects)) > 2:
            try:
                heads["subject"] = _calibrated_svm(matrix, subjects, groups, svm_c, sample_weight)
            except ValueError:  # too few examples of a subject to calibrate on held-out folds: the plain head
                pass
        for name, labels in (("subject", subjects), ("kind", kinds)):
            if name in heads:
                continue
            weight: str | dict[str, float] | None = "balanced" if name == "kind" and kind_balanced else None
            if name == "kind" and kind_prior:  # balanced, then each kind's share of the hotline's callers
                weight = {k: kind_prior.get(k, 0.5) * len(labels) / n for k, n in Counter(labels).items()}
            model = LogisticRegression(
                C=c if name == "subject" else kind_c, max_iter=1000, random_state=SEED, class_weight=weight
            )
            model.fit(matrix, labels, sample_weight=sample_weight)
            heads[name] = Head([str(x) for x in model.classes_], model.coef_.copy(), model.intercept_.copy())
        # The 1155 head: which flag (the row's first) or none, learned where the rows say; it only ever adds a
        # flag or a doubt above a high probability (routing/classify.py), the rules stay first.
        known = [i for i, u in enumerate(urgency) if u is not None]
        if urgent_head and sum(urgency[i] != NO_LABEL for i in known) >= URGENT_MIN_EXAMPLES:
            model = LogisticRegression(C=urgent_c, max_iter=1000, random_state=SEED)
            model.fit(matrix[known], [urgency[i] for i in known])
            heads["urgent"] = Head([str(x) for x in model.classes_], model.coef_.copy(), model.intercept_.copy())
    return LinearTextModel(vocabulary, idf, heads, source or {}, cues, pinyin)


def _calibrated_svm(
    matrix: csr_matrix, labels: list[str], groups: list[int], c: float, sample_weight: np.ndarray
) -> Head:
    """A class-balanced linear SVM, its margins calibrated per class (sigmoid) on held-out folds of whole examples
    (an example's typed, unpunctuated and heard forms stay in one fold), folded into one linear head."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.svm import LinearSVC

    per_subject = Counter(labels[i] for i in {g: i for i, g in enumerate(groups)}.values())
    folds = min(5, *per_subject.values())
    if folds < 2:
        raise ValueError("a subject with one example cannot be calibrated")
    splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED).split(matrix, labels, groups))
    svm = LinearSVC(C=c, class_weight="balanced", random_state=SEED, max_iter=5000)
    model = CalibratedClassifierCV(svm, method="sigmoid", cv=splits, ensemble=False)
    model.fit(matrix, labels, sample_weight=sample_weight)
    fitted = model.calibrated_classifiers_[0]
    calibration = np.array([[cal.a_, cal.b_] for cal in fitted.calibrators], dtype=np.float64)
    return Head(
        [str(x) for x in model.classes_], fitted.estimator.coef_.copy(), fitted.estimator.intercept_.copy(), calibration
    )


def train_file(path: Path, cues: dict[str, list[str]] | None = None) -> LinearTextModel:
    """Train on a labelled TSV; the model remembers which file (name, rows, sha256) it came from."""
    examples = read_examples(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return train(examples, source={"file": path.name, "rows": len(examples), "sha256": digest}, cues=cues)


def train_files(paths: Sequence[Path], cues: dict[str, list[str]] | None = None) -> LinearTextModel:
    """Train on several labelled TSVs as one (the shipped model: every routing/data/training*.tsv); the model
    remembers each file (name, rows, sha256)."""
    examples, files = [], []
    for path in paths:
        rows = read_examples(path)
        examples += rows
        files.append({"file": path.name, "rows": len(rows), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return train(examples, source={"files": files, "rows": len(examples)}, cues=cues)


def shipped_model_path() -> Path:
    return Path(str(resources.files("routing.data").joinpath(SHIPPED_MODEL)))


def shipped_training_path() -> Path:
    return Path(str(resources.files("routing.data").joinpath(SHIPPED_TRAINING)))


def shipped_training_paths() -> list[Path]:
    """Every file of the project's own examples: routing/data/training*.tsv (the shipped model learns from all)."""
    return sorted(shipped_training_path().parent.glob("training*.tsv"))
