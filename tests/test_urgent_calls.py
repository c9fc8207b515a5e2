"""The caller in danger reaches the supervisor: by the emergency key or phrase at any point, and whenever the
ticket's final route says so (a repeat caller, a danger flag from the recording's transcript while they wait).

Each test places a call through the emulator (signed webhooks, REST redirects) against the real service and its
database, and asserts where the caller ended up: which number was dialled, what they heard. The caller's Mandarin
words come from the named test recognizer (`speech.scripted`); the Mandarin model cannot be had here.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import pytest
import yaml

from emulator import CallerGivesUp, CallerScript, TwilioEmulator
from ivr.flow import FlowError, load_flow, parse_flow
from tests.conftest import KO_SPEECH, ZH_SPEECH, korean_model_path
from tests.rosters import round_the_clock_roster
from tests.running_service import RunningService, emulator_env
from tests.scripted_clips import ClipScript

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

CLIPS = sorted(ZH_SPEECH.glob("*.wav")) + sorted(KO_SPEECH.glob("*.wav"))
SUPERVISOR_PHONE = "+8613900000201"
LAWYER_PHONES = ("+8613900000101", "+8613900000102")
DANGER = "工地脚手架塌了有人受伤老板不让送医院"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    var = tmp_path_factory.mktemp("urgent")
    (var / "roster.yaml").write_text(round_the_clock_roster(max_wait_s=3600), encoding="utf-8")
    script = ClipScript(var / "scripted.tsv", CLIPS)
    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as twilio:
        service = RunningService(
            var,
            {
                **emulator_env(twilio),
                "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
                "HOTLINE_ROSTER_FILE": str(var / "roster.yaml"),
                "HOTLINE_TEST_TRANSCRIPTS_FILE": str(script.path),
                "HOTLINE_JOB_POLL_SECONDS": "0.1",
            },
        )
        service.start()
        # The model loads in the background after start (it can take a while on a loaded machine): calls wait
        # for it, so that no webhook answers late because of it.
        _until("live speech ready", lambda: "live speech ready" in service.log(), timeout_s=180)
        try:
            yield twilio, service, script
        finally:
            twilio.release_recording_callbacks()
            twilio.retry_webhooks = False
            service.stop()


def _caller() -> str:
    return f"+86137{secrets.randbelow(10**8):08d}"


def _call(twilio: TwilioEmulator, service: RunningService, caller: CallerScript, **options):
    return twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=caller,
        from_=options.pop("from_", _caller()),
        status_callback=f"{service.url}/twilio/status",
        timeout=options.pop("timeout", 60),
        **options,
    )


def _in_background(target) -> tuple[threading.Thread, dict]:
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(report=target()), daemon=True)
    thread.start()
    return thread, done


def _call_view(service: RunningService, call_sid: str) -> dict:
    return service.operator.get(f"/api/calls/{call_sid}").json()


def _events(service: RunningService, call_sid: str, kind: str) -> list[dict]:
    """The call's events of one kind (none while the service has not seen the call yet)."""
    return [e["detail"] for e in _call_view(service, call_sid).get("events", []) if e["kind"] == kind]


def _until(what: str, check, timeout_s: float = 60):
    """Poll `check` until it returns something true (a generous deadline: the machine may be loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not seen in {timeout_s} s")


def _call_sid_from(twilio: TwilioEmulator, number: str) -> str:
    """The CallSid of the emulator's live call from `number` (placed in the background)."""
    calls = [c for c in twilio.all_calls() if c.from_ == number]
    return calls[0].sid if calls else ""


def _alerts_for(service: RunningService, number: str) -> list[dict]:
    return [a for a in service.api.get("/api/alerts").json() if a["ticket_number"] == number]


def _ticket_events(ticket: dict, kind: str) -> list[dict]:
    return [e for e in ticket["events"] if e["kind"] == kind]


def _rest_redirects(report) -> list[dict]:
    return [t for t in report.timeline if t["event"] == "rest-update"]


