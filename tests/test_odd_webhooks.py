"""Odd but properly signed Twilio requests never get a 5xx and never create anything: each is answered with
valid TwiML (a polite Chinese apology and goodbye) or refused with a 4xx, and every table keeps its row count."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy import column, create_engine, func, inspect, select, table

from emulator import parse_twiml, sign
from emulator.twiml import Hangup, Say
from tests.running_service import RunningService

ACCOUNT = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
CALL = "CA" + secrets.token_hex(16)  # answered, still at the menu: no ticket
FORM = {"AccountSid": ACCOUNT[0], "From": "+8613700000000", "To": "+8612351", "CallStatus": "in-progress"}
INT64_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    svc = RunningService(
        var,
        {
            "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT[0],
            "HOTLINE_TWILIO_AUTH_TOKEN": ACCOUNT[1],
            "HOTLINE_TWILIO_API_URL": "http://127.0.0.1:9",  # no REST: nothing here may need Twilio's API
            "HOTLINE_DOWNLOAD_ATTEMPTS": "1",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    svc.start()
    answer = post(svc, "/twilio/voice", {**FORM, "CallSid": CALL})
    assert answer.status_code == 200 and "<Recording" in answer.text  # the recording starts in TwiML: no job
    assert "call_recording_started" in event_kinds(svc)
    yield svc
    svc.stop()


def post(service: RunningService, path: str, form: dict[str, str]) -> httpx.Response:
    """A request signed with the account's auth token, as Twilio signs it."""
    url = service.url + path
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(ACCOUNT[1], url, form)}, timeout=30)


def row_counts(service: RunningService) -> dict[str, int]:
    """Rows in every table of the service's database."""
    engine = create_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
    try:
        with engine.connect() as conn:
            return {
                name: conn.scalar(select(func.count()).select_from(table(name)))
                for name in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def event_kinds(service: RunningService) -> list[str]:
    """The kinds of every call event noted so far."""
    engine = create_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(column("kind")).select_from(table("call_events"))))
    finally:
        engine.dispose()


def call_form(**extra: str) -> dict[str, str]:
    return {**FORM, "CallSid": CALL, **extra}


APOLOGY = "apology"  # valid TwiML: a Chinese <Say>, then <Hangup/>
ODD = [
    # (what, path, form, expected: APOLOGY, or the 4xx status)
    ("callback confirmed for a call without a ticket", "/twilio/callback/confirm", call_form(Digits="1"), APOLOGY),
    (
        "callback confirmed for a call never seen",
        "/twilio/callback/confirm",
        {**FORM, "CallSid": "CA" + "0" * 32, "Digits": "1"},
        APOLOGY,
    ),
    ("district chosen for a call without a ticket", "/twilio/route/district?attempt=1", call_form(Digits="1"), APOLOGY),
    (
        "district said for a call never seen",
        "/twilio/route/district?attempt=1&said=2",
        {**FORM, "CallSid": "CA" + "1" * 32},
        APOLOGY,
    ),
    ("a step the flow does not have", "/twilio/step/no-such-step", call_form(), APOLOGY),
    (
        "keys at a step the flow does not have",
        "/twilio/step/no-such-step/keys?attempt=1",
        call_form(Digits="1"),
        APOLOGY,
    ),
    (
        "a voice choice at a step the flow does not have",
        "/twilio/step/no-such-step/spoken?choice=legal",
        call_form(),
        APOLOGY,
    ),
    (
        "a confirmation at a step the flow does not have",
        "/twilio/step/no-such-step/confirmed?choice=legal",
        call_form(Digits="1"),
        APOLOGY,
    ),
    (
        "a recording at a step the flow does not have",
        "/twilio/step/no-such-step/recorded",
        call_form(RecordingSid="RE" + "2" * 32, RecordingUrl="http://127.0.0.1:9/RE"),
        APOLOGY,
    ),
    (
        "a recording at the menu step",
        "/twilio/step/menu/recorded",
        call_form(RecordingSid="RE" + "3" * 32, RecordingUrl="http://127.0.0.1:9/RE"),
        APOLOGY,
    ),
    (
        "a dial result at a step the flow does not have",
        "/twilio/step/no-such-step/dialled",
        call_form(DialCallStatus="completed"),
        APOLOGY,
    ),
    ("a lawyer not on the roster takes the caller", "/twilio/seat/bridge?lawyer=L-NOBODY", call_form(), APOLOGY),
    (
        "the line of a lawyer not on the roster ends",
        "/twilio/seat/done?lawyer=L-NOBODY",
        call_form(DialCallStatus="completed"),
        APOLOGY,
    ),
    (
        "a queue position that is not a number",
        "/twilio/queue/wait",
        call_form(QueuePosition="first", QueueTime="a while"),
        "twiml",
    ),
    ("a survey id beyond int64 (call)", f"/twilio/survey/{INT64_MAX + 1}/call?attempt=1", call_form(), 422),
    ("a survey id beyond int64 (keys)", f"/twilio/survey/{10**20}/keys?attempt=1", call_form(Digits="1"), 422),
    (
        "a survey id beyond int64 (status)",
        f"/twilio/survey/{10**20}/status?attempt=1",
        call_form(CallStatus="completed"),
        422,
    ),
    ("voice without CallSid", "/twilio/voice", dict(FORM), 400),
    (
        "a recording callback without CallSid",
        "/twilio/recording-status",
        {
            **FORM,
            "RecordingSid": "RE" + "4" * 32,
            "RecordingUrl": "http://127.0.0.1:9/RE",
            "RecordingStatus": "completed",
            "RecordingSource": "RecordVerb",
        },
        400,
    ),
    (
        "a recorded problem without CallSid",
        "/twilio/step/describe/recorded",
        {**FORM, "RecordingSid": "RE" + "5" * 32, "RecordingUrl": "http://127.0.0.1:9/RE", "Digits": "#"},
        400,
    ),
    ("a status callback without CallSid", "/twilio/status", {**FORM, "CallStatus": "completed"}, 400),
]


@pytest.mark.parametrize(("what", "path", "form", "expected"), ODD, ids=[case[0] for case in ODD])
def test_an_odd_signed_webhook_is_answered_politely_and_creates_nothing(service, what, path, form, expected):
    before = row_counts(service)
    response = post(service, path, form)
    assert row_counts(service) == before, f"{what}: the database changed"
    if isinstance(expected, int):
        assert response.status_code == expected, response.text
        assert response.json()["detail"]  # says what is wrong
        return
    assert response.status_code == 200, response.text
    verbs = parse_twiml(response.text)  # raises unless it is TwiML Twilio can play
    if expected == APOLOGY:
        said = " ".join(v.text for v in verbs if isinstance(v, Say))
        assert "对不起" in said and "再见" in said
        assert isinstance(verbs[-1], Hangup)


def test_a_status_callback_with_an_overflowing_duration_still_ends_the_call(service):
    other = "CA" + secrets.token_hex(16)
    assert post(service, "/twilio/voice", {**FORM, "CallSid": other}).status_code == 200
    response = post(
        service, "/twilio/status", {**FORM, "CallSid": other, "CallStatus": "completed", "CallDuration": "9" * 30}
    )
    assert response.status_code == 204
    call = service.api.get(f"/api/calls/{other}").json()
    assert call["status"] == "completed" and call["ended_at"] is not None
