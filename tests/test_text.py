"""Text and protocol pieces of live speech, no recognizer needed: Chinese clean-up, numbers, Media Streams
messages, menu phrases as grammar words, and the choice a caller's words make."""

from __future__ import annotations

import base64
import json

import pytest

from speech.grammar import build_grammar, decide, segment
from speech.media_messages import (
    Clear,
    Connected,
    Dtmf,
    Mark,
    Media,
    MediaMessageError,
    Start,
    Stop,
    encode,
    parse_message,
    parse_outbound,
)
from speech.numbers import amounts, find_quantities, headcounts, numerals_to_digits
from speech.text import clean_transcript, normalize_transcript

STREAM = "MZ" + "a" * 32
CALL = "CA" + "b" * 32
ACCOUNT = "AC" + "c" * 32


# --- Chinese clean-up -------------------------------------------------------------------------------------


def test_spaces_between_han_characters_go_latin_and_digits_keep_theirs():
    assert normalize_transcript(" 公司  欠 了 我们 工资 ") == "公司欠了我们工资"
    assert normalize_transcript("我 在 ABC 公司 干 了 3 个 月") == "我在 ABC 公司干了 3 个月"
    assert normalize_transcript("만약 박근혜 대통령이") == "만약 박근혜 대통령이"  # Hangul keeps its spaces


def test_amounts_are_values_and_say_when_they_are_approximate():
    (owed,) = amounts("老板 欠 了 我们 六十多万 工资")
    assert (owed.value, owed.approximate) == (600000, True)
    assert [(q.value, q.approximate) for q in amounts("欠了两千五百块，还有五万块钱")] == [
        (2500, False),
        (50000, False),
    ]
    assert amounts("一万二")[0].value == 12000
    assert amounts("公司欠了3万5")[0].value == 35000
    assert amounts("1.5万元")[0].value == 15000


def test_head_counts_are_numbers_of_people():
    (workers,) = headcounts("我们 十三个人 都 没 拿到 钱")
    assert (workers.value, workers.approximate, workers.kind) == (13, False, "headcount")
    assert [(q.value, q.approximate) for q in headcounts("二十来个工人和一百多名员工")] == [(20, True), (100, True)]
    # A range is read as its upper end, as the routing rules read it ("八九个人" counts toward ten workers).
    assert (headcounts("三四个人")[0].value, headcounts("三四个人")[0].approximate) == (4, True)


def test_numerals_become_digits_only_where_they_are_numbers():
    assert numerals_to_digits("我们十三个人，欠了六十多万") == "我们13个人，欠了60多万"
    assert numerals_to_digits("干了三个月") == "干了3个月"
    for text in ("等一下", "有一些问题", "十分严重", "万一不给呢", "第一", "千万别说", "三四个人"):
        assert numerals_to_digits(text) == text
    assert numerals_to_digits("一万二，3万5，1.5万元") == "12000，35000，15000元"


def test_transcript_and_routing_read_numbers_with_the_same_parser():
    # One parser: the amounts the transcript clean-up shows are the numbers routing's entity rules read.
    from routing.entities import extract

    said = "我们 二十来 个 工人 老板 欠 了 两百三十万 工钱"
    cleaned = clean_transcript(said)
    entities = extract(said)
    assert cleaned["amounts"][0]["value"] == entities.amount.value == 2_300_000
    assert cleaned["headcounts"][0]["value"] == entities.workers.value == 20
    assert cleaned["headcounts"][0]["approximate"] and entities.workers.approximate


def test_clean_transcript_gives_text_amounts_and_head_counts():
    cleaned = clean_transcript("我们 十三 个 人 ， 老板 欠 了 六十 多 万")
    assert cleaned["text"] == "我们13个人，老板欠了60多万"
    assert cleaned["headcounts"] == [{"value": 13, "approximate": False, "kind": "headcount", "text": "十三个人"}]
    assert cleaned["amounts"] == [{"value": 600000, "approximate": True, "kind": "amount", "text": "六十多万"}]
    assert find_quantities("") == []


# --- Media Streams messages -------------------------------------------------------------------------------


