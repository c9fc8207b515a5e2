"""What the caller hears on the way out (issue 13): a callback number that is checked and read back, a ticket
number on every route (the operator transfer too), the dispatcher's deadline, and an invalid key told apart
from silence.

Each call goes through the Twilio emulator (signed webhooks) to the real service and its database; the caller's
keys are scripted, and what they heard (`report.heard`) and the ticket the service kept are asserted. No lawyer
signs in here, so a legal question always ends at the callback offer.
"""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from emulator import CallerScript, TwilioEmulator, parse_twiml, sign
from emulator.twiml import Say
from ivr.callback_number import international, national_number, spoken_number
from ivr.flow import load_flow
from ivr.twiml import render_step
from routing.sla import load_sla
from tests.conftest import KO_SPEECH, ZH_SPEECH, korean_model_path
from tests.running_service import RunningService, emulator_env

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"  # names no Chinese district: the caller is asked for it
ZH_CLIP = ZH_SPEECH / "paddlespeech_zh.wav"
OPERATORS_DESK = "+8612351000"  # the flow's operator number (ivr/flows/default.yaml)
SPOKEN = str.maketrans("0123456789", "零幺二三四五六七八九")


@pytest.fixture(scope="module")
def service(tmp_path_factory, twilio):
    svc = RunningService(
        tmp_path_factory.mktemp("var"),
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    svc.start()
    yield svc
    svc.stop()


def _caller() -> str:
    return f"+86138{secrets.randbelow(10**8):08d}"


def _call(twilio: TwilioEmulator, service: RunningService, keys: list[str], say=None, from_: str | None = None):
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=keys, say=say),
        from_=from_ or _caller(),
        status_callback=f"{service.url}/twilio/status",
    )
    assert not report.errors, (report.errors, report.timeline)
    return report


def _spoken_ticket(number: str) -> str:
    """The ticket number as the caller hears it, without the pauses: 幺二三五幺二零二六…"""
    return number.replace("-", "").translate(SPOKEN)


def _digits_heard(line: str) -> str:
    return "".join(ch for ch in line if ch in "零幺二三四五六七八九")


def _told_ticket(heard: list[str], ticket: dict, *, before: str) -> str:
    """The line that told the caller the ticket number (digit by digit) and also says `before`."""
    lines = [h for h in heard if "工单号" in h and before in h]
    assert lines, heard
    assert _spoken_ticket(ticket["number"]) in _digits_heard(lines[0]), (lines[0], ticket["number"])
    return lines[0]


# --- the number rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    ["13912345678", "19912345678", "01088886666", "0108888666", "02988886666", "075588886666", "07558888666"],
)
def test_a_mainland_mobile_or_a_landline_with_its_area_code_is_accepted(keys):
    assert national_number(keys) == keys
    assert national_number(keys + "#") == keys


@pytest.mark.parametrize(
    "keys",
    ["9" * 300, "123", "1", "", "1391234567", "139123456789", "12912345678", "0012345678", "88886666", "139*2345678"],
)
def test_anything_else_is_refused(keys):
    assert national_number(keys) is None


def test_the_number_is_stored_as_a_caller_id_is_and_read_back_in_groups():
    assert international("13912345678") == "+8613912345678"
    assert international("02988886666") == "+862988886666"  # the trunk 0 is not dialled after +86
    assert spoken_number("13912345678") == "幺 三 九，幺 二 三 四，五 六 七 八"
    assert spoken_number("075588886666") == "零 七 五 五，八 八 八 八 六 六 六 六"


def test_the_menu_played_again_says_why_a_wrong_key_or_silence():
    flow = load_flow()
    menu = flow.step("menu")
    after_key = render_step(flow, menu, attempt=2, wrong_key=True)
    after_silence = render_step(flow, menu, attempt=2)
    assert "您按的键无效，请重新选择" in after_key and "没有收到您的有效选择" not in after_key
    assert "没有收到您的有效选择" in after_silence and "按的键无效" not in after_silence


# --- the callback number, on the phone ----------------------------------------------------------------------


def test_a_refused_number_is_asked_for_again_then_a_good_one_is_read_back_and_confirmed(twilio, service):
    report = _call(twilio, service, ["1", "123", "13912345678", "1"], say=ZH_CLIP)
    assert any("无法接听" in h and "按1" in h for h in report.heard)  # the callback offer
    refused = [h for h in report.heard if "号码无效" in h]
    assert len(refused) == 1 and "11位手机号码" in " ".join(report.heard)  # said so, and asked again once
    readback = next(h for h in report.heard if "您输入的号码是" in h)
    assert "幺 三 九，幺 二 三 四，五 六 七 八" in readback and "确认请按1" in readback and "重新输入请按2" in readback
    ticket = service.ticket_of(report.call_sid)
    assert (ticket["route"], ticket["callback_number"]) == ("lawyer_callback", "+8613912345678")
    _told_ticket(report.heard, ticket, before="回电")
    assert not any("本机的号码" in h for h in report.heard)


def test_a_good_number_can_be_typed_again_and_the_second_is_confirmed(twilio, service):
    report = _call(twilio, service, ["1", "13912345678", "2", "02988886666", "1"], say=ZH_CLIP)
    readbacks = [h for h in report.heard if "您输入的号码是" in h]
    assert len(readbacks) == 2
    assert "幺 三 九" in readbacks[0] and "零 二 九，八 八 八 八 六 六 六 六" in readbacks[1]
    assert any("请重新输入回电号码" in h for h in report.heard)
    assert not any("号码无效" in h for h in report.heard)
    ticket = service.ticket_of(report.call_sid)
    assert ticket["callback_number"] == "+862988886666"  # the number confirmed, not the first one typed


