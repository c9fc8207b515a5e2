"""Calls end to end on the real Asterisk, through the hotline's own flow engine: a SIP call into the hotline number
is answered by our edge, the caller hears the greeting (real RTP, rendered prompts), presses keys (RFC 4733), says
a real clip after the beep and presses #; the call leaves the same rows as a Twilio call on the same path: the
call and its events, the problem recording and the whole call stored with their checksums and transcribed, the
ticket and where it went."""

from __future__ import annotations

import csv
import io
import queue
import secrets
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import Services, build_services
from asterisk.ari import AriClient, ChannelDestroyed, EventStream, PlaybackFinished, RecordingFinished, StasisStart
from asterisk.channel import PbxMedia
from asterisk.dial_plan import DialPlan
from asterisk.edge import AsteriskEdge
from asterisk.flow_runner import FlowDesk, FlowRunner
from hotline.migrate import upgrade
from hotline.settings import Settings
from ivr.call import CallDesk
from ivr.flow import Flow, parse_flow
from ivr.route_calls import RouteDesk
from recordings.store import verify_recording
from recordings.tables import Call, Recording
from routing.tables import Ticket
from speech.audio import is_silent
from speech.evaluation import edit_distance, scoring_chars
from speech.prompt_audio import PromptAudio
from tests.asterisk_pbx import HOTLINE_APP, PHONES_APP, AsteriskPBX, caller_clip, pbx_fixture, require_tools
from tests.conftest import KO_SPEECH, REPO, korean_model_path

asterisk_pbx = pbx_fixture()
WAIT_S = 30  # generous: the machine may be loaded; every wait ends as soon as the thing happens
TRANSCRIBE_WAIT_S = 240  # the transcription job, on a loaded machine
# The call events a Twilio call makes on the same path (tests/test_call_path.py), those of the call's own story:
# the live stream's and the jobs' events come when they come.
ASYNC_KINDS = ("stream_", "speech_", "live_transcript", "recording_", "transcribed")
CALLER = "13800138000"
OPERATORS_DESK, SUPERVISOR = "+8612351000", "+8613900000201"  # the shipped flow's desk, the roster's supervisor
# The test PBX's staff phones stand for the operators' desk and the supervisor's phone.
STAFF_DIAL_PLAN = DialPlan(numbers={OPERATORS_DESK: "PJSIP/staff1", SUPERVISOR: "PJSIP/staff2"})


@pytest.fixture(autouse=True)
def _renderer() -> None:
    require_tools("espeak-ng")


@pytest.fixture
def hotline(tmp_path: Path) -> Iterator[Services]:
    """The service's parts on a database of its own: the flow, routing, the jobs that transcribe (the Korean
    test model)."""
    settings = Settings(var_dir=tmp_path / "var", vosk_model_path=korean_model_path(), job_poll_seconds=0.1)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(settings)
    upgrade(services.engine)
    services.runner.start()
    yield services
    services.runner.stop()
    services.engine.dispose()


def _pcm(wav_bytes: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav_bytes), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


class Milestones:
    """What the edge reports as the call goes on, for the caller's side to wait on."""

    def __init__(self) -> None:
        self.seen: queue.Queue[tuple[str, str]] = queue.Queue()
        self.passed: list[str] = []
        self.channel_id = ""  # the hotline's side of the call (its call sid)

    def progress(self, channel_id: str, milestone: str) -> None:
        self.seen.put((channel_id, milestone))

    def wait(self, milestone: str, timeout_s: float = WAIT_S) -> list[str]:
        """Wait until `milestone`; returns the milestones up to it."""
        passed = []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                channel_id, got = self.seen.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {milestone!r} from the edge in {timeout_s} s (saw {passed})") from None
            if got == "answered":
                self.channel_id = channel_id
            passed.append(got)
            self.passed.append(got)
            if got == milestone:
                return passed


@pytest.fixture
def phones(asterisk_pbx: AsteriskPBX) -> Iterator[tuple[AriClient, EventStream]]:
    """The caller's handset, driven over ARI in the test's own application."""
    client = AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, asterisk_pbx.ari_password, PHONES_APP)
    with client, client.events() as events:
        yield client, events


def _duration_s(path: Path) -> float:
    with wave.open(str(path)) as clip:
        return clip.getnframes() / clip.getframerate()


def _reference_text(name: str) -> str:
    with open(KO_SPEECH / "manifest.tsv", encoding="utf-8") as fh:
        return next(row["text"] for row in csv.DictReader(fh, delimiter="\t") if row["file"] == name)


