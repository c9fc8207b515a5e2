"""One call end to end on the real Asterisk: a SIP call into the hotline number is answered by our edge, the
caller hears the greeting (real RTP, rendered prompts), presses 2 (RFC 4733), says a real clip after the beep and
presses #; the edge fetches the recording from Asterisk and stores it with its checksum."""

from __future__ import annotations

import csv
import io
import queue
import secrets
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np
import pytest
import yaml

from asterisk.ari import AriClient, ChannelDestroyed, EventStream, PlaybackFinished, RecordingFinished, StasisStart
from asterisk.channel import PbxMedia
from asterisk.edge import AsteriskEdge
from asterisk.first_steps import CallOutcome, MenuAndRecord
from ivr.flow import Flow, load_flow, parse_flow
from recordings.store import verify_recording
from speech.audio import is_silent, write_wav
from speech.evaluation import edit_distance, scoring_chars
from speech.prompt_audio import PromptAudio
from speech.telephone import downsample_to_8k
from tests.asterisk_pbx import HOTLINE_APP, PHONES_APP, AsteriskPBX, pbx_fixture, require_tools
from tests.conftest import KO_SPEECH, REPO, korean_model_path

asterisk_pbx = pbx_fixture()
WAIT_S = 30  # generous: the machine may be loaded; every wait ends as soon as the thing happens
CLIP = "zeroth_104_003_0019.wav"


@pytest.fixture(autouse=True)
def _renderer() -> None:
    require_tools("espeak-ng")


def _pcm(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav_bytes), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


class Milestones:
    """What the edge reports as the call goes on, for the caller's side to wait on."""

    def __init__(self) -> None:
        self.seen: queue.Queue[str] = queue.Queue()
        self.outcomes: queue.Queue[CallOutcome] = queue.Queue()

    def progress(self, _channel_id: str, milestone: str) -> None:
        self.seen.put(milestone)

    def wait(self, milestone: str) -> list[str]:
        """Wait until `milestone`; returns the milestones up to it."""
        passed = []
        while True:
            try:
                got = self.seen.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no {milestone!r} from the edge in {WAIT_S} s (saw {passed})") from None
            passed.append(got)
            if got == milestone:
                return passed


@pytest.fixture
def phones(asterisk_pbx: AsteriskPBX) -> Iterator[tuple[AriClient, EventStream]]:
    """The caller's handset, driven over ARI in the test's own application."""
    client = AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, asterisk_pbx.ari_password, PHONES_APP)
    with client, client.events() as events:
        yield client, events


def caller_clip(pbx: AsteriskPBX, name: str) -> tuple[str, Path]:
    """A real clip the caller says, as 8 kHz telephone audio where Asterisk can play it: (media URI, file)."""
    with wave.open(str(KO_SPEECH / name), "rb") as w:
        assert w.getframerate() == 16000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    folder = pbx.media_dir / "caller"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_wav(path, downsample_to_8k(pcm, 16000), 8000)
    return "sound:" + pbx.pbx_path(path.with_suffix("")), path


def _duration_s(path: Path) -> float:
    with wave.open(str(path)) as clip:
        return clip.getnframes() / clip.getframerate()


def _reference_text(name: str) -> str:
    with open(KO_SPEECH / "manifest.tsv", encoding="utf-8") as fh:
        return next(row["text"] for row in csv.DictReader(fh, delimiter="\t") if row["file"] == name)


class HotlineCall:
    """The edge serving the hotline's application, and one caller whose handset the test drives."""

    def __init__(
        self, pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], recordings: Path, flow: Flow | None = None
    ) -> None:
        self.pbx = pbx
        self.phone, self.phone_events = phones
        self.milestones = Milestones()
        self.recordings = recordings
        self.phone_id = "caller-" + secrets.token_hex(4)
        steps = MenuAndRecord(
            flow or load_flow(),
            PromptAudio(pbx.media_dir / "prompts"),
            recordings,
            on_progress=self.milestones.progress,
            on_outcome=self.milestones.outcomes.put,
        )
        self.hotline = AriClient(pbx.ari_url, pbx.ari_user, pbx.ari_password, HOTLINE_APP)
        self.edge = AsteriskEdge(self.hotline, PbxMedia(pbx.media_dir, pbx.pbx_path(pbx.media_dir)), steps)

    def __enter__(self) -> Self:
        self.edge.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.edge.stop()
        self.phone.hangup(self.phone_id)
        self.hotline.close()

    def dial(self) -> None:
        """The caller dials 12351; returns once the edge has answered."""
        self.phone.originate("PJSIP/caller", channel_id=self.phone_id, caller_id="13800138000")
        self.phone_events.wait_for(lambda e: isinstance(e, StasisStart) and e.channel.id == self.phone_id, WAIT_S)

    def say(self, clip_uri: str) -> None:
        """The caller says a clip into the phone; returns when it has been said."""
        playback_id = f"{self.phone_id}-says-{secrets.token_hex(2)}"
        self.phone.play(self.phone_id, clip_uri, playback_id=playback_id)
        self.phone_events.wait_for(lambda e: isinstance(e, PlaybackFinished) and e.playback_id == playback_id, WAIT_S)

    def press(self, keys: str) -> None:
        self.phone.send_dtmf(self.phone_id, keys)

    def outcome(self) -> CallOutcome:
        """What the edge made of the call, once it is over."""
        try:
            outcome = self.milestones.outcomes.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"the call did not end in {WAIT_S} s: {self.edge.errors}") from None
        assert self.edge.errors == []
        return outcome

    def stored_audio(self, outcome: CallOutcome) -> tuple[np.ndarray, int]:
        """The recording the edge stored, checked against its checksum."""
        assert outcome.recording is not None
        assert outcome.recording.relative_path.startswith("asterisk/")
        assert verify_recording(self.recordings, outcome.recording.relative_path, outcome.recording.sha256)
        return _pcm((self.recordings / outcome.recording.relative_path).read_bytes())