# --- the flow file ----------------------------------------------------------------------------------------


def test_the_emergency_choice_is_data_in_the_flow_file_and_the_greeting_says_it():
    flow = load_flow()
    assert flow.emergency is not None and flow.emergency.key == "*"
    assert {"救命", "有危险", "出事了", "有人受伤"} <= set(flow.emergency.phrases)
    menu = flow.step("menu")
    assert "星号键" in menu.prompt and "救命" in menu.prompt  # said at the greeting, and at every try
    assert flow.spoken_options(menu)["emergency"] == flow.emergency.phrases  # in every menu's grammar
    assert flow.emergency.said_in("救命 啊 厂里 出事 了") == "救命"
    assert flow.emergency.said_in("这个 事情 不 紧急 也 没有 危险") is None  # negated: not an emergency


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["emergency"].update(key="1"), "also option '1' of step 'menu'"),
        (lambda d: d["emergency"].update(key="#"), "also ends the recording of step 'describe'"),
        (lambda d: d["emergency"]["phrases"].append("律师"), "given for both 'legal' and the emergency"),
    ],
)
def test_an_emergency_key_or_phrase_that_means_something_else_is_refused(change, message):
    data = yaml.safe_load((Path(__file__).parents[1] / "ivr" / "flows" / "default.yaml").read_text("utf-8"))
    change(data)
    with pytest.raises(FlowError, match=message):
        parse_flow(data)


# --- the caller's own emergency ------------------------------------------------------------------------------


def test_the_emergency_key_at_the_menu_rings_the_supervisor_with_an_urgent_ticket_and_an_alert(setup):
    twilio, service, _ = setup
    report = _call(twilio, service, CallerScript(keys=["*"]))
    assert any("按星号键" in h and "救命" in h for h in report.heard)  # the greeting offered it
    assert report.dialled == [SUPERVISOR_PHONE], (report.timeline, report.errors, report.warnings)
    assert any("督办人员" in h for h in report.heard)
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "supervisor" and ticket["handling_class"] == "urgent"
    assert "danger" in ticket["urgency_flags"]
    assert len(_ticket_events(ticket, "caller_emergency")) == 1
    assert [(e["step"], e["why"]) for e in _events(service, report.call_sid, "emergency")] == [("menu", "caller_key")]
    assert len(_alerts_for(service, ticket["number"])) == 1


def test_the_emergency_key_during_the_recording_ends_it_and_rings_the_supervisor(setup):
    twilio, service, script = setup
    # A calm problem: only the key makes it urgent.
    clip = script.clip_saying("我在雁塔区小寨一家饭店打工老板两个月没发工资了")
    report = _call(twilio, service, CallerScript(keys=["2"], say=clip, finish_key="*"))
    assert report.dialled == [SUPERVISOR_PHONE]
    assert not any("转交" in h or "派单" in h for h in report.heard)  # not the union's or dispatcher's route
    assert [e["step"] for e in _events(service, report.call_sid, "emergency")] == ["describe"]
    ticket = service.wait_for_ticket(report.call_sid)  # the recording is kept and transcribed all the same
    assert ticket["route"] == "supervisor" and "danger" in ticket["urgency_flags"]
    assert "雁塔区" in ticket["summary"]
    assert len(_ticket_events(ticket, "caller_emergency")) == 1


def test_the_emergency_phrase_in_the_callers_words_rings_the_supervisor(setup):
    twilio, service, script = setup
    clip = script.clip_saying("救命 我想问一下工资的事情")  # nothing else in it is urgent
    report = _call(twilio, service, CallerScript(keys=["2"], say=clip))
    assert report.dialled == [SUPERVISOR_PHONE]
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "supervisor" and "danger" in ticket["urgency_flags"]
    said = _ticket_events(ticket, "caller_emergency")
    assert len(said) == 1 and "救命" in said[0]["note"]
    assert _events(service, report.call_sid, "routed")[-1]["emergency_phrase"] == "救命"


