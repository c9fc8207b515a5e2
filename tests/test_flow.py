"""The call flow file and its rendering to TwiML: whole documents compared, as Twilio would read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources

import pytest
import yaml

from ivr.flow import FlowError, load_flow, parse_flow
from ivr.twiml import menu_outcome, render_step, spoken_digits


def _default_flow_data() -> dict:
    return yaml.safe_load(resources.files("ivr.flows").joinpath("default.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def flow():
    return load_flow()


def test_menu_speaks_mandarin_inside_a_dtmf_gather(flow):
    doc = ET.fromstring(render_step(flow, flow.step("menu")))
    gather = doc.find("Gather")
    assert gather.attrib == {
        "action": "/twilio/step/menu/keys?attempt=1",
        "actionOnEmptyResult": "true",
        "input": "dtmf",
        "method": "POST",
        "numDigits": "1",
        "timeout": "6",
    }
    says = gather.findall("Say")
    assert [s.attrib["language"] for s in says] == ["zh-CN"] * 3
    assert "12351" in says[0].text and "录音" in says[1].text  # greeting, then the recording notice
    assert all(k in says[2].text for k in ("按1", "按2", "按3", "按0"))
    assert doc.find("Redirect").text == "/twilio/step/menu/keys?attempt=1"


def test_second_attempt_says_sorry_instead_of_the_greeting(flow):
    says = [s.text for s in ET.fromstring(render_step(flow, flow.step("menu"), attempt=2)).iter("Say")]
    assert "对不起" in says[0] and not any("12351职工服务热线" in s for s in says)


def test_keys_lead_where_the_flow_says(flow):
    menu = flow.step("menu")
    assert menu_outcome(menu, "1", 1).choice == "legal"
    assert menu_outcome(menu, "2", 1).next_step == "describe"
    assert menu_outcome(menu, "0", 1).next_step == "operator"
    wrong_once = menu_outcome(menu, "9", 1)
    assert wrong_once.retry and wrong_once.next_step == "menu"
    silent_twice = menu_outcome(menu, "", 2)
    assert not silent_twice.retry and silent_twice.next_step == "operator" and silent_twice.choice is None


def test_record_step_has_beep_hash_limit_and_status_callback(flow):
    record = ET.fromstring(render_step(flow, flow.step("describe"))).find("Record")
    assert record.attrib["playBeep"] == "true"
    assert record.attrib["finishOnKey"] == "#*"  # # ends the description; * is the emergency, heard here too
    assert int(record.attrib["maxLength"]) == 180
    assert record.attrib["recordingStatusCallback"] == "/twilio/recording-status"
    assert record.attrib["action"] == "/twilio/step/describe/recorded"


def test_ticket_number_is_read_digit_by_digit():
    assert spoken_digits("12351-20261124-0001") == "幺 二 三 五 幺，二 零 二 六 幺 幺 二 四，零 零 零 幺"


def test_after_the_recording_the_caller_holds_while_the_ticket_is_routed(flow):
    assert flow.step("describe").next == "route"
    doc = ET.fromstring(render_step(flow, flow.step("route")))
    assert "请稍候" in doc.find("Say").text
    assert doc.find("Redirect").text == "/twilio/route"


def test_voice_is_configurable(tmp_path):
    data = _default_flow_data()
    data["voice"]["voice"] = "Google.cmn-CN-Standard-A"
    flow = parse_flow(data)
    say = ET.fromstring(render_step(flow, flow.step("menu"))).find("Gather/Say")
    assert say.attrib["voice"] == "Google.cmn-CN-Standard-A"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["steps"]["menu"]["options"]["1"].update(next="nowhere"),
            "steps.menu.options.1.next: 'nowhere' is not a step; the steps are ",
        ),
        (lambda d: d.update(start="missing"), "start: names no step: 'missing'; the steps are "),
        (
            lambda d: d["steps"]["menu"].update(kind="ivr"),
            "steps.menu.kind: must be 'menu', 'record', 'dial', 'say' or 'route', not 'ivr'",
        ),
        (
            lambda d: d["steps"]["menu"]["options"].update({"12": {"choice": "x", "next": "menu"}}),
            "steps.menu.options.12: a key is one of 0-9, * or # (in quotes), not '12'",
        ),
    ],
)
def test_a_broken_flow_file_is_refused_with_a_clear_message(tmp_path, change, message):
    path = tmp_path / "flow.yaml"
    data = _default_flow_data()
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    assert str(exc.value).startswith(f"{path}: {message}"), str(exc.value)
