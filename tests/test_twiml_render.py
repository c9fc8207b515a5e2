"""The Twilio edge's renderer: each decision of the flow engine (ivr.decisions) becomes the TwiML verb that does
it, and what comes next becomes the webhook path of its handler."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr.decisions import (
    Decision,
    Dial,
    Digits,
    Enqueue,
    Gather,
    Hangup,
    LeaveQueue,
    Next,
    Pause,
    Record,
    Redirect,
    Say,
    StartCallRecording,
    StartStream,
    StopStream,
    To,
)
from ivr.flow import Voice
from ivr.prompt_list import RecordedPrompts
from ivr.twiml import render

VOICE = Voice("zh-CN", "Polly.Zhiyu")
MEDIA = "wss://hotline.example.org/twilio/media"


def verbs(*decisions: Decision, recorded: RecordedPrompts | None = None) -> list[ET.Element]:
    return list(ET.fromstring(render(tuple(decisions), VOICE, recorded, MEDIA)))


def test_a_prompt_is_said_in_the_flow_voice_with_numbers_read_digit_by_digit() -> None:
    [say] = verbs(
        Say.of("x.prompt", "工单号是：{ticket_digits}，{days}天。", {"ticket_digits": Digits("12-30"), "days": 3})
    )
    assert (say.tag, say.text) == ("Say", "工单号是：幺 二，三 零，3天。")
    assert (say.get("language"), say.get("voice")) == ("zh-CN", "Polly.Zhiyu")


def test_a_recorded_prompt_is_played_and_one_with_values_said(tmp_path: Path) -> None:
    (tmp_path / "menu.prompt.wav").write_bytes(b"RIFF")
    (tmp_path / "x.ticket.wav").write_bytes(b"RIFF")
    recorded = RecordedPrompts(tmp_path, "https://hotline.example.org")
    played, said = verbs(
        Say.of("menu.prompt", "请按键。"),
        Say.of("x.ticket", "工单号是：{ticket_digits}", {"ticket_digits": Digits("1")}),
        recorded=recorded,
    )
    assert (played.tag, played.text) == ("Play", "https://hotline.example.org/twilio/prompts/menu.prompt.wav")
    assert (said.tag, said.text) == ("Say", "工单号是：幺")


def test_a_pause() -> None:
    [pause] = verbs(Pause(2))
    assert (pause.tag, pause.get("length")) == ("Pause", "2")


def test_a_question_for_one_key_goes_to_its_handler_with_its_values() -> None:
    keys = Next.of(To.KEYS, "menu", attempt=2)
    [gather] = verbs(Gather((Say.of("menu.prompt", "请按键。"), Pause(1)), keys, timeout_s=6))
    assert gather.tag == "Gather"
    assert gather.attrib == {
        "input": "dtmf",
        "numDigits": "1",
        "timeout": "6",
        "action": "/twilio/step/menu/keys?attempt=2",
        "method": "POST",
        "actionOnEmptyResult": "true",
    }
    assert [child.tag for child in gather] == ["Say", "Pause"]


def test_a_question_for_keys_up_to_a_finish_key_and_speech_without_an_empty_answer() -> None:
    typed = Next.of(To.CALLBACK_CONFIRM, tries=1, refused=0)
    [gather] = verbs(Gather((), typed, timeout_s=8, num_digits=None, finish_on_key="#", on_empty=False, speech=True))
    assert gather.attrib == {
        "input": "dtmf speech",
        "timeout": "8",
        "finishOnKey": "#",
        "action": "/twilio/callback/confirm?tries=1&refused=0",
        "method": "POST",
    }


def test_a_recording_of_the_caller() -> None:
    [record] = verbs(Record(Next.of(To.RECORDED, "describe"), max_length_s=180, timeout_s=8, finish_on_key="#*"))
    assert record.tag == "Record"
    assert record.get("action") == "/twilio/step/describe/recorded"
    assert (record.get("maxLength"), record.get("timeout"), record.get("finishOnKey")) == ("180", "8", "#*")
    assert (record.get("playBeep"), record.get("trim")) == ("true", "do-not-trim")
    assert record.get("recordingStatusCallback") == "/twilio/recording-status"


def test_a_record_without_a_beep() -> None:
    [record] = verbs(Record(Next.of(To.RECORDED, "describe"), 60, 5, "#", beep=False))
    assert record.get("playBeep") == "false"


def test_a_person_dialled() -> None:
    [dial] = verbs(Dial("+8612351000", Next.of(To.DIALLED, "operator"), timeout_s=30))
    assert (dial.tag, dial.get("action"), dial.get("timeout")) == ("Dial", "/twilio/step/operator/dialled", "30")
    assert [(n.tag, n.text) for n in dial] == [("Number", "+8612351000")]


def test_a_queue_entered_and_left() -> None:
    enqueue, leave = verbs(Enqueue("lawyers", Next.of(To.QUEUE_DONE), wait=Next.of(To.QUEUE_WAIT)), LeaveQueue())
    assert (enqueue.tag, enqueue.text) == ("Enqueue", "lawyers")
    assert (enqueue.get("action"), enqueue.get("waitUrl")) == ("/twilio/queue/done", "/twilio/queue/wait")
    assert leave.tag == "Leave"


def test_the_whole_call_recording_started() -> None:
    [start] = verbs(StartCallRecording())
    [recording] = list(start)
    assert (start.tag, recording.tag) == ("Start", "Recording")
    assert (recording.get("channels"), recording.get("track")) == ("dual", "both")


def test_a_live_stream_started_and_stopped() -> None:
    start, stop = verbs(StartStream("menu", "menu", "menu"), StopStream("describe"))
    [stream] = list(start)
    assert (stream.tag, stream.get("url"), stream.get("name"), stream.get("track")) == (
        "Stream",
        MEDIA,
        "menu",
        "inbound_track",
    )
    assert {p.get("name"): p.get("value") for p in stream} == {"step": "menu", "mode": "menu"}
    [stopped] = list(stop)
    assert (stop.tag, stopped.tag, stopped.get("name")) == ("Stop", "Stream", "describe")


def test_a_live_stream_without_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="no Media Streams URL"):
        render((StartStream("menu", "menu", "menu"),), VOICE)


def test_a_redirect_quotes_its_values_and_a_hangup() -> None:
    redirect, hangup = verbs(Redirect(Next.of(To.URGENT, why="caller_key", at="route:queue")), Hangup())
    assert (redirect.tag, redirect.text, redirect.get("method")) == (
        "Redirect",
        "/twilio/urgent?why=caller_key&at=route%3Aqueue",
        "POST",
    )
    assert hangup.tag == "Hangup"
