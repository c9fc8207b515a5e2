"""What a caller did, typed, becomes the fields the engine's handlers read, as a Twilio webhook carries them."""

from __future__ import annotations

from ivr.caller_input import CallerDid, CallerLine, DialResult, RecordingDone, as_form

LINE = CallerLine("1796691275.7", "13800138000", "12351")


def test_the_line_alone_names_the_call_and_the_caller() -> None:
    assert as_form(LINE) == {"CallSid": "1796691275.7", "From": "13800138000", "To": "12351"}


def test_keys_pressed_and_a_silent_question_differ_from_no_question() -> None:
    assert as_form(LINE, CallerDid(keys="2"))["Digits"] == "2"
    assert as_form(LINE, CallerDid(keys=""))["Digits"] == ""
    assert "Digits" not in as_form(LINE, CallerDid())


def test_a_recording_ended_by_its_key_or_by_the_caller_hanging_up() -> None:
    keyed = as_form(LINE, CallerDid(keys="#", recording=RecordingDone("rec-1", 7)))
    assert (keyed["RecordingSid"], keyed["RecordingDuration"], keyed["Digits"]) == ("rec-1", "7", "#")
    gone = as_form(LINE, CallerDid(keys="", recording=RecordingDone("rec-2"), hung_up=True))
    assert gone["Digits"] == "hangup" and "RecordingDuration" not in gone


def test_a_dial_result() -> None:
    form = as_form(LINE, CallerDid(dialled=DialResult("no-answer", 0)))
    assert (form["DialCallStatus"], form["DialCallDuration"]) == ("no-answer", "0")
