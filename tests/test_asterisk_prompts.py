"""Prompts as audio for Asterisk: every prompt of the shipped flow renders offline to telephone audio with
something in it; a hotline's own recording wins; ticket numbers come from digit clips, not new renderings."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
import yaml

from speech.audio import is_silent
from speech.prompt_audio import (
    DEFAULT_VOICE,
    PROMPT_RATE,
    PromptAudio,
    chinese_number,
    espeak_pinyin,
    pieces,
    render_all,
)
from tests.asterisk_pbx import require_tools
from tests.conftest import KO_SPEECH, REPO

FLOWS = REPO / "ivr" / "flows"
NOT_PROMPTS = {"phrases", "voice", "language"}  # words a caller says, and Twilio's voice names


@pytest.fixture(autouse=True)
def _renderer() -> None:
    require_tools("espeak-ng", "ffmpeg")


def flow_prompts() -> dict[str, str]:
    """Every text a caller may hear in the shipped flow files, by its place in the file (`default.steps.menu.prompt`)."""
    found: dict[str, str] = {}

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key) not in NOT_PROMPTS:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node, 1):
                walk(value, f"{path}.{index}")
        elif isinstance(node, str) and any("\u4e00" <= char <= "\u9fff" for char in node):
            found[path] = node

    for file in sorted(FLOWS.glob("*.yaml")):
        walk(yaml.safe_load(file.read_text(encoding="utf-8")), file.stem)
    return found


def _audio(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (PROMPT_RATE, 1, 2), path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _sample_value(field: str) -> object:
    if field.endswith("_digits"):
        return "12351-20261207-0042"
    if field in ("position", "minutes", "reply_days"):
        return 3
    return "市总工会法律服务中心"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the module, as the service keeps one between calls."""
    return tmp_path_factory.mktemp("prompt-cache")


def test_every_prompt_of_the_flow_renders_to_telephone_audio(cache: Path) -> None:
    prompts = flow_prompts()
    assert len(prompts) > 40, sorted(prompts)  # the menu, the record step, the routes, the survey...
    assert prompts["route_prompts.queue_position"].startswith("您前面还有")
    audio = PromptAudio(cache)
    render_all(audio, prompts)
    for prompt_id, template in prompts.items():
        values = {piece.field: _sample_value(piece.field) for piece in pieces(template) if piece.field}
        files = audio.say(prompt_id, template, **values)
        assert files, prompt_id
        pcm = np.concatenate([_audio(path) for path in files])
        assert not is_silent(pcm, PROMPT_RATE), f"{prompt_id} rendered silent: {template}"
        assert len(pcm) > PROMPT_RATE * 0.3, f"{prompt_id}: {len(pcm) / PROMPT_RATE:.2f} s for {template}"


def test_prompts_are_spoken_as_mandarin_not_spelled_in_english() -> None:
    """espeak-ng's own `cmn` dictionary reads characters it lacks in English (您 as "nine two"); what we give it
    must come out as Mandarin syllables only, the hotline number digit by digit."""
    assert espeak_pinyin("您好，这里是12351职工服务热线。") == (
        "nin2 hao3 , zhe4 li3 shi4 yao1 er4 san1 wu3 yao1 zhi2 gong1 fu2 wu4 re4 xian4 ."
    )
    assert espeak_pinyin("法律咨询请按1；") == "fa3 lv4 zi1 xun2 qing3 an4 yi1 ;"
    texts = [espeak_pinyin(piece.text) for text in flow_prompts().values() for piece in pieces(text) if not piece.field]
    done = subprocess.run(
        ["espeak-ng", "-v", DEFAULT_VOICE, "-q", "-x", "\n".join(texts)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "(en)" not in done.stdout, done.stdout


def test_ticket_numbers_and_counts_are_spoken_from_clips(cache: Path) -> None:
    audio = PromptAudio(cache)
    render_all(audio, {})
    before = set(cache.iterdir())
    first = audio.digits("12351-20261207-0001")
    second = audio.digits("12351-20261208-0917")
    counted = audio.number(23)
    assert set(cache.iterdir()) == before  # nothing new was rendered for either number
    assert len(first) == 5 + 8 + 4 + 2  # a clip for each digit and a pause at each dash
    assert first[0] == audio.clip("digit-1", "幺") and first[5] == audio.pause()
    assert first[:5] == second[:5] and first[6:12] == second[6:12]
    assert counted == [audio.clip(f"numeral-{char}", char) for char in "二十三"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "零"),
        (2, "两"),
        (10, "十"),
        (13, "十三"),
        (20, "二十"),
        (105, "一百零五"),
        (1010, "一千零一十"),
        (30000, "三万"),
    ],
)
def test_numbers_are_read_as_a_caller_counts(value: int, words: str) -> None:
    assert chinese_number(value) == words


@pytest.mark.shared_data
def test_a_recorded_prompt_wins_over_the_rendering(tmp_path: Path, cache: Path) -> None:
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    clip = KO_SPEECH / "zeroth_104_003_0019.wav"  # a real voice, 16 kHz: converted to 8 kHz for the phone
    shutil.copy(clip, recorded / "default.steps.menu.prompt.wav")
    shutil.copy(clip, recorded / "route_prompts.queue_position.1.wav")
    audio = PromptAudio(cache, recorded)
    prompts = flow_prompts()

    played = audio.prompt("default.steps.menu.prompt", prompts["default.steps.menu.prompt"])
    rendered = audio.text(prompts["default.steps.menu.prompt"])
    heard = _audio(played)
    with wave.open(str(clip), "rb") as original:
        original_s = original.getnframes() / original.getframerate()
    assert abs(len(heard) / PROMPT_RATE - original_s) < 0.05
    assert not np.array_equal(heard, _audio(rendered))
    assert audio.recording_of("default.steps.menu.prompt") == recorded / "default.steps.menu.prompt.wav"
    assert audio.recording_of("default.steps.menu.intro.1") is None

    queue = audio.say("route_prompts.queue_position", prompts["route_prompts.queue_position"], position=3, minutes=5)
    assert np.array_equal(_audio(queue[0]), heard)  # the recorded first piece
    assert queue[1:2] == audio.number(3)
