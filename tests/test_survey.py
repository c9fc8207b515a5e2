"""The satisfaction callback (回访): its schedule on a driven clock, and whole survey calls end to end.

End to end: the real service (`hotline serve`) places the outbound calls through the Twilio emulator's REST API;
scripted callees answer and press keys (or do not answer); every webhook is signed. The service reads the time
from a test clock file, so hours and working days pass at once.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from emulator import Callee, TwilioEmulator, sign
from hotline.db import make_engine, make_session_factory, transaction
from recordings.calls import record_call
from routing.calendar import WorkingCalendar
from routing.lifecycle import transition
from routing.survey import (
    ANSWERED,
    CALLING,
    CANCELLED,
    PENDING,
    UNREACHABLE,
    SurveyConfigError,
    due_calls,
    earliest_call_time,
    load_survey_policy,
    next_attempt_time,
    record_answer,
    record_no_answer,
)
from routing.tables import Alert, SatisfactionSurvey, Ticket
from routing.tickets import open_ticket_for_call
from tests.running_service import RunningService, emulator_env

BJ = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
SURVEY_FROM = "+8612351"

# The shipped prompts and keys, with the schedule the brief asks for and the first call at once.
TEST_SURVEY = """
voice: {language: zh-CN, voice: Polly.Zhiyu}
channel: voice
keys: {"1": satisfied, "2": basic, "3": dissatisfied}
reopen: [dissatisfied]
calling_hours: {start: "09:00", end: "20:00"}
working_days_only: true
first_call: {after_minutes: %(first)d}
retries:
  - {after_minutes: 120}
  - {next_working_day_at: "10:00"}
ring_timeout_s: 30
answer_timeout_s: 5
status_wait_minutes: 30
reasks: 2
prompts:
  intro: 您好，这里是12351职工服务热线，工单号{ticket_digits}，现在进行满意度回访。
  question: 满意请按1，基本满意请按2，不满意请按3。
  invalid: 对不起，您的按键无效。
  no_key: 对不起，没有收到您的按键。
  thanks: 您的评价是{label}。感谢您的评价，再见。
  thanks_reopened: 您的评价是{label}。感谢您的反馈，我们会督促重新办理，再见。
  goodbye_unanswered: 没有收到您的有效评价，感谢您的接听，再见。