def test_three_hundred_nines_twice_and_the_caller_id_is_used_and_the_caller_told(twilio, service):
    number = _caller()
    report = _call(twilio, service, ["1", "9" * 300, "9" * 300], say=ZH_CLIP, from_=number)
    assert len([h for h in report.heard if "号码无效" in h]) == 2
    assert not any("您输入的号码是" in h for h in report.heard)  # nothing read back: nothing to confirm
    told = report.heard.index(next(h for h in report.heard if "本机的号码" in h))
    assert "回电" in report.heard[told + 1]  # then when the lawyer calls
    ticket = service.ticket_of(report.call_sid)
    assert (ticket["route"], ticket["callback_number"]) == ("lawyer_callback", number)
    typed = [e["detail"] for e in service.operator.get(f"/api/calls/{report.call_sid}").json()["events"]]
    assert all(len(d.get("typed", "")) <= 24 for d in typed)  # the 300 keys are not kept whole anywhere


def test_key_1_at_the_offer_still_means_this_phone_and_no_input_says_so(twilio, service):
    number = _caller()
    pressed = _call(twilio, service, ["1", "1"], say=ZH_CLIP, from_=number)
    assert service.ticket_of(pressed.call_sid)["callback_number"] == number
    assert not any("您输入的号码是" in h or "本机的号码" in h for h in pressed.heard)
    other = _caller()  # another caller: the same number twice would be a repeat case (多), routed apart
    silent = _call(twilio, service, ["1", ""], say=ZH_CLIP, from_=other)
    assert any("本机的号码" in h for h in silent.heard), silent.heard
    assert service.ticket_of(silent.call_sid)["callback_number"] == other


def test_the_emergency_key_at_the_read_back_still_reaches_the_supervisor(twilio, service):
    report = _call(twilio, service, ["1", "13912345678", "*"], say=ZH_CLIP)
    assert any("您输入的号码是" in h for h in report.heard)
    assert report.dialled == ["+8613900000201"]  # the supervisor on the shipped roster
    events = service.operator.get(f"/api/calls/{report.call_sid}").json()["events"]
    assert [e["detail"]["step"] for e in events if e["kind"] == "emergency"] == ["route:callback"]


def test_a_forged_read_back_url_books_the_caller_id_never_the_number_in_it(twilio, service):
    number = _caller()
    report = _call(twilio, service, ["1"], say=ZH_CLIP, from_=number)  # hangs up at the offer
    assert any("无法接听" in h for h in report.heard)
    form = {"AccountSid": twilio.account_sid, "CallSid": report.call_sid, "From": number, "Digits": "1"}
    url = f"{service.url}/twilio/callback/check?number={'9' * 300}&tries=-5&refused=-5&asked=-5"
    answer = httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(twilio.auth_token, url, form)})
    assert answer.status_code == 200
    said = " ".join(v.text for v in parse_twiml(answer.text) if isinstance(v, Say))
    assert "本机的号码" in said and "回电" in said
    assert service.ticket_of(report.call_sid)["callback_number"] == number


# --- a ticket number on every route -------------------------------------------------------------------------


def test_key_0_tells_the_caller_the_ticket_number_before_the_operator_is_rung(twilio, service):
    report = _call(twilio, service, ["0"])
    assert report.dialled == [OPERATORS_DESK]
    ticket = service.ticket_of(report.call_sid)
    told = _told_ticket(report.heard, ticket, before="转接人工服务")
    assert told.index("工单号") < told.index("转接人工服务")  # the number first, then the transfer
    assert ticket["route"] == "operator" and ticket["needs_human"] and "转接话务员" in ticket["needs_human_reason"]
    tickets = [t for t in service.operator.get("/api/tickets?limit=500").json() if t["call_sid"] == report.call_sid]
    assert len(tickets) == 1  # made before the transfer, not again when the call ended


def test_two_invalid_keys_are_told_apart_from_silence_and_the_operator_transfer_gives_the_number(twilio, service):
    report = _call(twilio, service, ["9", "8"])
    assert len([h for h in report.heard if "您按的键无效，请重新选择" in h]) == 1
    assert not any("没有收到您的有效选择" in h for h in report.heard)
    assert report.dialled == [OPERATORS_DESK]
    ticket = service.ticket_of(report.call_sid)
    assert ticket["menu_choice"] == "operator"
    _told_ticket(report.heard, ticket, before="转接人工服务")


def test_silence_at_the_menu_keeps_its_own_words(twilio, service):
    report = _call(twilio, service, ["", ""])
    assert len([h for h in report.heard if "没有收到您的有效选择" in h]) == 1
    assert not any("按的键无效" in h for h in report.heard)
    _told_ticket(report.heard, service.ticket_of(report.call_sid), before="转接人工服务")


def test_a_policy_question_without_an_answer_gives_the_number_before_the_transfer(twilio, service):
    report = _call(twilio, service, ["3"], say=ZH_CLIP)
    assert report.dialled == [OPERATORS_DESK]
    ticket = service.ticket_of(report.call_sid)
    assert (ticket["menu_choice"], ticket["route"]) == ("policy", "operator")
    _told_ticket(report.heard, ticket, before="转接人工服务")


def test_the_dispatcher_route_gives_the_deadline_and_the_number(twilio, service):
    # No district in the words, and 0 ("不清楚") at the district question: a dispatcher sends it on.
    report = _call(twilio, service, ["2", "0"], say=KO_CLIP)
    assert any("哪个区县" in h for h in report.heard)
    ticket = service.ticket_of(report.call_sid)
    told = _told_ticket(report.heard, ticket, before="派单")
    days = re.search(r"(\d+)个工作日内", told)
    assert days is not None, told
    assert int(days.group(1)) == load_sla().rule(ticket["handling_class"]).reply_days
