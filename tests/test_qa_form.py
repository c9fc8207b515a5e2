"""The QA scoring form as an inspector uses it, in a real Chromium against the real service: it opens empty,
refuses an untouched or out-of-range form with a message, stores the computed score of a complete one, and
speaks Chinese (sampling reasons, the failed critical item); the API refuses the same mistakes with a 4xx."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.db import make_engine, make_session_factory, transaction
from recordings.qa_sampling import parse_sampling, sample_day
from recordings.rubrics import load_rubric
from recordings.tables import Call
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.running_service import TEST_PASSWORD, RunningService

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DAY = "2026-11-25"
SH = ZoneInfo("Asia/Shanghai")
RUBRIC = load_rubric()
FULL = {item_id: item.max for item_id, item in RUBRIC.items.items()}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        session.add_all(
            [
                Call(
                    call_sid=f"CA-form-{n}",
                    from_number="+8613812341234",
                    duration_s=95,
                    started_at=datetime(2026, 11, 25, 9 + n, 0, tzinfo=SH),
                    handler="op_a",
                    handler_role="operator",
                    status="completed",
                )
                for n in (1, 2)
            ]
        )
    sample_day(
        factory,
        date(2026, 11, 25),
        parse_sampling({"quota": {"operator": {"count": 2}}}),
        tz="Asia/Shanghai",
        inspectors=["insp-form"],
    )
    engine.dispose()
    svc.inspector = svc.staff("insp-form", "inspector")
    yield svc
    svc.stop()


def _sample_ids(service: RunningService) -> dict[str, int]:
    listed = service.inspector.get("/api/qa/samples", params={"day": DAY})
    assert listed.status_code == 200, listed.text
    return {s["call_sid"]: s["id"] for s in listed.json()}


def test_an_inspector_cannot_submit_an_untouched_or_out_of_range_form_and_a_complete_one_stores_its_score(
    service, browser
):
    sample_id = _sample_ids(service)["CA-form-1"]
    page = signed_in_page(browser, service.url, "/qa", "insp-form", TEST_PASSWORD)
    page.fill("#day", DAY)
    page.click("#filter button[type=submit]")
    reason = page.locator("a.sample-link[data-call-sid='CA-form-1']").locator("xpath=../..").locator(".reason")
    reason.wait_for()
    assert reason.inner_text() == "抽样配额"  # the reason in Chinese; the API keeps the code
    page.click("a.sample-link[data-call-sid='CA-form-1']")
    page.wait_for_url(f"**/qa/samples/{sample_id}")
    page.wait_for_selector("#rubric input")
    assert "抽样原因：抽样配额" in page.inner_text("#call")

    # The form opens empty: no item has points until the inspector gives them.
    inputs = page.locator("#rubric input")
    assert inputs.count() == len(FULL)
    assert [inputs.nth(n).input_value() for n in range(inputs.count())] == [""] * len(FULL)
    assert page.inner_text("#points-sum") == "0"

    # Submitting it untouched is refused with a message, and nothing is stored.
    page.click("#score-form button[type=submit]")
    page.wait_for_selector("#score-result.error")
    refused = page.inner_text("#score-result")
    assert "未提交" in refused and f"还有 {len(FULL)} 项" in refused and "规范问候、报工号" in refused
    assert service.inspector.get(f"/api/qa/samples/{sample_id}").json()["scores"] == []

    # Every item filled, but one beyond its maximum: it is marked, not counted, and the form is refused.
    points = dict(FULL, greeting=3, key_facts=10)
    for item_id, value in points.items():
        page.fill(f"#rubric input[data-item='{item_id}']", str(value))
    page.fill("#rubric input[data-item='listening']", "94")
    assert "invalid" in page.get_attribute("#rubric input[data-item='listening']", "class")
    assert page.inner_text("#points-sum") == f"{sum(points.values()) - points['listening']:g}"
    page.click("#score-form button[type=submit]")
    wait_until(page, "() => document.querySelector('#score-result').textContent.includes('0 到 10')")
    assert "「耐心倾听、不打断来电人」的分数须在 0 到 10 之间" in page.inner_text("#score-result")
    assert service.inspector.get(f"/api/qa/samples/{sample_id}").json()["scores"] == []

    # Corrected, the complete form is taken and the computed score stored.
    page.fill("#rubric input[data-item='listening']", str(points["listening"]))
    expected = sum(points.values())
    assert page.inner_text("#points-sum") == f"{expected:g}"
    assert page.inner_text("#points-filled") == f"{len(FULL)}/{len(FULL)}"
    page.click("#score-form button[type=submit]")
    page.wait_for_selector("#score-result:has-text('已提交')")
    assert f"{expected:g} 分" in page.inner_text("#score-result")
    stored = service.inspector.get(f"/api/qa/samples/{sample_id}").json()["scores"]
    assert [(s["stage"], s["total"], s["items"]) for s in stored] == [("inspection", expected, points)]

    # A calibration score failing a critical item names the item by its label, not its id.
    page.select_option("#stage", "calibration")
    page.fill("#rubric input[data-item='recording_notice']", "0")
    page.click("#score-form button[type=submit]")
    page.wait_for_selector(".score[data-stage=calibration] .critical-failed")
    assert "一票否决：告知来电人通话录音" in page.inner_text(".score[data-stage=calibration]")
    assert "recording_notice" not in page.inner_text("#scores")
    snapshot(page, "qa_form")
    assert_chinese_renders(page, "#rubric legend")
    no_script_errors(page)
    page.context.close()


def test_the_api_refuses_a_form_that_is_empty_incomplete_or_out_of_range_with_a_clear_4xx(service):
    sample_id = _sample_ids(service)["CA-form-2"]
    url = f"/api/qa/samples/{sample_id}/scores"
    empty = service.inspector.post(url, json={"items": {}})
    assert empty.status_code == 422 and "请为每一项评分" in empty.json()["detail"]
    partial = service.inspector.post(url, json={"items": {"greeting": 5}})
    assert partial.status_code == 422 and "告知来电人通话录音" in partial.json()["detail"]
    beyond = service.inspector.post(url, json={"items": dict(FULL, listening=94)})
    assert beyond.status_code == 422
    assert "「耐心倾听、不打断来电人」的分数须在 0 到 10 之间" in beyond.json()["detail"]
    negative = service.inspector.post(url, json={"items": dict(FULL, greeting=-1)})
    assert negative.status_code == 422 and "0 到 5" in negative.json()["detail"]
    words = service.inspector.post(url, json={"items": dict(FULL, greeting="五")})
    assert words.status_code == 422
    assert service.inspector.get(f"/api/qa/samples/{sample_id}").json()["scores"] == []

    # Feedback before any score: a 409 whose message a Chinese-speaking inspector reads.
    early = service.inspector.post(f"/api/qa/samples/{sample_id}/feedback", json={"message": "请规范开场"})
    assert early.status_code == 409 and "请先为这通电话评分" in early.json()["detail"]

    # Scored with a critical item failed, the handler's feedback names that item by its label.
    scored = service.inspector.post(url, json={"items": dict(FULL, recording_notice=0)})
    assert scored.status_code == 200 and scored.json()["critical_failed"] == ["recording_notice"]
    sent = service.inspector.post(f"/api/qa/samples/{sample_id}/feedback", json={"message": "请先告知录音"})
    assert sent.status_code == 200, sent.text
    mine = service.staff("op_a", "operator").get("/api/qa/feedback", params={"mine": "true"}).json()
    assert [(f["score"]["critical_failed"], f["score"]["critical_failed_labels"]) for f in mine] == [
        (["recording_notice"], ["告知来电人通话录音"])
    ]


def test_sampling_reasons_keep_their_codes_in_the_api_with_chinese_labels_beside_them(service):
    listed = {s["call_sid"]: s for s in service.inspector.get("/api/qa/samples", params={"day": DAY}).json()}
    one = listed["CA-form-2"]
    assert (one["reason"], one["reasons"], one["reason_label"], one["reason_labels"]) == (
        "quota",
        ["quota"],
        "抽样配额",
        ["抽样配额"],
    )
    detail = service.inspector.get(f"/api/qa/samples/{one['id']}").json()
    assert (detail["reasons"], detail["reason_labels"]) == (["quota"], ["抽样配额"])
