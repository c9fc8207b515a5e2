"""Recorded prompts: `hotline prompts` lists what the hotline may record and what it has; a call through the Twilio
emulator hears the recording with `<Play>`, fetched from the service byte for byte; the rest can be rendered ahead."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from twilio.twiml.voice_response import VoiceResponse

from emulator import CallerScript, TwilioEmulator
from ivr.flow import load_flow
from ivr.prompt_list import Prompt, RecordedPrompts
from ivr.route_calls import load_route_prompts
from ivr.twiml import say_prompt
from speech.prompt_audio import PromptAudio
from tests.asterisk_pbx import require_tools
from tests.running_service import RunningService, emulator_env

FLOW = load_flow()
GREETING = "menu.intro.1"
WRONG_KEY = "menu.invalid_prompt"


def _record(folder: Path, prompt_id: str, hz: int) -> bytes:
    """A hotline's recording of a prompt (a tone stands in for its voice): `<id>.wav` in the prompts folder."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(4000) / 8000
    with wave.open(str(folder / f"{prompt_id}.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(np.round(8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())
    return (folder / f"{prompt_id}.wav").read_bytes()


def _prompts(service: RunningService, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "prompts", *args],
        capture_output=True,
        text=True,
        env=service.env_for_child(),
        cwd=service.var_dir,
        timeout=300,
    )


def _listed(service: RunningService) -> dict[str, dict[str, Any]]:
    done = _prompts(service, "--json")
    assert done.returncode == 0, done.stderr
    return {row["id"]: row for row in json.loads(done.stdout)["prompts"]}


def test_prompts_lists_the_shipped_prompts_and_which_are_recorded(tmp_path: Path) -> None:
    service = RunningService(tmp_path, {})  # not started: the command reads the same settings
    listed = _listed(service)
    menu = FLOW.step("menu")
    assert listed[GREETING]["text"] == menu.intro[0]
    assert listed["menu.prompt"]["text"] == menu.prompt
    assert listed["describe.prompt"]["text"] == FLOW.step("describe").prompt
    assert listed["route_prompts.goodbye"]["text"] == "感谢您的来电，再见。"
    # Placeholders are recorded in pieces, as the Asterisk edge plays them.
    assert listed["operator.prompt"]["to_record"] == ["operator.prompt.1.wav", "operator.prompt.2.wav"]
    assert {row["status"] for row in listed.values()} == {"未录音"}

    recorded = _record(tmp_path / "prompts", GREETING, 440)  # the default folder: var_dir/prompts
    listed = _listed(service)
    assert listed[GREETING]["status"] == "已录音" and listed[GREETING]["recorded"] is True
    assert [Path(f).read_bytes() for f in listed[GREETING]["files"]] == [recorded]
    assert listed["menu.intro.2"]["status"] == "未录音"

    table = _prompts(service)
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if GREETING in line)
    assert "已录音" in row and "未录音" not in row
    assert "共 " in table.stdout and "已录音 1 条" in table.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, twilio: TwilioEmulator) -> Iterator[RunningService]:
    var = tmp_path_factory.mktemp("var")
    svc = RunningService(
        var,
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
            "HOTLINE_PROMPTS_DIR": str(var / "our-voice"),
        },
    )
    svc.start()
    yield svc
    svc.stop()


def test_a_call_hears_the_recorded_greeting_played_from_the_service(
    twilio: TwilioEmulator, service: RunningService
) -> None:
    folder = service.var_dir / "our-voice"
    greeting = _record(folder, GREETING, 440)
    wrong_key = _record(folder, WRONG_KEY, 660)
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["9"], hang_up_when_done=True),  # no such option, then the caller hangs up
        from_="+8613912345678",
        status_callback=f"{service.url}/twilio/status",
    )
    assert not report.errors
    prompts_url = f"{service.url}/twilio/prompts"
    assert report.heard[0] == f"{prompts_url}/{GREETING}.wav"
    assert "录音" in report.heard[1]  # the recording notice has no recording: said as before
    assert f"{prompts_url}/{WRONG_KEY}.wav" in report.heard  # the menu again, after the wrong key
    assert report.heard.count(FLOW.step("menu").prompt) == 2  # said both times

    for url, recorded in ((report.heard[0], greeting), (f"{prompts_url}/{WRONG_KEY}.wav", wrong_key)):
        served = httpx.get(url, timeout=30)  # as Twilio fetches it: no session, no signature
        assert served.status_code == 200
        assert served.headers["content-type"] == "audio/wav"
        assert served.content == recorded


@pytest.mark.parametrize(
    "name",
    [
        "menu.prompt.wav",  # a prompt, but not recorded
        "no-such-prompt.wav",
        "..%2Fhotline.db.wav",  # never a path from the request
        "..%2F..%2Four-voice%2Fmenu.intro.1.wav",
    ],
)
def test_a_prompt_without_a_recording_is_not_found(service: RunningService, name: str) -> None:
    answer = httpx.get(f"{service.url}/twilio/prompts/{name}", timeout=30)
    assert answer.status_code == 404
    if "%2F" not in name:  # a slash matches no route at all; a name that is no recorded prompt says what to do
        assert answer.json()["code"] == "no_recorded_prompt"
        assert "hotline prompts" in answer.json()["detail"]


def test_render_makes_every_unrecorded_prompt_ahead_of_the_first_call(tmp_path: Path) -> None:
    require_tools("espeak-ng")
    service = RunningService(tmp_path, {})
    _record(tmp_path / "prompts", GREETING, 440)
    done = _prompts(service, "--render", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    cache = Path(out["cache_dir"])
    rendered = set(cache.iterdir())
    assert rendered, "nothing rendered"
    audio = PromptAudio(cache, Path(out["prompts_dir"]))
    for row in out["prompts"]:
        if row["id"] != GREETING and not row["placeholders"]:
            assert audio.prompt(row["id"], row["text"]) in rendered, row["id"]
    assert audio.digits("12351") == [audio.clip(f"digit-{d}", w) for d, w in zip("12351", "幺二三五幺", strict=True)]
    assert set(cache.iterdir()) == rendered  # nothing was left to render at the first call
    assert audio.prompt(GREETING, "…").name.startswith("recorded-")  # the hotline's own voice, not espeak's


def test_a_prompt_with_placeholders_is_said_on_twilio_even_when_its_pieces_are_recorded(tmp_path: Path) -> None:
    routed = load_route_prompts()
    for prompt_id in ("route_prompts.goodbye", "route_prompts.urgent_no_answer.1", "route_prompts.urgent_no_answer.2"):
        _record(tmp_path, prompt_id, 440)
    recorded = RecordedPrompts(tmp_path, "https://hotline.example.org/")
    response = VoiceResponse()
    say_prompt(response, FLOW.voice, Prompt("route_prompts.goodbye", routed["goodbye"]), recorded)
    ticket = Prompt("route_prompts.urgent_no_answer", routed["urgent_no_answer"])
    say_prompt(response, FLOW.voice, ticket, recorded, ticket_digits="幺 二 三")
    doc = ET.fromstring(str(response))
    assert [(verb.tag, verb.text) for verb in doc] == [
        ("Play", "https://hotline.example.org/twilio/prompts/route_prompts.goodbye.wav"),
        ("Say", routed["urgent_no_answer"].format(ticket_digits="幺 二 三")),
    ]
