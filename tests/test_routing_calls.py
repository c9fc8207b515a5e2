"""Each route, end to end: the real service called through the emulator.

The caller's Mandarin words come from the clearly named test recognizer (`speech.scripted`, the Mandarin model
is not obtainable here): real Mandarin clips are the audio, their transcript is scripted. Everything else —
webhooks, signatures, recordings, the classifier, routing, the database — is real.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from emulator import AgentAnswers, CallerGivesUp, CallerScript, DialBehaviour, TwilioEmulator
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from routing.tables import Ticket
from tests.conftest import KO_SPEECH, ZH_SPEECH, korean_model_path
from tests.rosters import round_the_clock_roster
from tests.running_service import RunningService, emulator_env
from tests.scripted_clips import ClipScript
from tests.waiting import poll

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

CLIPS = sorted(ZH_SPEECH.glob("*.wav")) + sorted(KO_SPEECH.glob("*.wav"))  # any real speech serves as audio
ROUND_THE_CLOCK_ROSTER = round_the_clock_roster(max_wait_s=300)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    var = tmp_path_factory.mktemp("routing")
    (var / "roster.yaml").write_text(ROUND_THE_CLOCK_ROSTER, encoding="utf-8")
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
                "HOTLINE_SLA_SCAN_SECONDS": "0.3",
            },
        )
        with service:
            yield twilio, service, script


def _caller() -> str:
    return f"+86137{secrets.randbelow(10**8):08d}"


def _call(twilio: TwilioEmulator, service: RunningService, keys: list[str], say: Path | None, **options):
    return twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=keys, say=say),
        from_=options.pop("from_", _caller()),
        status_callback=f"{service.url}/twilio/status",
        **options,
    )


def _api(service: RunningService, method: str, path: str, **kwargs) -> httpx.Response:
    """The REST API as an administrator (who may act for any seat) uses it."""
    return service.api.request(method, path, **kwargs)


def test_help_naming_a_district_is_dispatched_to_that_union(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我在雁塔区小寨一家饭店打工老板两个月没发工资了一共欠我八千块")
    report = _call(twilio, service, ["2"], clip)
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "local_union" and ticket["union_id"] == "xa-yanta"
    assert ticket["status"] == "dispatched" and ticket["subject"] == "wage_arrears"
    assert ticket["entities"]["amount"]["value"] == 8000
    told = next(h for h in report.heard if "转交" in h)
    assert "雁塔区总工会" in told and "7个工作日" in told and "工单号" in told
    assert not any("哪个区县" in h for h in report.heard)  # the caller said it: no need to ask


def test_two_districts_named_go_to_the_dispatcher_not_a_guess(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我住在碑林区公司注册在莲湖区老板拖欠工资三个月了")
    report = _call(twilio, service, ["2"], clip)
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "dispatcher" and ticket["status"] == "accepted" and ticket["union_id"] is None
    assert any("派单" in h for h in report.heard)
    routed = next(e for e in ticket["events"] if e["kind"] == "routed")
    assert "碑林区" in routed["note"] and "莲湖区" in routed["note"]
    # A dispatcher then decides, through the API.
    dispatcher = service.staff("dispatcher-li", "operator")
    done = dispatcher.post(
        f"/api/tickets/{ticket['number']}/dispatch", json={"union_id": "xa-lianhu", "note": "公司注册地"}
    )
    assert done.status_code == 200 and done.json()["status"] == "dispatched"
    assert done.json()["events"][-1]["actor"] == "dispatcher-li"  # who signed in, not who they claim to be


def test_many_workers_and_a_large_amount_go_to_a_supervisor_at_once_with_an_alert(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我们十三个木工在长安区一个工地干了一年包工头欠我们六十多万工资一直不给")
    report = _call(twilio, service, ["2"], clip, dial=DialBehaviour(answer=True, talk_seconds=60))
    assert report.dialled == ["+8613900000201"]
    assert any("紧急" in h for h in report.heard)
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "supervisor" and ticket["handling_class"] == "urgent"
    assert {"mass", "large"} <= set(ticket["urgency_flags"])
    assert ticket["entities"]["workers"]["value"] == 13
    alerts = _api(service, "GET", "/api/alerts").json()
    assert any(a["kind"] == "urgent" and ticket["number"] in a["message"] for a in alerts)
    handled = _api(service, "GET", f"/api/calls/{report.call_sid}").json()
    assert (handled["handler"], handled["handler_role"]) == ("S01", "supervisor")


def test_related_calls_about_one_project_become_one_case(setup):
    twilio, service, script = setup
    first = script.clip_saying("我是放牧的在草原围栏修缮项目干活甲劳务公司欠我两万三千块十个月了")
    second = script.clip_saying("草原围栏修缮项目乙工程队也欠我们工资好几个月了")
    a_call = _call(twilio, service, ["2", "0"], first).call_sid
    b = service.ticket_of(_call(twilio, service, ["2", "0"], second).call_sid)
    a = service.ticket_of(a_call)
    assert a["case_id"] is not None and a["case_id"] == b["case_id"]
    assert "repeat" in b["urgency_flags"]  # 多: a second call about the same project
    case = _api(service, "GET", f"/api/cases/{a['case_id']}").json()
    assert {t["number"] for t in case["tickets"]} == {a["number"], b["number"]}


def test_legal_question_to_a_lawyer_waiting_with_the_queue_position_announced(setup):
    twilio, service, script = setup
    assert _api(service, "POST", "/api/lawyers/L01/sign-in").status_code == 200
    try:
        clip = script.clip_saying("请问公司不给签劳动合同可以要求双倍工资吗")
        report = _call(twilio, service, ["1"], clip, queue=AgentAnswers(after=20, talk=120))
        assert report.enqueued == ["lawyers"]
        assert any("您是下一位" in h and "分钟" in h for h in report.heard)  # the only caller: none ahead
        ticket = service.ticket_of(report.call_sid)
        assert ticket["route"] == "lawyer_queue" and ticket["assigned_to"] == "L01"
        assert any(e["kind"] == "lawyer_answered" for e in ticket["events"])
        assert _api(service, "GET", "/api/queue").json()["waiting"] == []
    finally:
        _api(service, "POST", "/api/lawyers/L01/sign-out")


def test_caller_giving_up_in_the_queue_still_gets_a_callback_ticket(setup):
    twilio, service, script = setup
    _api(service, "POST", "/api/lawyers/L02/sign-in")
    try:
        clip = script.clip_saying("我想咨询一下工伤认定需要准备哪些材料")
        number = _caller()
        report = _call(twilio, service, ["1"], clip, from_=number)  # nobody picks up; the caller hangs up
        ticket = service.ticket_of(report.call_sid)
        assert ticket["route"] == "lawyer_callback" and ticket["callback_number"] == number
        assert ticket["assigned_to"] in ("L01", "L02")
    finally:
        _api(service, "POST", "/api/lawyers/L02/sign-out")


def test_the_closed_loop_through_the_api(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我在灞桥区一个厂里上班厂里三个月没发工资了")
    ticket = service.ticket_of(_call(twilio, service, ["2"], clip).call_sid)
    number = ticket["number"]
    assert ticket["status"] == "dispatched"
    refused = _api(service, "POST", f"/api/tickets/{number}/transitions", json={"to": "archived", "actor": "x"})
    assert refused.status_code == 409 and "只能转到" in refused.json()["detail"]
    unknown_state = _api(service, "POST", f"/api/tickets/{number}/transitions", json={"to": "solved"})
    assert unknown_state.status_code == 409 and "没有“solved”这个状态" in unknown_state.json()["detail"]
    extended = _api(
        service,
        "POST",
        f"/api/tickets/{number}/extensions",
        json={"working_days": 2, "actor": "union:xa-baqiao", "reason": "等待企业提供工资表"},
    )
    assert extended.status_code == 200 and extended.json()["extensions"] == 1
    for state, actor in (("replied", "union:xa-baqiao"), ("callback", "operator:wang"), ("archived", "operator:wang")):
        body = {"to": state, "actor": actor, "note": "已解决"}
        if state == "archived":
            body["recovered_amount"] = 15000
        response = _api(service, "POST", f"/api/tickets/{number}/transitions", json=body)
        assert response.status_code == 200, response.text
    final = _api(service, "GET", f"/api/tickets/{number}").json()
    assert final["status"] == "archived" and final["recovered_amount"] == 15000 and final["closed_at"]
    assert [e["actor"] for e in final["events"] if e["kind"] in ("replied", "callback", "archived")] == [
        "union:xa-baqiao (by test-admin)",
        "operator:wang (by test-admin)",
        "operator:wang (by test-admin)",
    ]


def test_the_service_escalates_an_overdue_ticket_on_its_own(setup):
    twilio, service, script = setup
    clip = script.clip_saying("我在临潼区一个景区上班老板欠了我五千块工资")
    ticket = service.ticket_of(_call(twilio, service, ["2"], clip).call_sid)
    assert ticket["status"] == "dispatched" and ticket["union_id"] == "xa-lintong"
    # Move the deadline into the past (as if seven working days went by) and let the SLA clock notice.
    engine = make_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
    with transaction(make_session_factory(engine)) as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == ticket["number"]))
        stored.reply_due_at = utcnow() - timedelta(minutes=5)
    engine.dispose()

    def escalated() -> dict | None:
        current = _api(service, "GET", f"/api/tickets/{ticket['number']}").json()
        return current if current["status"] == "supervised" else None

    current = poll(escalated, every_s=0.2)
    assert current is not None, "the overdue ticket was not escalated"
    assert any(e["kind"] == "escalated" and e["actor"] == "sla" for e in current["events"])
    alerts = _api(service, "GET", "/api/alerts").json()
    assert any(a["kind"] == "overdue" and ticket["number"] in a["message"] for a in alerts)


def test_a_wait_past_the_limit_takes_the_caller_out_of_the_queue_to_a_callback(setup):
    twilio, service, script = setup
    _api(service, "POST", "/api/lawyers/L02/sign-in")  # on duty and signed in, but busy elsewhere
    try:
        clip = script.clip_saying("请问单位拖欠社保我可以申请仲裁吗")
        number = _caller()
        report = _call(twilio, service, ["1", "1"], clip, from_=number, queue=CallerGivesUp(after=3600))
        positions = [h for h in report.heard if "您是下一位" in h]
        assert len(positions) >= 2  # announced again while waiting
        assert any("无法接听" in h for h in report.heard)  # then offered a callback, not endless ringing
        ticket = service.ticket_of(report.call_sid)
        assert ticket["route"] == "lawyer_callback" and ticket["callback_number"] == number
        queue_event = next(
            e
            for e in _api(service, "GET", f"/api/calls/{report.call_sid}").json()["events"]
            if e["kind"] == "queue_left"
        )
        assert queue_event["detail"]["result"] == "leave" and int(queue_event["detail"]["waited"]) >= 300
    finally:
        _api(service, "POST", "/api/lawyers/L02/sign-out")


def test_a_free_lawyer_takes_the_caller_who_waited_longest(setup):
    twilio, service, script = setup
    _api(service, "POST", "/api/lawyers/L01/sign-in")
    try:
        clip = script.clip_saying("请问试用期被辞退有没有经济补偿")
        done: dict = {}
        caller = threading.Thread(
            target=lambda: done.update(
                report=_call(
                    twilio, service, ["1"], clip, queue=CallerGivesUp(after=3600), dial=DialBehaviour(talk_seconds=90)
                )
            )
        )
        caller.start()
        waiting = poll(lambda: _api(service, "GET", "/api/queue").json()["waiting"], every_s=0.02)  # in the queue
        assert waiting and waiting[0]["position"] == 1
        busy = _api(service, "POST", "/api/queue/take", json={"lawyer_id": "L02"})
        assert busy.status_code == 409 and busy.json()["code"] == "lawyer_not_free"  # L02 is not signed in
        taken = _api(service, "POST", "/api/queue/take", json={"lawyer_id": "L01"})
        assert taken.status_code == 200, taken.text
        assert next(p for p in _api(service, "GET", "/api/lawyers").json() if p["id"] == "L01")["free"] is False
        caller.join(60)
        report = done["report"]
        assert report.dialled == ["+8613900000101"] and any("王律师" in h for h in report.heard)
        ticket = service.ticket_of(report.call_sid)
        assert ticket["route"] == "lawyer_queue" and ticket["assigned_to"] == "L01"
        assert next(p for p in _api(service, "GET", "/api/lawyers").json() if p["id"] == "L01")["free"] is True
        assert _api(service, "POST", "/api/queue/take", json={"lawyer_id": "L01"}).json()["code"] == "nobody_waiting"
    finally:
        _api(service, "POST", "/api/lawyers/L01/sign-out")