def test_the_emergency_key_at_the_district_question_rings_the_supervisor(setup):
    twilio, service, script = setup
    clip = script.clip_saying("老板两个月没发工资了")  # names no district: the caller is asked where
    report = _call(twilio, service, CallerScript(keys=["2", "*"], say=clip))
    assert any("哪个区县" in h for h in report.heard)
    assert report.dialled == [SUPERVISOR_PHONE]
    assert [e["step"] for e in _events(service, report.call_sid, "emergency")] == ["route:district"]


def test_the_emergency_key_while_waiting_for_a_lawyer_rings_the_supervisor(setup):
    twilio, service, script = setup
    assert service.api.post("/api/lawyers/L01/sign-in").status_code == 200
    try:
        clip = script.clip_saying("请问公司不给签劳动合同可以要求双倍工资吗")
        report = _call(
            twilio, service, CallerScript(keys=["1"], say=clip, queue_keys="*"), queue=CallerGivesUp(after=3600)
        )
        assert report.enqueued == ["lawyers"] and any("您是下一位" in h for h in report.heard)
        assert report.dialled == [SUPERVISOR_PHONE]
        assert [e["step"] for e in _events(service, report.call_sid, "emergency")] == ["route:queue"]
        assert service.api.get("/api/queue").json()["waiting"] == []  # out of the lawyer queue
    finally:
        service.api.post("/api/lawyers/L01/sign-out")