"""


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def policy_file(tmp_path: Path, first_minutes: int = 0) -> Path:
    path = tmp_path / "survey.yaml"
    path.write_text(TEST_SURVEY % {"first": first_minutes}, encoding="utf-8")
    return path


# ----- the schedule (pure) ----------------------------------------------------------------------------------


def test_the_shipped_survey_file_asks_three_answers_and_tries_three_times():
    policy = load_survey_policy()
    assert policy.keys == {"1": "satisfied", "2": "basic", "3": "dissatisfied"}
    assert policy.max_attempts == 3 and policy.reopen == {"dissatisfied"}
    assert policy.result_for("3") == "dissatisfied" and policy.result_for("7") is None and policy.result_for("") is None


def test_a_wrong_survey_file_is_refused_with_the_reason(tmp_path):
    path = policy_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('3": dissatisfied', '3": happy'), encoding="utf-8")
    with pytest.raises(SurveyConfigError, match="happy"):
        load_survey_policy(path)
    path.write_text(
        TEST_SURVEY.replace('{next_working_day_at: "10:00"}', "{tomorrow: yes}") % {"first": 0}, encoding="utf-8"
    )
    with pytest.raises(SurveyConfigError, match="next_working_day_at"):
        load_survey_policy(path)


def test_calls_are_only_placed_in_calling_hours_on_working_days(tmp_path):
    policy = load_survey_policy(policy_file(tmp_path))
    assert earliest_call_time(policy, CAL, bj(2026, 11, 23, 10, 0)) == bj(2026, 11, 23, 10, 0)  # Monday
    assert earliest_call_time(policy, CAL, bj(2026, 11, 23, 7, 15)) == bj(2026, 11, 23, 9, 0)  # too early
    assert earliest_call_time(policy, CAL, bj(2026, 11, 23, 20, 0)) == bj(2026, 11, 24, 9, 0)  # closed at 20:00
    assert earliest_call_time(policy, CAL, bj(2026, 11, 28, 11, 0)) == bj(2026, 11, 30, 9, 0)  # Saturday → Monday
    # National Day week: from the evening of 30 September to the first working day, 8 October.
    assert earliest_call_time(policy, CAL, bj(2026, 9, 30, 21, 0)) == bj(2026, 10, 8, 9, 0)


def test_retries_after_two_hours_then_the_next_working_day_at_ten_then_none(tmp_path):
    policy = load_survey_policy(policy_file(tmp_path))
    assert next_attempt_time(policy, CAL, 1, bj(2026, 11, 23, 10, 0)) == bj(2026, 11, 23, 12, 0)
    assert next_attempt_time(policy, CAL, 1, bj(2026, 11, 23, 18, 30)) == bj(2026, 11, 24, 9, 0)  # 20:30 is late
    assert next_attempt_time(policy, CAL, 2, bj(2026, 11, 23, 12, 0)) == bj(2026, 11, 24, 10, 0)
    assert next_attempt_time(policy, CAL, 2, bj(2026, 11, 27, 12, 0)) == bj(2026, 11, 30, 10, 0)  # Friday → Monday
    assert next_attempt_time(policy, CAL, 2, bj(2026, 9, 30, 12, 0)) == bj(2026, 10, 8, 10, 0)  # over the holiday
    assert next_attempt_time(policy, CAL, 3, bj(2026, 11, 24, 10, 0)) is None


# ----- the survey's life in the database (SQLite and PostgreSQL) ---------------------------------------------


def _replied_ticket(session, caller: str, n: int) -> Ticket:
    call, _ = record_call(session, f"CA{n:032d}", caller, "+8612351")
    ticket = open_ticket_for_call(
        session, call_id=call.id, caller_number=caller, menu_choice="help", timezone="Asia/Shanghai"
    )
    transition(session, ticket, "dispatched", actor="dispatcher")
    transition(session, ticket, "replied", actor="union:xa-yanta", note="工资已结清")
    return ticket


def test_a_reply_schedules_one_survey_that_the_round_claims_once(migrated, tmp_path):
    policy = load_survey_policy(policy_file(tmp_path, first_minutes=30))
    with transaction(migrated) as session:
        ticket = _replied_ticket(session, "+8613700000001", 1)
    with transaction(migrated) as session:
        first = due_calls(session, policy, CAL, bj(2026, 11, 23, 19, 45))  # Monday evening: 20:15 is too late
        assert first.calls == [] and len(first.scheduled) == 1
        survey = session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.ticket_id == ticket.id))
        assert survey.round == 1 and survey.to_number == "+8613700000001"
        assert survey.next_attempt_at == bj(2026, 11, 24, 9, 0)
    with transaction(migrated) as session:
        assert due_calls(session, policy, CAL, bj(2026, 11, 24, 8, 59)).calls == []
        claimed = due_calls(session, policy, CAL, bj(2026, 11, 24, 9, 0)).calls
        assert [(c.attempt, c.to_number, c.ticket_number) for c in claimed] == [(1, "+8613700000001", ticket.number)]
        assert due_calls(session, policy, CAL, bj(2026, 11, 24, 9, 1)).calls == []  # calling: not placed twice
    with transaction(migrated) as session:
        survey = session.get(SatisfactionSurvey, claimed[0].survey_id)
        assert survey.status == CALLING and survey.attempts == 1
        assert record_no_answer(session, survey, 1, "busy", bj(2026, 11, 24, 9, 1), policy, CAL)
        assert not record_no_answer(session, survey, 1, "busy", bj(2026, 11, 24, 9, 2), policy, CAL)  # retried
        assert survey.status == PENDING and survey.next_attempt_at == bj(2026, 11, 24, 11, 1)


def test_no_word_about_a_call_counts_as_no_answer_after_the_wait(migrated, tmp_path):
    policy = load_survey_policy(policy_file(tmp_path))
    with transaction(migrated) as session:
        _replied_ticket(session, "+8613700000002", 2)
    with transaction(migrated) as session:
        (due,) = due_calls(session, policy, CAL, bj(2026, 11, 23, 10, 0)).calls
    with transaction(migrated) as session:
        assert due_calls(session, policy, CAL, bj(2026, 11, 23, 10, 29)).timed_out == []
        assert due_calls(session, policy, CAL, bj(2026, 11, 23, 10, 30)).timed_out == [due.survey_id]
        survey = session.get(SatisfactionSurvey, due.survey_id)
        assert survey.status == PENDING and survey.next_attempt_at == bj(2026, 11, 23, 12, 30)


def test_an_answer_is_recorded_once_and_a_ticket_moved_on_by_hand_is_not_called(migrated, tmp_path):
    policy = load_survey_policy(policy_file(tmp_path))
    with transaction(migrated) as session:
        asked = _replied_ticket(session, "+8613700000003", 3)
        by_hand = _replied_ticket(session, "+8613700000004", 4)
    with transaction(migrated) as session:
        transition(session, session.get(Ticket, by_hand.id), "callback", actor="operator:wang", note="已电话回访")
    with transaction(migrated) as session:
        result = due_calls(session, policy, CAL, bj(2026, 11, 23, 10, 0))
        assert [c.ticket_number for c in result.calls] == [asked.number] and len(result.cancelled) == 1
        survey = session.get(SatisfactionSurvey, result.calls[0].survey_id)
        assert record_answer(session, survey, "dissatisfied", bj(2026, 11, 23, 10, 1), policy=policy)
        assert not record_answer(session, survey, "satisfied", bj(2026, 11, 23, 10, 2), policy=policy)
    with migrated() as session:
        ticket = session.get(Ticket, asked.id)
        assert ticket.status == "supervised" and ticket.satisfaction == "dissatisfied"
        assert [e.kind for e in ticket.events][-3:] == ["replied", "callback", "supervised"]
        assert session.get(SatisfactionSurvey, survey.id).status == ANSWERED
        assert [a.kind for a in session.scalars(select(Alert).where(Alert.ticket_id == asked.id))] == ["dissatisfied"]
        cancelled = session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.ticket_id == by_hand.id))
        assert cancelled.status == CANCELLED


# ----- end to end: the real service, the emulator's outbound calls ------------------------------------------


class Setup:
    def __init__(self, twilio: TwilioEmulator, service: RunningService, clock: Path, token: str) -> None:
        self.twilio, self.service, self.clock_file, self.token = twilio, service, clock, token
        engine = make_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
        self.engine, self.factory = engine, make_session_factory(engine)
        self.serial = 0

    def clock(self, moment: datetime) -> None:
        """Set the service's clock. Written beside and renamed: a round that read the file while it was being
        rewritten would find it empty and fall back to the real time (outside calling hours, no call placed)."""
        fresh = self.clock_file.with_suffix(".new")
        fresh.write_text(moment.isoformat(), encoding="utf-8")
        os.replace(fresh, self.clock_file)

    def reply(self, caller: str) -> str:
        """A ticket from `caller`, dispatched and replied to by the union: its number."""
        self.serial += 1
        with transaction(self.factory) as session:
            ticket = _replied_ticket(session, caller, 900 + self.serial)
            return ticket.number

    def survey(self, number: str) -> SatisfactionSurvey:
        with self.factory() as session:
            return session.scalar(
                select(SatisfactionSurvey)
                .join(Ticket, Ticket.id == SatisfactionSurvey.ticket_id)
                .where(Ticket.number == number)
                .order_by(SatisfactionSurvey.id.desc())
            )

    def ticket(self, number: str) -> tuple[Ticket, list]:
        with self.factory() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            return ticket, [(e.kind, e.actor, e.note) for e in ticket.events]

    def wait_survey(self, number: str, check, timeout: float = 20) -> SatisfactionSurvey:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            survey = self.survey(number)
            if survey is not None and check(survey):
                return survey
            time.sleep(0.1)
        raise AssertionError(
            f"survey of {number} never got there: {vars(survey) if survey else None}\n{self.service.log()[-3000:]}"
        )


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    var = tmp_path_factory.mktemp("survey")
    clock = var / "clock.txt"
    clock.write_text(bj(2026, 11, 23, 10, 0).isoformat(), encoding="utf-8")
    with TwilioEmulator(*account) as twilio:
        service = RunningService(var, {})
        service.env.update(
            {
                **emulator_env(twilio),
                "HOTLINE_PUBLIC_URL": service.url,
                "HOTLINE_SURVEY_FILE": str(policy_file(var)),
                "HOTLINE_SURVEY_FROM_NUMBER": SURVEY_FROM,
                "HOTLINE_TEST_CLOCK_FILE": str(clock),
                "HOTLINE_SURVEY_SCAN_SECONDS": "0.2",
                "HOTLINE_JOB_POLL_SECONDS": "0.1",
                "HOTLINE_VOSK_MODEL_PATH": str(var / "no-model"),
            }
        )
        service.start()
        setup = Setup(twilio, service, clock, account[1])
        try:
            yield setup
        finally:
            service.stop()
            setup.engine.dispose()


def _caller() -> str:
    return f"+86139{secrets.randbelow(10**8):08d}"


def _statuses(call) -> list[str]:
    return [d.params["CallStatus"] for d in call.status_callbacks() if d.attempt == 1]


def test_key_1_records_satisfied_and_the_ticket_is_called_back(e2e):
    caller = _caller()
    e2e.twilio.expect_callee(caller, Callee.presses("1"))
    e2e.clock(bj(2026, 11, 23, 10, 0))
    number = e2e.reply(caller)
    (call,) = e2e.twilio.wait_for_outbound(caller, 1)
    survey = e2e.wait_survey(number, lambda s: s.status == ANSWERED)
    assert call.from_ == SURVEY_FROM and call.report.errors == []
    assert any("满意度回访" in h and "工单号" in h for h in call.heard) and call.keys == ["1"]
    assert any("您的评价是满意" in h for h in call.heard)
    assert _statuses(call) == ["queued", "ringing", "in-progress", "completed"]
    assert all(d.ok for d in call.status_callbacks() + call.report.requests)  # every signed webhook accepted
    assert survey.result == "satisfied" and survey.answered_at == bj(2026, 11, 23, 10, 0)
    assert survey.call_sid == call.sid and survey.attempts == 1
    ticket, events = e2e.ticket(number)
    assert ticket.status == "callback" and ticket.satisfaction == "satisfied"
    assert (
        events[-1][0] == "callback"
        and events[-1][1] == "survey"
        and "满意" in events[-1][2]
        and "satisfied" not in events[-1][2]
    )


def test_key_3_sends_the_ticket_back_under_supervision_with_an_alert(e2e):
    caller = _caller()
    e2e.twilio.expect_callee(caller, Callee.presses("3"))
    e2e.clock(bj(2026, 11, 23, 10, 0))
    number = e2e.reply(caller)
    (call,) = e2e.twilio.wait_for_outbound(caller, 1)
    survey = e2e.wait_survey(number, lambda s: s.status == ANSWERED)
    assert survey.result == "dissatisfied" and any("督促重新办理" in h for h in call.heard)
    ticket, events = e2e.ticket(number)
    assert ticket.status == "supervised" and ticket.satisfaction == "dissatisfied"
    assert [k for k, _, _ in events][-2:] == ["callback", "supervised"]
    with e2e.factory() as session:
        alerts = session.scalars(select(Alert).where(Alert.ticket_id == ticket.id)).all()
    assert [a.kind for a in alerts] == ["dissatisfied"] and number in alerts[0].message


def test_a_key_that_means_nothing_is_asked_again_twice_then_the_call_ends_as_no_answer(e2e):
    patient, muddled = _caller(), _caller()
    e2e.twilio.expect_callee(patient, Callee.presses("7", "", "2"))
    e2e.twilio.expect_callee(muddled, Callee.presses("7", "8", "9"))
    e2e.clock(bj(2026, 11, 23, 10, 0))
    patient_ticket, muddled_ticket = e2e.reply(patient), e2e.reply(muddled)
    (call,) = e2e.twilio.wait_for_outbound(patient, 1)
    assert e2e.wait_survey(patient_ticket, lambda s: s.status == ANSWERED).result == "basic"
    assert call.keys == ["7", "", "2"]
    assert any("按键无效" in h for h in call.heard) and any("没有收到您的按键" in h for h in call.heard)
    (call,) = e2e.twilio.wait_for_outbound(muddled, 1)
    survey = e2e.wait_survey(muddled_ticket, lambda s: s.status == PENDING and s.attempts == 1)
    assert call.keys == ["7", "8", "9"] and any("没有收到您的有效评价" in h for h in call.heard)
    assert survey.result is None and survey.next_attempt_at == bj(2026, 11, 23, 12, 0)
    ticket, events = e2e.ticket(muddled_ticket)
    assert ticket.status == "replied" and events[-1][0] == "survey_attempt" and "未按键挂机" in events[-1][2]


def test_no_answer_is_retried_on_the_schedule_then_marked_unreachable(e2e):
    caller = _caller()
    e2e.twilio.expect_callee(caller, Callee.no_answer(), Callee.hangs_up(), Callee.busy())
    e2e.clock(bj(2026, 11, 23, 10, 0))  # Monday
    number = e2e.reply(caller)
    (first,) = e2e.twilio.wait_for_outbound(caller, 1)
    assert first.report is None and _statuses(first) == ["queued", "ringing", "no-answer"]  # no TwiML fetched
    survey = e2e.wait_survey(number, lambda s: s.status == PENDING and s.attempts == 1)
    assert survey.next_attempt_at == bj(2026, 11, 23, 12, 0)

    e2e.clock(bj(2026, 11, 23, 11, 59))
    time.sleep(1.0)  # five rounds of the survey clock: not yet
    assert len(e2e.twilio.outbound_calls(caller)) == 1
    e2e.clock(bj(2026, 11, 23, 12, 0))
    second = e2e.twilio.wait_for_outbound(caller, 2)[1]
    assert second.keys == [] and second.status == "completed"  # answered, listened, hung up without a key
    survey = e2e.wait_survey(number, lambda s: s.status == PENDING and s.attempts == 2)
    assert survey.next_attempt_at == bj(2026, 11, 24, 10, 0)  # the next working day at 10:00

    e2e.clock(bj(2026, 11, 24, 10, 0))
    third = e2e.twilio.wait_for_outbound(caller, 3)[2]
    assert _statuses(third) == ["queued", "busy"]
    survey = e2e.wait_survey(number, lambda s: s.status == UNREACHABLE)
    assert survey.attempts == 3 and survey.next_attempt_at is None and survey.result is None
    ticket, events = e2e.ticket(number)
    assert ticket.status == "replied" and ticket.satisfaction is None
    survey_events = [(k, n) for k, _, n in events if k.startswith("survey")]
    assert [k for k, _ in survey_events] == ["survey_attempt", "survey_attempt", "survey_unreachable"]
    assert "无人接听" in survey_events[0][1] and "未按键挂机" in survey_events[1][1]
    assert "呼叫 3 次未接通" in survey_events[2][1] and "占线" in survey_events[2][1]
    e2e.clock(bj(2026, 11, 25, 10, 0))
    time.sleep(0.6)
    assert len(e2e.twilio.outbound_calls(caller)) == 3  # unreachable: no fourth call


def test_retried_webhooks_record_the_answer_once(e2e):
    caller = _caller()
    e2e.twilio.expect_callee(caller, Callee.presses("2"))
    e2e.clock(bj(2026, 11, 23, 10, 0))
    e2e.twilio.retry_webhooks = True  # Twilio sends every webhook of this call twice
    try:
        number = e2e.reply(caller)
        (call,) = e2e.twilio.wait_for_outbound(caller, 1)
    finally:
        e2e.twilio.retry_webhooks = False
    survey = e2e.wait_survey(number, lambda s: s.status == ANSWERED)
    keys = call.report.sent("gather")
    assert [d.attempt for d in keys] == [1, 2] and all(d.ok for d in keys)
    assert b"\xe5\x9f\xba\xe6\x9c\xac\xe6\xbb\xa1\xe6\x84\x8f" in keys[1].body  # the retry hears 基本满意 again
    assert [d.params["CallStatus"] for d in call.status_callbacks()][-2:] == ["completed", "completed"]
    time.sleep(0.5)  # the second status callback had its chance to count as no answer
    survey = e2e.survey(number)
    assert survey.status == ANSWERED and survey.result == "basic" and survey.attempts == 1
    ticket, events = e2e.ticket(number)
    kinds = [k for k, _, _ in events]
    assert kinds.count("callback") == 1 and "survey_answered" not in kinds and "survey_attempt" not in kinds
    assert ticket.status == "callback"


def test_a_forged_survey_webhook_is_refused_and_changes_nothing(e2e):
    caller = _caller()
    e2e.clock(bj(2026, 11, 28, 10, 0))  # a Saturday: the survey waits for Monday 09:00
    number = e2e.reply(caller)
    survey = e2e.wait_survey(number, lambda s: s.next_attempt_at is not None)
    assert survey.next_attempt_at == bj(2026, 11, 30, 9, 0) and e2e.twilio.outbound_calls(caller) == []
    url = f"{e2e.service.url}/twilio/survey/{survey.id}/keys?attempt=1"
    form = {"CallSid": "CA" + "0" * 32, "Digits": "3", "CallStatus": "in-progress"}
    for signature in ("forged", sign(secrets.token_hex(16), url, form), ""):
        refused = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
        assert refused.status_code == 403 and "X-Twilio-Signature" in refused.text
    # The same request rightly signed is heard, but it is not this survey's call (no attempt placed): nothing.
    heard = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(e2e.token, url, form)}, timeout=10)
    assert heard.status_code == 200 and "<Hangup" in heard.text
    survey = e2e.survey(number)
    assert survey.status == PENDING and survey.result is None and survey.attempts == 0
    assert e2e.ticket(number)[0].status == "replied"


def test_the_emulator_refuses_a_call_without_a_from_number_as_twilio_does():
    from twilio.base.exceptions import TwilioRestException

    from hotline.credentials import TwilioCredentials
    from hotline.twilio_client import twilio_client

    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    with TwilioEmulator(*account) as twilio:
        rest = twilio_client(TwilioCredentials(*account), twilio.api_url)
        with pytest.raises(TwilioRestException) as refused:
            rest.calls.create(to="+8613900000000", from_="", url="http://127.0.0.1:9/x")
        assert refused.value.status == 400 and refused.value.code == 21213
        placed = rest.calls.create(to="+8613900000000", from_=SURVEY_FROM, url="http://127.0.0.1:9/x")
        assert placed.status == "queued" and placed.direction == "outbound-api" and placed.sid.startswith("CA")
        (call,) = twilio.wait_for_outbound("+8613900000000", 1)
        assert call.status == "no-answer" and call.report is None  # nobody scripted: it rings out