class HotlineCall:
    """The edge serving the hotline's application through the flow engine, and one caller whose handset the
    test drives."""

    def __init__(
        self,
        pbx: AsteriskPBX,
        phones: tuple[AriClient, EventStream],
        hotline: Services,
        flow: Flow | None = None,
    ) -> None:
        self.pbx = pbx
        self.phone, self.phone_events = phones
        self.hotline = hotline
        self.milestones = Milestones()
        self.phone_id = "caller-" + secrets.token_hex(4)
        settings = hotline.settings
        desk = CallDesk(flow or hotline.flow, settings.timezone, "")
        self.runner = FlowRunner(
            FlowDesk(
                hotline.factory,
                RouteDesk(desk, hotline.routing, hotline.route_prompts),
                PromptAudio(pbx.media_dir / "prompts"),
                settings.recordings_root,
                hotline.runner.wake,
                STAFF_DIAL_PLAN,
            ),
            on_progress=self.milestones.progress,
        )
        self.ari = AriClient(pbx.ari_url, pbx.ari_user, pbx.ari_password, HOTLINE_APP)
        self.edge = AsteriskEdge(self.ari, PbxMedia(pbx.media_dir, pbx.pbx_path(pbx.media_dir)), self.runner)

    def __enter__(self) -> Self:
        self.edge.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.edge.stop()
        self.phone.hangup(self.phone_id)
        self.ari.close()

    def dial(self) -> None:
        """The caller dials 12351; returns once the edge has answered."""
        self.phone.originate("PJSIP/caller", channel_id=self.phone_id, caller_id=CALLER)
        self.phone_events.wait_for(lambda e: isinstance(e, StasisStart) and e.channel.id == self.phone_id, WAIT_S)

    def say(self, clip_uri: str) -> None:
        """The caller says a clip into the phone; returns when it has been said."""
        playback_id = f"{self.phone_id}-says-{secrets.token_hex(2)}"
        self.phone.play(self.phone_id, clip_uri, playback_id=playback_id)
        self.phone_events.wait_for(lambda e: isinstance(e, PlaybackFinished) and e.playback_id == playback_id, WAIT_S)

    def rings(self, phone: str) -> str:
        """Wait until a staff phone rings (`staff1`, `staff2`); returns its channel, to answer or not."""
        ringing = self.phone_events.wait_for(lambda e: isinstance(e, StasisStart) and e.args == (phone,), WAIT_S)
        assert isinstance(ringing, StasisStart)
        return ringing.channel.id

    def press(self, keys: str) -> None:
        self.phone.send_dtmf(self.phone_id, keys)

    def ended(self) -> None:
        """Wait until the edge has finished the call (its rows written, its recordings kept): a long goodbye
        reads the ticket number out twice."""
        self.milestones.wait("ended", timeout_s=120)
        assert self.edge.errors == []

    def session(self) -> Session:
        return self.hotline.factory()

    def call_row(self, session: Session) -> Call:
        return session.execute(select(Call).where(Call.call_sid == self.milestones.channel_id)).scalar_one()

    def story(self) -> list[str]:
        """The kinds of the call's events in order, those of the call's own steps (see ASYNC_KINDS)."""
        with self.session() as session:
            return [e.kind for e in self.call_row(session).events if not e.kind.startswith(ASYNC_KINDS)]

    def recording(self, source: str, done: tuple[str, ...] = ("stored", "transcribed", "failed")) -> Recording:
        """The call's recording of that source once it reached one of `done`."""
        deadline = time.monotonic() + TRANSCRIBE_WAIT_S
        while True:
            with self.session() as session:
                found = session.scalar(
                    select(Recording).where(Recording.call_id == self.call_row(session).id, Recording.source == source)
                )
                if found is not None and found.status in done:
                    found.transcripts  # noqa: B018  loaded while the session is open
                    return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {source} recording in {done} in {TRANSCRIBE_WAIT_S} s: {found}")
            time.sleep(0.2)

    def ticket(self) -> Ticket:
        with self.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.call_id == self.call_row(session).id))
            assert ticket is not None, "the call left no ticket"
            return ticket

    def stored_audio(self, recording: Recording) -> tuple[np.ndarray, int]:
        """A recording the edge stored, checked against its checksum."""
        root = self.hotline.settings.recordings_root
        assert recording.path is not None and recording.path.startswith("asterisk/")
        assert recording.sha256 and verify_recording(root, recording.path, recording.sha256)
        return _pcm((root / recording.path).read_bytes())