def test_the_emergency_key_after_a_knowledge_base_answer_rings_the_supervisor(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我想加入工会怎么申请入会")
    report = _call(twilio, service, CallerScript(keys=["3", "*"], say=clip))
    assert any("如果还需要人工服务" in h for h in report.heard)  # the answer was read, then the key
    assert report.dialled == [SUPERVISOR_PHONE]
    assert [e["step"] for e in _events(service, report.call_sid, "emergency")] == ["route:knowledge"]
    assert service.ticket_of(report.call_sid)["route"] == "supervisor"


# --- the ticket's final route is where the caller goes ------------------------------------------------------------


def test_a_repeat_caller_reaches_the_supervisor_not_the_union(setup):
    twilio, service, script = setup
    number = _caller()
    first = _call(
        twilio,
        service,
        CallerScript(
            keys=["2"], say=script.clip_saying("我在雁塔区小寨一家饭店打工老板两个月没发工资了一共欠我八千块")
        ),
        from_=number,
    )
    assert any("转交" in h for h in first.heard) and first.dialled == []  # the first call: the local union
    second = _call(
        twilio,
        service,
        CallerScript(keys=["2"], say=script.clip_saying("还是雁塔区小寨那家饭店的事老板还是不给工资")),
        from_=number,
    )
    ticket = service.ticket_of(second.call_sid)
    assert "repeat" in ticket["urgency_flags"] and ticket["route"] == "supervisor"
    assert second.dialled == [SUPERVISOR_PHONE]  # where the ticket says: the supervisor's phone
    assert not any("转交" in h or "律师" in h for h in second.heard)


def _wait_in_the_queue_then_flag_danger(twilio: TwilioEmulator, service: RunningService, script: ClipScript):
    """A legal caller waits for a lawyer (the recording's transcript held back); then the transcript comes,
    showing danger. Returns the call's report."""
    clip = script.clip_saying(DANGER)
    number = _caller()
    twilio.hold_recording_callbacks()
    try:
        thread, done = _in_background(
            lambda: _call(
                twilio,
                service,
                CallerScript(keys=["1"], say=clip),
                from_=number,
                queue=CallerGivesUp(after=3600),
                timeout=120,
            )
        )
        call_sid = _until("the call", lambda: _call_sid_from(twilio, number))
        _until("the caller waiting for a lawyer", lambda: _events(service, call_sid, "enqueued"))
        assert service.ticket_of(call_sid)["route"] == "lawyer_queue"  # routed before the words were known
    finally:
        twilio.release_recording_callbacks()
    thread.join(120)
    return done["report"]


def test_a_danger_flag_from_the_transcript_moves_the_caller_from_the_lawyer_queue_to_the_supervisor(setup):
    twilio, service, script = setup
    assert service.api.post("/api/lawyers/L01/sign-in").status_code == 200
    try:
        report = _wait_in_the_queue_then_flag_danger(twilio, service, script)
    finally:
        service.api.post("/api/lawyers/L01/sign-out")
    assert report.enqueued == ["lawyers"]
    assert report.dialled == [SUPERVISOR_PHONE]  # taken out of the queue to the supervisor's phone
    assert not any(phone in report.dialled for phone in LAWYER_PHONES)
    (redirect,) = _rest_redirects(report)  # one REST redirect of the live call
    assert "/twilio/urgent?why=urgent_flag" in redirect["detail"]
    moved = _events(service, report.call_sid, "moved_to_supervisor")
    assert [m["at"] for m in moved] == ["route:queue"]
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "supervisor" and "danger" in ticket["urgency_flags"]
    assert len(_ticket_events(ticket, "urgent_later")) == 1 and len(_ticket_events(ticket, "moved_to_supervisor")) == 1
    assert len(_alerts_for(service, ticket["number"])) == 1
    assert service.api.get("/api/queue").json()["waiting"] == []


def test_a_caller_who_hung_up_before_the_danger_flag_gets_an_alert_only(setup):
    twilio, service, script = setup
    clip = script.clip_saying(DANGER)
    number = _caller()
    twilio.hold_recording_callbacks()
    try:
        # Help, no district named (the words are not known yet): the district question, 0, the dispatcher, goodbye.
        thread, done = _in_background(
            lambda: _call(twilio, service, CallerScript(keys=["2", "0"], say=clip), from_=number, timeout=120)
        )
        call_sid = _until("the call", lambda: _call_sid_from(twilio, number))
        _until("the call's end", lambda: _call_view(service, call_sid).get("ended_at"))
    finally:
        twilio.release_recording_callbacks()
    thread.join(120)
    report = done["report"]
    assert any("派单" in h for h in report.heard) and report.dialled == []
    ticket = _until("the urgent route", lambda: (t := service.ticket_of(call_sid))["route"] == "supervisor" and t)
    assert "danger" in ticket["urgency_flags"] and len(_alerts_for(service, ticket["number"])) == 1
    skipped = _until("the move skipped", lambda: _events(service, call_sid, "supervisor_move_skipped"))
    assert skipped[0]["reason"] == "hung_up"
    assert _events(service, call_sid, "moved_to_supervisor") == [] and _rest_redirects(report) == []


def test_retried_webhooks_move_the_caller_once_and_alert_once(setup):
    twilio, service, script = setup
    assert service.api.post("/api/lawyers/L02/sign-in").status_code == 200
    twilio.retry_webhooks = True  # every webhook and callback delivered twice, as Twilio may
    try:
        report = _wait_in_the_queue_then_flag_danger(twilio, service, script)
        pressed = _call(twilio, service, CallerScript(keys=["*"]))
    finally:
        twilio.retry_webhooks = False
        service.api.post("/api/lawyers/L02/sign-out")
    assert len(_rest_redirects(report)) == 1  # one REST redirect of the live call, not two
    assert len(report.sent("update")) == 2  # the redirected call's request came twice, and was answered alike
    assert report.dialled == [SUPERVISOR_PHONE]
    assert len(_events(service, report.call_sid, "moved_to_supervisor")) == 1
    ticket = service.ticket_of(report.call_sid)
    assert len(_ticket_events(ticket, "urgent_later")) == 1 and len(_alerts_for(service, ticket["number"])) == 1
    # The emergency key's webhooks came twice too: one mark, one alert.
    assert pressed.dialled == [SUPERVISOR_PHONE]
    key_ticket = service.ticket_of(pressed.call_sid)
    assert len(_ticket_events(key_ticket, "caller_emergency")) == 1
    assert len(_alerts_for(service, key_ticket["number"])) == 1
