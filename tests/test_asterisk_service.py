"""`hotline serve` with HOTLINE_CARRIER=asterisk, as a real process: it connects to the test PBX's ARI, takes a real SIP
call into the hotline number through the flow, and staff see the call and its ticket through the API."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asterisk.ari import AriClient, EventStream, PlaybackFinished, StasisStart
from tests.asterisk_pbx import (
    HOTLINE_APP,
    PHONES_APP,
    AsteriskPBX,
    caller_clip,
    free_port,
    pbx_fixture,
    require_tools,
)
from tests.running_service import RunningService

asterisk_pbx = pbx_fixture()
WAIT_S = 60  # generous: the machine may be loaded; every wait ends as soon as the thing happens
CALLER = "13800138000"


def _until(what: str, check: Callable[[], Any], timeout_s: float = WAIT_S, log: Callable[[], str] = str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not in {timeout_s} s\n{log()[-4000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def service(asterisk_pbx: AsteriskPBX, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """`hotline serve` on Asterisk; the prompt audio it renders goes where the PBX can read it."""
    require_tools("espeak-ng")
    media = asterisk_pbx.media_dir / f"service-{secrets.token_hex(3)}"
    running = RunningService(
        tmp_path_factory.mktemp("var"),
        {
            "HOTLINE_CARRIER": "asterisk",
            "HOTLINE_ARI_URL": asterisk_pbx.ari_url,
            "HOTLINE_ARI_USER": asterisk_pbx.ari_user,
            "HOTLINE_ARI_PASSWORD": asterisk_pbx.ari_password,
            "HOTLINE_ARI_MEDIA_DIR": str(media),
            "HOTLINE_ARI_MEDIA_DIR_ON_PBX": asterisk_pbx.pbx_path(media),
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
            "HOTLINE_QA_SCAN_SECONDS": "3600",
        },
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def phones(asterisk_pbx: AsteriskPBX) -> Iterator[tuple[AriClient, EventStream]]:
    client = AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, asterisk_pbx.ari_password, PHONES_APP)
    with client, client.events() as events:
        yield client, events


def _health(service: RunningService) -> dict:
    return httpx.get(service.url + "/health", timeout=5).json()


def _hotline_leg(pbx: AsteriskPBX) -> str | None:
    """The hotline's side of the one call in its application (its call sid), once it is there."""
    with pbx.ari() as ari:
        ids = ari.get(f"/applications/{HOTLINE_APP}").json()["channel_ids"]
    callers = [channel for channel in ids if not channel.endswith("-snoop")]
    return callers[0] if callers else None


@pytest.mark.shared_data
def test_the_service_takes_a_call_on_asterisk_and_staff_see_its_ticket(
    service: RunningService, asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream]
) -> None:
    health = _until(
        "ARI connected",
        lambda: _health(service).get("carrier", {}).get("ari_connected") and _health(service),
        log=service.log,
    )
    assert health["carrier"]["carrier"] == "asterisk" and health["carrier"]["error"] is None

    phone, phone_events = phones
    clip_uri, _clip = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    phone_id = "caller-" + secrets.token_hex(4)
    phone.originate("PJSIP/caller", channel_id=phone_id, caller_id=CALLER)
    phone_events.wait_for(lambda e: isinstance(e, StasisStart) and e.channel.id == phone_id, WAIT_S)  # answered
    call_sid = _until("the call in the hotline's application", lambda: _hotline_leg(asterisk_pbx))

    phone.send_dtmf(phone_id, "1")  # legal advice, while the greeting plays
    with asterisk_pbx.ari() as ari:  # the service records the caller's problem after the beep
        _until("the problem recording", lambda: ari.get(f"/recordings/live/{call_sid}-describe").status_code == 200)
    playback = f"{phone_id}-says"
    phone.play(phone_id, clip_uri, playback_id=playback)
    phone_events.wait_for(lambda e: isinstance(e, PlaybackFinished) and e.playback_id == playback, WAIT_S)
    phone.hangup(phone_id)  # gone without pressing #: what was said is kept, the ticket made

    view = _until(
        "the call ended with a ticket",
        lambda: (v := service.api.get(f"/api/calls/{call_sid}").json()).get("ticket") and v.get("ended_at") and v,
    )
    assert view["from"].endswith(CALLER[-4:]) and view["menu_choice"] == "legal"
    kinds = [event["kind"] for event in view["events"]]
    assert kinds[:2] == ["answered", "call_recording_started"] and "problem_recorded" in kinds
    assert view["ticket"]["menu_choice"] == "legal"
    problem = f"{call_sid}-describe"  # the caller's words, stored with their checksum: staff can listen
    _until(
        "the problem recording stored",
        lambda: any(
            e["kind"] == "recording_stored" and e["detail"].get("recording_sid") == problem
            for e in service.api.get(f"/api/calls/{call_sid}").json()["events"]
        ),
    )
    audio = service.api.get(f"/api/recordings/{problem}/audio")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF" and len(audio.content) > 8000 * 2 * 2


def test_the_service_stops_cleanly_and_says_when_asterisk_is_not_there(tmp_path: Path) -> None:
    nowhere = RunningService(
        tmp_path,
        {
            "HOTLINE_CARRIER": "asterisk",
            "HOTLINE_ARI_URL": f"http://127.0.0.1:{free_port()}/ari",
            "HOTLINE_ARI_PASSWORD": "x",
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
        },
    )
    with nowhere:  # the web service starts all the same (staff work on): /health says calls cannot reach it
        carrier = _until("the connection error", lambda: _health(nowhere)["carrier"]["error"] and _health(nowhere))
        assert carrier["carrier"]["ari_connected"] is False
        assert "does not answer" in carrier["carrier"]["error"]
    assert "Application shutdown complete" in nowhere.log() and "Traceback" not in nowhere.log(), nowhere.log()