@pytest.mark.shared_data
def test_a_caller_presses_2_and_describes_the_problem(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], tmp_path: Path
) -> None:
    clip = "zeroth_104_003_0019.wav"
    clip_uri, clip_path = caller_clip(asterisk_pbx, clip)
    with HotlineCall(asterisk_pbx, phones, tmp_path / "recordings") as call:
        call.dial()
        # The caller's handset records what it hears until the greeting is over: the prompts really came
        # down the line.
        heard_name = f"{call.phone_id}-heard"
        call.phone.record(call.phone_id, heard_name, max_duration_s=120)
        call.milestones.wait("greeted")
        call.phone.stop_recording(heard_name)
        call.phone_events.wait_for(lambda e: isinstance(e, RecordingFinished) and e.name == heard_name, WAIT_S)
        heard, rate = _pcm(call.phone.stored_recording(heard_name))
        assert rate == 8000
        assert len(heard) > 2 * rate, f"the caller heard only {len(heard) / rate:.1f} s of greeting"
        assert not is_silent(heard, rate), "the caller heard silence instead of the greeting"

        call.press("2")  # while the menu is being read: the key cuts it short
        call.milestones.wait("key:2")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.press("#")  # done speaking
        outcome = call.outcome()
        call.phone_events.wait_for(lambda e: e.type == "StasisEnd" and e.channel_id == call.phone_id, WAIT_S)
        left_in_asterisk = [item["name"] for item in call.hotline.request("GET", "/recordings/stored")]
    assert f"{outcome.channel_id}-describe" not in left_in_asterisk  # stored by us, so deleted in Asterisk

    assert outcome.caller_number == "13800138000"
    assert (outcome.keys, outcome.choice) == (["2"], "help")
    assert outcome.recording_ended_by == "key"
    recorded, rate = call.stored_audio(outcome)
    recorded_s, clip_s = len(recorded) / rate, _duration_s(clip_path)
    # The recording holds the clip, plus the moments between the beep and the caller starting and the `#`.
    assert clip_s - 0.5 < recorded_s < clip_s + 5, (clip_s, recorded_s)
    assert not is_silent(recorded, rate)

    # It is the caller's own voice: the Korean test model hears the clip's words in it.
    import vosk

    from speech.transcribe import recognize_pcm

    text = recognize_pcm(vosk.Model(str(korean_model_path())), recorded, rate).text
    reference = scoring_chars(_reference_text(clip), "hangul")
    cer = edit_distance(scoring_chars(text, "hangul"), reference) / len(reference)
    assert cer < 0.5, (cer, text)


def _short_flow() -> Flow:
    """The shipped flow with a short greeting and record prompt, for tests about what comes after them."""
    data = yaml.safe_load((REPO / "ivr" / "flows" / "default.yaml").read_text(encoding="utf-8"))
    data["steps"][data["start"]]["intro"] = ["您好。"]
    data["steps"]["describe"]["prompt"] = "请讲。"
    return parse_flow(data, "short flow")


@pytest.mark.shared_data
def test_a_caller_who_hangs_up_mid_recording_leaves_what_they_said(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], tmp_path: Path
) -> None:
    clip_uri, clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, tmp_path / "recordings", _short_flow()) as call:
        call.dial()
        call.milestones.wait("greeted")
        call.press("1")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.phone.hangup(call.phone_id)  # gone without pressing #
        outcome = call.outcome()
    assert (outcome.keys, outcome.choice) == (["1"], "legal")
    assert outcome.recording_ended_by == "hangup"
    assert outcome.hung_up_by_caller
    recorded, rate = call.stored_audio(outcome)
    assert len(recorded) / rate > _duration_s(clip_path) - 0.5
    assert not is_silent(recorded, rate)


@pytest.mark.shared_data
def test_a_call_goes_on_when_the_event_stream_is_lost_mid_prompt(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], tmp_path: Path
) -> None:
    clip_uri, _clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, tmp_path / "recordings", _short_flow()) as call:
        call.dial()
        call.milestones.wait("answered")
        assert call.edge.events is not None
        # Down for longer than the greeting lasts: its PlaybackFinished is lost; the edge asks Asterisk.
        call.edge.events.drop_connection(stay_down_s=4)
        call.milestones.wait("greeted")
        assert call.edge.reconnects == 1
        call.press("3")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.press("#")
        outcome = call.outcome()
    assert (outcome.keys, outcome.choice, outcome.recording_ended_by) == (["3"], "policy", "key")
    recorded, rate = call.stored_audio(outcome)
    assert not is_silent(recorded, rate)


def test_a_call_left_by_a_stopped_service_is_ended_at_the_next_start(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], tmp_path: Path
) -> None:
    with HotlineCall(asterisk_pbx, phones, tmp_path / "recordings", _short_flow()) as call:
        call.dial()
        call.milestones.wait("greeted")
        [hotline_leg] = call.edge.calls  # the hotline's side of this one call
        call.edge.stop()  # the service goes away mid-call
        assert call.milestones.outcomes.get(timeout=WAIT_S).recording is None
        assert call.phone.channel(call.phone_id) is not None  # the caller is still on the line

        again = AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, asterisk_pbx.ari_password, HOTLINE_APP)
        with again, AsteriskEdge(again, call.edge.media, call.edge.steps) as restarted:
            call.phone_events.wait_for(
                lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == call.phone_id, WAIT_S
            )
            assert restarted.ended == [hotline_leg]  # hung up, not left in silence