def _start(**overrides) -> dict:
    body = {
        "accountSid": ACCOUNT,
        "streamSid": STREAM,
        "callSid": CALL,
        "tracks": ["inbound"],
        "customParameters": {"step": "menu"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    body.update(overrides)
    return {"event": "start", "sequenceNumber": "1", "start": body, "streamSid": STREAM}


def test_messages_as_twilio_documents_them_parse_into_dataclasses():
    assert parse_message('{"event": "connected", "protocol": "Call", "version": "1.0.0"}') == Connected()
    start = parse_message(json.dumps(_start()))
    assert isinstance(start, Start) and start.call_sid == CALL and start.custom_parameters == {"step": "menu"}
    audio = bytes(range(160))
    media = parse_message(
        json.dumps(
            {
                "event": "media",
                "sequenceNumber": "3",
                "streamSid": STREAM,
                "media": {
                    "track": "inbound",
                    "chunk": "1",
                    "timestamp": "5",
                    "payload": base64.b64encode(audio).decode(),
                },
            }
        )
    )
    assert media == Media(STREAM, "inbound", 1, 5, audio, 3)
    assert parse_message(
        json.dumps(
            {
                "event": "dtmf",
                "streamSid": STREAM,
                "sequenceNumber": "5",
                "dtmf": {"track": "inbound_track", "digit": "1"},
            }
        )
    ) == Dtmf(STREAM, "1", "inbound_track", 5)
    assert parse_message(
        json.dumps({"event": "mark", "sequenceNumber": "4", "streamSid": STREAM, "mark": {"name": "prompt-end"}})
    ) == Mark(STREAM, "prompt-end", 4)
    assert parse_message(
        json.dumps(
            {
                "event": "stop",
                "sequenceNumber": "5",
                "streamSid": STREAM,
                "stop": {"accountSid": ACCOUNT, "callSid": CALL},
            }
        )
    ) == Stop(STREAM, ACCOUNT, CALL, 5)


def test_what_we_write_is_what_we_read():
    for message in (
        Connected(),
        Start(STREAM, ACCOUNT, CALL, ("inbound",), {"a": "b"}),
        Media(STREAM, "inbound", 7, 120, b"\xff" * 160, 9),
        Dtmf(STREAM, "#", sequence_number=2),
        Mark(STREAM, "m", 3),
        Stop(STREAM, ACCOUNT, CALL, 10),
    ):
        assert parse_message(encode(message)) == message
    assert parse_outbound(encode(Clear(STREAM))) == Clear(STREAM)
    assert parse_outbound(encode(Mark(STREAM, "x"), outbound=True)) == Mark(STREAM, "x")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "not_json"),
        ("[1, 2]", "not_an_object"),
        ('{"event": "hello"}', "unknown_event"),
        (json.dumps(_start(callSid="CA123")), "bad_field"),
        (
            json.dumps(_start(mediaFormat={"encoding": "audio/l16", "sampleRate": 16000, "channels": 1})),
            "unsupported_media",
        ),
        (json.dumps({"event": "start", "streamSid": STREAM}), "missing_field"),
        (
            json.dumps(
                {
                    "event": "media",
                    "streamSid": STREAM,
                    "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": "!!!"},
                }
            ),
            "bad_field",
        ),
        (
            json.dumps(
                {
                    "event": "media",
                    "streamSid": STREAM,
                    "media": {"track": "inbound", "chunk": "-1", "timestamp": "0", "payload": ""},
                }
            ),
            "bad_field",
        ),
        (
            json.dumps(
                {
                    "event": "media",
                    "streamSid": STREAM,
                    "media": {"track": "sideways", "chunk": "1", "timestamp": "0", "payload": ""},
                }
            ),
            "bad_field",
        ),
        (json.dumps({"event": "dtmf", "streamSid": STREAM, "dtmf": {"digit": "12"}}), "bad_field"),
        (json.dumps({"event": "stop", "streamSid": STREAM}), "missing_field"),
    ],
)
def test_malformed_messages_are_refused_with_a_stable_code(raw, code):
    with pytest.raises(MediaMessageError) as caught:
        parse_message(raw)
    assert caught.value.code == code


# --- menu phrases and choices ----------------------------------------------------------------------------

VOCABULARY = frozenset({"法律", "咨询", "律师", "欠薪", "工资", "人工", "服务", "政策", "[unk]"})
OPTIONS = {"legal": ["法律咨询", "律师"], "help": ["欠薪", "工资"], "operator": ["人工服务", "人工", "转人工"]}


def test_phrases_are_spelled_in_vocabulary_words_and_missing_words_are_reported():
    assert segment("法律咨询", VOCABULARY) == (("法律", "咨询"), ())
    assert segment("人工 服务", VOCABULARY) == (("人工", "服务"), ())
    grammar = build_grammar("menu", OPTIONS, VOCABULARY)
    assert grammar.missing == [("operator", "转人工", "转")]
    assert json.loads(grammar.json()) == ["法律 咨询", "律师", "欠薪", "工资", "人工 服务", "人工", "[unk]"]


def _words(*pairs) -> list[dict]:
    return [{"word": w, "conf": c, "start": i, "end": i + 0.3} for i, (w, c) in enumerate(pairs)]


def test_a_choice_both_recognizers_heard_is_taken_at_once():
    grammar = build_grammar("menu", OPTIONS, VOCABULARY)
    choice = decide(grammar, _words(("法律", 0.9), ("咨询", 1.0)), "我 想 法律 咨询")
    assert (choice.choice, choice.phrase, choice.confident) == ("legal", "法律咨询", True)
    assert choice.confidence == pytest.approx(0.95)


def test_a_choice_only_the_grammar_heard_in_a_short_answer_is_confirmed_first():
    grammar = build_grammar("menu", OPTIONS, VOCABULARY)
    choice = decide(grammar, _words(("工资", 0.8)), "公子")
    assert (choice.choice, choice.confident) == ("help", False)
    assert decide(grammar, _words(("工资", 0.4)), "公子") is None  # too unsure even to ask


def test_talk_that_is_no_menu_answer_chooses_nothing():
    grammar = build_grammar("menu", OPTIONS, VOCABULARY)
    # The grammar spells a long sentence as its phrases; free speech heard none of them.
    long_talk = _words(("律师", 1.0), ("工资", 1.0), ("人工", 0.9), ("律师", 1.0))
    assert decide(grammar, long_talk, "今天 天气 很 好 我们 去 公园") is None
    # Two different options said: ambiguous, the caller can press a key.
    assert decide(grammar, _words(("律师", 1.0), ("工资", 1.0)), "律师 工资") is None
    assert decide(grammar, [], "") is None