def _cer(text: str, clip: str) -> float:
    reference = scoring_chars(_reference_text(clip), "hangul")
    return edit_distance(scoring_chars(text, "hangul"), reference) / len(reference)


@pytest.mark.shared_data
def test_a_caller_presses_2_describes_the_problem_and_is_dispatched_like_on_twilio(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    # The same path as test_call_path's wage-arrears call: 2, the clip, then 3 (新城区) at the district question.
    clip = "zeroth_104_003_0374.wav"
    clip_uri, clip_path = caller_clip(asterisk_pbx, clip)
    with HotlineCall(asterisk_pbx, phones, hotline) as call:
        call.dial()
        # The caller's handset records what it hears until the greeting is over: the prompts really came
        # down the line.
        heard_name = f"{call.phone_id}-heard"
        call.phone.record(call.phone_id, heard_name, max_duration_s=120)
        call.milestones.wait("said:menu.intro.2")
        call.phone.stop_recording(heard_name)
        call.phone_events.wait_for(lambda e: isinstance(e, RecordingFinished) and e.name == heard_name, WAIT_S)
        heard, rate = _pcm(call.phone.stored_recording(heard_name))
        assert rate == 8000
        assert len(heard) > 2 * rate, f"the caller heard only {len(heard) / rate:.1f} s of greeting"
        assert not is_silent(heard, rate), "the caller heard silence instead of the greeting"

        call.press("2")  # while the menu is being read: the key cuts it short
        call.milestones.wait("keys:2")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.press("#")  # done speaking
        call.milestones.wait("recorded:key")
        # Routed once the words are in; they name no Chinese district, so the caller is asked, and presses 3.
        call.milestones.wait("said:route_prompts.district_question", TRANSCRIBE_WAIT_S)
        call.press("3")
        call.ended()  # after the union, the working days and the ticket number (twice) are read out
        call.phone_events.wait_for(lambda e: e.type == "StasisEnd" and e.channel_id == call.phone_id, WAIT_S)
        left_in_asterisk = [item["name"] for item in call.ari.request("GET", "/recordings/stored")]
    hotline_leg = call.milestones.channel_id
    assert f"{hotline_leg}-describe" not in left_in_asterisk  # stored by us, so deleted in Asterisk
    assert f"{hotline_leg}-call" not in left_in_asterisk

    assert "said:route_prompts.dispatched" in call.milestones.passed
    assert call.story() == [
        "answered", "call_recording_started",
        "step", "menu_input",  # 2: help
        "step", "problem_recorded",  # the caller's problem
        "step", "routed",  # understood, routed to a union: which district?
        "step", "menu_input",  # 3: 新城区
        "ended",
    ]  # fmt: skip
    with call.session() as session:
        row = call.call_row(session)
        assert (row.from_number, row.status, row.menu_choice) == (CALLER, "completed", "help")
        assert row.duration_s is not None and row.duration_s > _duration_s(clip_path)
    ticket = call.ticket()
    assert (ticket.menu_choice, ticket.route, ticket.status, ticket.union_id) == (
        "help",
        "local_union",
        "dispatched",
        "xa-xincheng",
    )
    assert ticket.reply_due_at is not None and not ticket.needs_human

    problem = call.recording("problem", done=("transcribed",))
    recorded, rate = call.stored_audio(problem)
    recorded_s, clip_s = len(recorded) / rate, _duration_s(clip_path)
    # The recording holds the clip, plus the moments between the beep and the caller starting and the `#`.
    assert clip_s - 0.5 < recorded_s < clip_s + 5, (clip_s, recorded_s)
    assert not is_silent(recorded, rate)
    # It is the caller's own voice: the Korean test model, run by the transcription job, hears the clip's words.
    text = " ".join(t.text for t in problem.transcripts if not t.model.startswith("live:"))
    assert _cer(text, clip) < 0.5, text

    whole = call.recording("call", done=("transcribed",))  # the whole call, for the inspectors
    audio, rate = call.stored_audio(whole)
    assert len(audio) / rate > clip_s + 5  # the greeting, the caller's words, the goodbye
    assert not is_silent(audio, rate)


def _short_flow(operator_rings_s: int | None = None) -> Flow:
    """The shipped flow with a short greeting and record prompt, for tests about what comes after them; the
    operators' phone rung for `operator_rings_s` if given."""
    data = yaml.safe_load((REPO / "ivr" / "flows" / "default.yaml").read_text(encoding="utf-8"))
    data["steps"][data["start"]]["intro"] = ["您好。"]
    data["steps"]["describe"]["prompt"] = "请讲。"
    if operator_rings_s is not None:
        data["steps"]["operator"]["timeout_s"] = operator_rings_s
    return parse_flow(data, "short flow")


@pytest.mark.shared_data
def test_a_caller_who_hangs_up_mid_recording_leaves_what_they_said_and_a_ticket(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    clip_uri, clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow()) as call:
        call.dial()
        call.milestones.wait("said:menu.intro.1")
        call.press("1")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.phone.hangup(call.phone_id)  # gone without pressing #
        call.ended()
    assert "recorded:hangup" in call.milestones.passed
    assert call.story() == [
        "answered",
        "call_recording_started",
        "step",
        "menu_input",
        "step",
        "problem_recorded",
        "ended",
    ]
    problem = call.recording("problem")
    recorded, rate = call.stored_audio(problem)
    assert len(recorded) / rate > _duration_s(clip_path) - 0.5
    assert not is_silent(recorded, rate)
    assert call.ticket().menu_choice == "legal"


@pytest.mark.shared_data
def test_a_call_goes_on_when_the_event_stream_is_lost_mid_prompt(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    clip_uri, _clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow()) as call:
        call.dial()
        call.milestones.wait("answered")
        assert call.edge.events is not None
        # Down for longer than the greeting lasts: its PlaybackFinished is lost; the edge asks Asterisk.
        call.edge.events.drop_connection(stay_down_s=4)
        call.milestones.wait("said:menu.intro.1")
        assert call.edge.reconnects == 1
        call.press("3")
        call.milestones.wait("keys:3")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.press("#")
        call.milestones.wait("recorded:key")
        call.phone.hangup(call.phone_id)
        call.ended()
    assert call.ticket().menu_choice == "policy"
    recorded, rate = call.stored_audio(call.recording("problem"))
    assert not is_silent(recorded, rate)


@pytest.mark.shared_data
def test_0_puts_the_caller_through_to_the_operators_who_hear_them_like_on_twilio(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    clip_uri, clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow()) as call:
        call.dial()
        call.milestones.wait("said:menu.intro.1")
        call.press("0")
        desk = call.rings("staff1")  # the operators' desk phone rings (the dial plan maps its number)
        call.milestones.wait(f"dialling:{OPERATORS_DESK}")
        call.phone.answer(desk)
        # The operator hears the caller: what comes down the desk phone's line while the caller speaks.
        heard_name = f"{desk}-heard"
        call.phone.record(desk, heard_name, max_duration_s=60)
        call.say(clip_uri)
        call.phone.stop_recording(heard_name)
        call.phone_events.wait_for(lambda e: isinstance(e, RecordingFinished) and e.name == heard_name, WAIT_S)
        heard, rate = _pcm(call.phone.stored_recording(heard_name))
        assert len(heard) / rate > _duration_s(clip_path) - 1
        assert not is_silent(heard, rate), "the operator heard silence instead of the caller"
        call.phone.hangup(desk)  # the operator is done: the call ends
        call.milestones.wait("dialled:completed")
        call.ended()
        call.phone_events.wait_for(lambda e: e.type == "StasisEnd" and e.channel_id == call.phone_id, WAIT_S)
    assert call.story() == [
        "answered",
        "call_recording_started",
        "step",
        "menu_input",
        "step",
        "dialling",
        "dial_ended",
        "ended",
    ]  # fmt: skip  (test_call_path's operator branch on Twilio)
    with call.session() as session:
        row = call.call_row(session)
        assert (row.handler, row.handler_role) == (f"desk:{OPERATORS_DESK}", "operator")  # for QA sampling
        [ended] = [e for e in row.events if e.kind == "dial_ended"]
        assert ended.detail["status"] == "completed" and int(ended.detail["duration"]) >= 1
    ticket = call.ticket()  # made before the transfer, for a person to follow up
    assert (ticket.menu_choice, ticket.route) == ("operator", "operator") and ticket.needs_human
    whole = call.recording("call")  # the conversation is in the whole-call recording
    audio, rate = call.stored_audio(whole)
    assert len(audio) / rate > _duration_s(clip_path)


@pytest.mark.shared_data
def test_an_operator_not_answering_lets_the_caller_leave_a_message(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    clip_uri, clip_path = caller_clip(asterisk_pbx, "zeroth_104_003_0294.wav")
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow(operator_rings_s=4)) as call:
        call.dial()
        call.milestones.wait("said:menu.intro.1")
        call.press("0")
        call.rings("staff1")  # rings, and nobody answers
        call.milestones.wait("dialled:no-answer", WAIT_S)
        call.milestones.wait("said:operator_unavailable.prompts.1")
        call.milestones.wait("recording")
        call.say(clip_uri)
        call.press("#")
        call.milestones.wait("recorded:key")
        # Routed once the words are in: busy operators, so an operator calls back (the number read out).
        call.milestones.wait("said:route_prompts.operator_callback", TRANSCRIBE_WAIT_S)
        call.ended()
    story = call.story()
    assert story[:8] == [
        "answered", "call_recording_started", "step", "menu_input", "step", "dialling", "dial_ended", "step"
    ]  # fmt: skip
    assert "problem_recorded" in story and story[-1] == "ended"
    with call.session() as session:
        [ended] = [e for e in call.call_row(session).events if e.kind == "dial_ended"]
        assert ended.detail["status"] == "no-answer"
    ticket = call.ticket()
    assert ticket.route == "operator" and ticket.callback_number == CALLER
    recorded, rate = call.stored_audio(call.recording("problem"))  # the message, for the call back
    assert len(recorded) / rate > _duration_s(clip_path) - 0.5 and not is_silent(recorded, rate)


def test_the_emergency_key_puts_the_caller_through_to_the_supervisors_phone(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow()) as call:
        call.dial()
        call.milestones.wait("said:menu.intro.1")
        call.press("*")  # the flow's emergency key
        supervisor = call.rings("staff2")
        call.milestones.wait(f"dialling:{SUPERVISOR}")
        call.phone.answer(supervisor)
        _until_bridged(call, call.milestones.channel_id)
        call.phone.hangup(call.phone_id)  # the caller, helped, hangs up first
        call.milestones.wait("dialled:completed")
        call.ended()
        call.phone_events.wait_for(lambda e: e.type == "StasisEnd" and e.channel_id == supervisor, WAIT_S)  # hung up
    story = call.story()
    assert story[:4] == ["answered", "call_recording_started", "step", "emergency"]
    assert story[-3:] == ["dialling", "supervisor_dial_ended", "ended"], story
    with call.session() as session:
        row = call.call_row(session)
        assert (row.handler, row.handler_role) == ("S01", "supervisor")  # the supervisor on the line took it
        [emergency] = [e for e in row.events if e.kind == "emergency"]
        assert (emergency.detail["step"], emergency.detail["why"]) == ("menu", "caller_key")
        [ended] = [e for e in row.events if e.kind == "supervisor_dial_ended"]
        assert ended.detail["status"] == "completed"
    ticket = call.ticket()
    assert (ticket.route, ticket.handling_class) == ("supervisor", "urgent") and "danger" in ticket.urgency_flags


def _until_bridged(call: HotlineCall, hotline_leg: str) -> None:
    """Wait until the caller's side is in a bridge with another channel (they hear each other)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for bridge in call.ari.request("GET", "/bridges"):
            if hotline_leg in bridge["channels"] and len(bridge["channels"]) == 2:
                return
        time.sleep(0.1)
    raise AssertionError(f"the caller was not bridged in {WAIT_S} s")


def test_a_call_left_by_a_stopped_service_is_ended_at_the_next_start(
    asterisk_pbx: AsteriskPBX, phones: tuple[AriClient, EventStream], hotline: Services
) -> None:
    with HotlineCall(asterisk_pbx, phones, hotline, _short_flow()) as call:
        call.dial()
        call.milestones.wait("said:menu.intro.1")
        [hotline_leg] = call.edge.calls  # the hotline's side of this one call
        call.edge.stop()  # the service goes away mid-call
        assert call.phone.channel(call.phone_id) is not None  # the caller is still on the line

        again = AriClient(asterisk_pbx.ari_url, asterisk_pbx.ari_user, asterisk_pbx.ari_password, HOTLINE_APP)
        with again, AsteriskEdge(again, call.edge.media, call.runner) as restarted:
            call.phone_events.wait_for(
                lambda e: isinstance(e, ChannelDestroyed) and e.channel_id == call.phone_id, WAIT_S
            )
            assert restarted.ended == [hotline_leg]  # hung up, not left in silence
            assert restarted.errors == []
    assert call.story()[-1] == "ended"  # ended in the database too
    whole = call.recording("call")  # what the whole-call recording caught before the service stopped
    audio, rate = call.stored_audio(whole)
    assert not is_silent(audio, rate)
