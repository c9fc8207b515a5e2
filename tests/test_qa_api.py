"""`/api/qa` against the real service (`hotline serve`): inspectors read a sampled call with its recording,
transcripts and ticket, score it, a supervisor reviews it, the handler answers the feedback; roles and bad
input are refused with messages a person understands."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from hotline.db import make_engine, make_session_factory, transaction
from recordings.qa_sampling import parse_sampling, sample_day
from recordings.rubrics import load_rubric
from recordings.tables import Call, Recording, Transcript
from routing.tables import Ticket
from staff.tables import AuditEntry
from tests.running_service import RunningService

DAY = "2026-11-25"
SH = ZoneInfo("Asia/Shanghai")
FULL = {item_id: item.max for item_id, item in load_rubric().items.items()}
WORDS = [
    {"word": "您好", "start": 0.4, "end": 0.9, "conf": 0.93},
    {"word": "工会", "start": 1.0, "end": 1.5, "conf": 0.88},
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        one = Call(
            call_sid="CA-qa-1",
            from_number="+8613812341234",
            started_at=datetime(2026, 11, 25, 10, 0, tzinfo=SH),
            duration_s=95,
            handler="op_a",
            handler_role="operator",
            status="completed",
        )
        two = Call(
            call_sid="CA-qa-2",
            from_number="+8613900001111",
            started_at=datetime(2026, 11, 25, 11, 0, tzinfo=SH),
            duration_s=300,
            handler="L01",
            handler_role="lawyer",
            status="completed",
        )
        desk = Call(
            call_sid="CA-qa-desk",
            from_number="+8613900002222",
            status="completed",
            started_at=datetime(2026, 11, 25, 12, 0, tzinfo=SH),
            duration_s=120,
            handler="desk:+8612351000",
            handler_role="operator",
        )  # answered on the operators' shared desk
        session.add_all([one, two, desk])
        session.flush()
        rec = Recording(
            recording_sid="RE-qa-1", call_id=one.id, source="call", status="transcribed", duration_s=95.0, channels=2
        )
        session.add(rec)
        session.flush()
        session.add_all(
            [
                Transcript(recording_id=rec.id, channel=0, text="老板欠我工资", words=WORDS),
                Transcript(recording_id=rec.id, channel=1, text="您好 工会", words=WORDS),
            ]
        )
        session.add_all(
            [
                Ticket(
                    number="12351-20261125-0001",
                    call_id=one.id,
                    subject="wage_arrears",
                    summary="欠薪三个月",
                    status="dispatched",
                ),
                Ticket(number="12351-20261125-0002", call_id=two.id, urgency_flags=["mass"]),
            ]
        )
    sampling = parse_sampling({"quota": {"operator": {"count": 1}, "lawyer": {"count": 1}}})
    sample_day(factory, date(2026, 11, 25), sampling, tz="Asia/Shanghai", inspectors=["insp1"])
    svc.engine = engine
    yield svc
    svc.stop()
    engine.dispose()


def _samples(service: RunningService) -> dict[str, dict]:
    listed = service.staff("insp1", "inspector").get("/api/qa/samples", params={"day": DAY})
    assert listed.status_code == 200, listed.text
    return {s["call_sid"]: s for s in listed.json()}


def test_roles_are_checked(service):
    assert httpx.get(f"{service.url}/api/qa/samples").status_code == 401
    operator = service.staff("op_a", "operator")
    refused = operator.get("/api/qa/samples", params={"day": DAY})
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_role"
    assert "只有质检员、班长/主管可以使用，您登录的身份是话务员" in refused.json()["detail"]
    assert operator.get("/api/qa/feedback").status_code == 403  # everyone's feedback: inspectors only
    assert operator.get("/api/qa/feedback", params={"mine": "true"}).status_code == 200


def test_the_console_reads_a_sampled_call(service):
    samples = _samples(service)
    assert {sid: (s["reason"], s["inspector"]) for sid, s in samples.items()} == {
        "CA-qa-1": ("quota", "insp1"),
        "CA-qa-2": ("urgent", "insp1"),
        "CA-qa-desk": ("quota", "insp1"),
    }
    mine = service.staff("insp2", "inspector").get("/api/qa/samples", params={"day": DAY, "mine": "true"})
    assert mine.json() == []  # nothing was given to insp2

    view = service.staff("insp1", "inspector").get(f"/api/qa/samples/{samples['CA-qa-1']['id']}").json()
    assert view["call"] == {
        "call_sid": "CA-qa-1",
        "caller": "+86138****1234",
        "started_at": "2026-11-25T02:00:00+00:00",
        "duration_s": 95,
        "handler": "op_a",
        "handler_role": "operator",
        "handler_role_label": "话务员",  # the code for programs, the word for people
    }
    (recording,) = view["recordings"]
    assert recording["audio_url"] == "/api/recordings/RE-qa-1/audio"
    assert [(t["channel"], t["text"]) for t in recording["transcripts"]] == [(0, "老板欠我工资"), (1, "您好 工会")]
    assert recording["transcripts"][0]["words"] == WORDS
    assert view["ticket"]["number"] == "12351-20261125-0001" and view["ticket"]["summary"] == "欠薪三个月"
    items = {i["id"] for s in view["rubric"]["sections"] for i in s["items"]}
    assert items == set(FULL) and view["scores"] == [] and view["feedback"] == []
    with make_session_factory(service.engine)() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "view_ticket", AuditEntry.actor == "insp1")
        ).all()
    assert [a.target for a in audited] == ["12351-20261125-0001"]


def test_scoring_review_feedback_and_rectification(service):
    samples = _samples(service)
    first = samples["CA-qa-1"]["id"]
    insp1, sup = service.staff("insp1", "inspector"), service.staff("sup", "supervisor")
    url = f"/api/qa/samples/{first}/scores"

    beyond = insp1.post(url, json={"items": {**FULL, "greeting": 6}})
    assert (
        beyond.status_code == 422
        and "「规范问候、报工号」的分数须在 0 到 5 之间（填的是 6）" in beyond.json()["detail"]
    )
    unknown = insp1.post(url, json={"items": {**FULL, "smile": 2}})
    assert unknown.status_code == 422 and "评分表里没有这些项：smile" in unknown.json()["detail"]
    late = insp1.post(url, json={"items": FULL, "comments": [{"at_s": 500, "channel": 1, "text": "x"}]})
    assert late.status_code == 422 and "超出通话时长 95 秒" in late.json()["detail"]
    no_csrf = httpx.post(f"{service.url}{url}", json={"items": FULL}, cookies=insp1.cookies)
    assert no_csrf.status_code == 403

    comment = {"at_s": 3.5, "channel": 1, "text": "开场没有告知录音"}
    scored = insp1.post(url, json={"items": {**FULL, "recording_notice": 0}, "comments": [comment]})
    assert scored.status_code == 200, scored.text
    assert (scored.json()["total"], scored.json()["critical_failed"]) == (0, ["recording_notice"])
    assert scored.json()["comments"] == [comment]
    other = service.staff("insp2", "inspector").post(url, json={"items": FULL})
    assert other.status_code == 409 and "insp1 已质检过这通电话，如需调整请提交复核" in other.json()["detail"]

    self_review = insp1.post(f"/api/qa/samples/{first}/review", json={"items": FULL})
    assert self_review.status_code == 403 and "请由另一位质检员或班长复核" in self_review.json()["detail"]
    reviewed = sup.post(f"/api/qa/samples/{first}/review", json={"items": {**FULL, "key_facts": 10}})
    assert reviewed.status_code == 200 and reviewed.json()["total"] == 95

    feedback = sup.post(f"/api/qa/samples/{first}/feedback", json={"message": "问清欠薪人数和金额"})
    assert feedback.status_code == 200 and feedback.json()["handler"] == "op_a"
    fb_id = feedback.json()["id"]
    early_close = insp1.post(f"/api/qa/feedback/{fb_id}/close")
    assert early_close.status_code == 409 and "经办人还没有整改，不能关闭" in early_close.json()["detail"]

    op_a = service.staff("op_a", "operator")
    (mine,) = [f for f in op_a.get("/api/qa/feedback", params={"mine": "true"}).json() if f["handler"] == "op_a"]
    assert (mine["id"], mine["call_sid"], mine["status"], mine["score"]["total"]) == (fb_id, "CA-qa-1", "open", 95)
    stranger = service.staff("op_b", "operator").post(
        f"/api/qa/feedback/{fb_id}/rectification", json={"text": "已整改"}
    )
    assert stranger.status_code == 403 and "（op_a）" in stranger.json()["detail"]
    empty = op_a.post(f"/api/qa/feedback/{fb_id}/rectification", json={"text": ""})
    assert empty.status_code == 422
    answered = op_a.post(f"/api/qa/feedback/{fb_id}/rectification", json={"text": "已学习受理要点"})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    closed = insp1.post(f"/api/qa/feedback/{fb_id}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_by"] == "insp1"
    assert _samples(service)["CA-qa-1"]["status"] == "closed"
    assert _samples(service)["CA-qa-1"]["score"] == 95

    # The lawyer's call: the lawyer is known by their roster seat, L01.
    second = samples["CA-qa-2"]["id"]
    assert insp1.post(f"/api/qa/samples/{second}/scores", json={"items": {**FULL, "accuracy": 5}}).status_code == 200
    assert insp1.post(f"/api/qa/samples/{second}/feedback", json={"message": "政策解答要准确"}).status_code == 200
    lawyer = service.staff("wang", "lawyer", roster_id="L01")
    (theirs,) = lawyer.get("/api/qa/feedback", params={"mine": "true"}).json()
    assert theirs["handler"] == "L01" and theirs["call_sid"] == "CA-qa-2"

    people = sup.get("/api/qa/people", params={"start": DAY, "end": DAY}).json()["people"]
    assert people == [
        {
            "handler": "L01",
            "handler_role": "lawyer",
            "handler_role_label": "律师",
            "calls_inspected": 1,
            "critical_failures": 0,
            "feedback_given": 1,
            "rectified": 0,
            "average_score": 90.0,
            "rectification_rate": 0.0,
        },
        {
            "handler": "op_a",
            "handler_role": "operator",
            "handler_role_label": "话务员",
            "calls_inspected": 1,
            "critical_failures": 0,
            "feedback_given": 1,
            "rectified": 1,
            "average_score": 95.0,
            "rectification_rate": 1.0,
        },
    ]
    backwards = sup.get("/api/qa/people", params={"start": "2026-11-26", "end": DAY})
    assert backwards.status_code == 422 and "晚于结束日期" in backwards.json()["detail"]


def test_calibration_shows_the_spread(service):
    second = _samples(service)["CA-qa-2"]["id"]
    for who, facts in (("cal1", 15), ("cal2", 9)):
        done = service.staff(who, "inspector").post(
            f"/api/qa/samples/{second}/scores", json={"items": {**FULL, "key_facts": facts}, "stage": "calibration"}
        )
        assert done.status_code == 200, done.text
    spread = service.staff("sup", "supervisor").get(f"/api/qa/samples/{second}/calibration").json()
    # key_facts 15 and 9: population stdev 3; totals 100 and 94: stdev 3.
    assert spread["items"]["key_facts"] == {"n": 2, "min": 9, "max": 15, "stdev": 3.0}
    assert spread["total"] == {"n": 2, "min": 94, "max": 100, "stdev": 3.0}
    missing = service.staff("sup", "supervisor").get("/api/qa/samples/999999/calibration")
    assert missing.status_code == 404 and "没有编号为 999999 的抽样" in missing.json()["detail"]


def test_any_operator_answers_the_feedback_on_a_call_the_shared_desk_took(service):
    desk_sample = _samples(service)["CA-qa-desk"]["id"]
    insp1 = service.staff("insp1", "inspector")
    assert insp1.post(f"/api/qa/samples/{desk_sample}/scores", json={"items": FULL}).status_code == 200
    sent = insp1.post(f"/api/qa/samples/{desk_sample}/feedback", json={"message": "转接前请先问清诉求"})
    assert sent.status_code == 200 and sent.json()["handler"] == "desk:+8612351000"
    operator = service.staff("op_desk", "operator")
    assert [
        f["call_sid"]
        for f in operator.get("/api/qa/feedback", params={"mine": "true"}).json()
        if f["handler"].startswith("desk:")
    ] == ["CA-qa-desk"]
    lawyer = service.staff("lawyer_desk", "lawyer", roster_id="L09")
    refused = lawyer.post(f"/api/qa/feedback/{sent.json()['id']}/rectification", json={"text": "已整改"})
    assert refused.status_code == 403  # the desk is the operators', not the lawyers'
    answered = operator.post(f"/api/qa/feedback/{sent.json()['id']}/rectification", json={"text": "已培训转接流程"})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
