"""What supervisors and inspectors read on the dashboard, report and QA pages is Chinese, in a real Chromium
against the real service: chart axes and legends show the taxonomy's labels (欠薪, 一般求助, 受理), the QA pages
show sampling reasons, handler roles and the failed critical item by their labels and their errors in Chinese
only; no visible text is a code (`wage_arrears`, `failed_transcription`); the admin header stays on one line at
1,366 px; no English word either (the pages once spoke both: 加载中… loading). The codes themselves stay in the
JSON APIs."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.db import make_engine, make_session_factory, transaction
from recordings.qa_sampling import parse_sampling, sample_day
from recordings.rubrics import load_rubric
from recordings.tables import Call, Recording
from routing.tables import Ticket
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.report_data import load_week
from tests.running_service import TEST_PASSWORD, RunningService

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # how a code looks: wage_arrears, lawyer_callback, failed_transcription
DAY = "2026-11-26"  # the QA sample's day (the report week's tickets are on the 24th and around it)
SH = ZoneInfo("Asia/Shanghai")
RUBRIC = load_rubric()
# The text a person sees: the page's rendered text and the charts' SVG labels (axes, legends, titles).
VISIBLE_TEXT = """() => [document.body.innerText,
  ...Array.from(document.querySelectorAll("svg text"), (node) => node.textContent)].join("\\n")"""


def _qa_calls(session) -> None:
    """Three calls the operator 李 (op-li) handled on DAY: one whose recording never downloaded, one whose
    recording could not be transcribed, one plain; each with a ticket."""
    for n, (sid, recording) in enumerate(
        [
            ("CA-cw-lost", (None, "download failed after 5 attempt(s)")),
            ("CA-cw-deaf", ("x.wav", "no speech")),
            ("CA-cw-plain", None),
        ]
    ):
        call = Call(
            call_sid=sid,
            from_number="+8613812341234",
            duration_s=95,
            started_at=datetime(2026, 11, 26, 9 + n, 0, tzinfo=SH),
            handler="op-li",
            handler_role="operator",
            status="completed",
        )
        session.add(call)
        session.flush()
        session.add(
            Ticket(
                number=f"12351-20261126-{n + 1:04d}",
                call_id=call.id,
                subject="wage_arrears",
                handling_class="assist",
                urgency_flags=["danger"] if n == 2 else [],
                route="local_union",
            )
        )
        if recording is not None:
            path, error = recording
            session.add(
                Recording(
                    recording_sid=f"RE{sid}", call_id=call.id, source="call", status="failed", path=path, error=error
                )
            )


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        load_week(session)  # the dashboard's and the reports' tickets
        _qa_calls(session)
    sample_day(
        factory,
        date(2026, 11, 26),
        parse_sampling({"quota": {"operator": {"count": 3}}}),
        tz="Asia/Shanghai",
        inspectors=["insp-wang"],
    )
    engine.dispose()
    svc.inspector = svc.staff("insp-wang", "inspector")
    svc.supervisor = svc.staff("boss-zhao", "supervisor")
    yield svc
    svc.stop()


def _samples(service: RunningService) -> dict[str, dict]:
    listed = service.inspector.get("/api/qa/samples", params={"day": DAY})
    assert listed.status_code == 200, listed.text
    return {s["call_sid"]: s for s in listed.json()}


# Not words to translate: the people's usernames, this module's call SIDs, recording SIDs, ticket numbers.
NOT_WORDS = re.compile(r"\b(?:op-li|insp-wang|boss-zhao)\b|\b(?:RE)?CA-cw-[a-z]+\b|12351-\d{8}-\d{4}")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _no_codes(page) -> str:
    """The page's visible text, after checking it shows no code and no English word (issue 13)."""
    text = page.evaluate(VISIBLE_TEXT)
    assert not CODE.findall(text), f"codes shown on {page.url}: {sorted(set(CODE.findall(text)))}"
    english = sorted(set(LATIN_WORD.findall(NOT_WORDS.sub(" ", text))))
    assert not english, f"English shown on {page.url}: {english}"
    return text


def test_the_dashboard_and_reports_speak_the_taxonomy_not_its_codes(service, browser):
    # The API keeps the codes.
    figures = service.supervisor.get("/api/dashboard").json()
    assert "wage_arrears" in figures["tickets"]["by_subject"] and "assist" in figures["tickets"]["by_class"]
    report = service.supervisor.get("/api/reports/daily", params={"date": "2026-11-24"}).json()
    assert "wage_arrears" in report["by_subject"] and report["labels"]["subjects"]["wage_arrears"] == "欠薪"

    page = signed_in_page(browser, service.url, "/dashboard", "boss-zhao", TEST_PASSWORD)
    wait_until(page, "() => Boolean(document.body.dataset.refreshed)")
    wait_until(page, "() => document.querySelectorAll('#chart-hotspots svg text').length > 0")
    assert_chinese_renders(page)
    text = _no_codes(page)
    for label in ("欠薪", "一般求助", "咨询", "受理", "归档", "区县不明"):  # subjects, classes, states, districts
        assert label in text, f"{label} is not on the dashboard"
    snapshot(page, "dashboard-chinese")
    no_script_errors(page)

    page.goto("/reports")
    page.fill("#date", "2026-11-24")
    page.click("#pick button[type=submit]")
    # the chosen day's report, not today's that the page opened with
    wait_until(page, "() => (document.querySelector('#report-title small')?.textContent || '').includes('2026-11-24')")
    page.wait_for_selector("#report-table")
    wait_until(page, "() => document.querySelectorAll('#chart-subject svg text').length > 0")
    text = _no_codes(page)
    for label in ("欠薪", "社会保险", "区县不明", "雁塔区"):
        assert label in text, f"{label} is not on the reports page"
    snapshot(page, "reports-chinese")

    # The printable HTML report names subjects and classes by their labels too, and says when, in Beijing time.
    html = service.supervisor.get("/api/reports/daily", params={"date": "2026-11-24", "format": "html"}).text
    printed = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", html))
    assert not CODE.findall(printed) and not LATIN_WORD.findall(printed), printed
    assert "欠薪" in html and "一般求助" in html and "数据截至" in html
    no_script_errors(page)


def test_qa_pages_show_reasons_roles_and_the_critical_item_by_their_labels(service, browser):
    samples = _samples(service)
    assert samples["CA-cw-lost"]["reason"] == "download_failed"  # codes in the API
    assert samples["CA-cw-deaf"]["reason"] == "failed_transcription"
    scored = samples["CA-cw-plain"]["id"]
    points = {item_id: item.max for item_id, item in RUBRIC.items.items()} | {"recording_notice": 0}
    answer = service.inspector.post(f"/api/qa/samples/{scored}/scores", json={"items": points})
    assert answer.status_code == 200 and answer.json()["critical_failed"] == ["recording_notice"]

    page = signed_in_page(browser, service.url, "/qa", "insp-wang", TEST_PASSWORD)
    page.fill("#day", DAY)
    page.click("#filter button[type=submit]")
    page.wait_for_selector("a.sample-link[data-call-sid='CA-cw-lost']")
    page.wait_for_selector("#people table")
    text = _no_codes(page)
    for label in ("录音下载失败", "转写失败", "话务员"):
        assert label in text, f"{label} is not on the QA list"
    people = page.inner_text("#people table")
    assert "op-li" in people and "话务员" in people and "operator" not in people
    snapshot(page, "qa-list-chinese")

    # A call whose recording never downloaded: the reason and the recording say so, in Chinese.
    page.click("a.sample-link[data-call-sid='CA-cw-lost']")
    page.wait_for_selector("#rubric input")
    page.wait_for_selector("#recordings .recording")
    text = _no_codes(page)
    assert "录音下载失败" in page.inner_text("#call") and "录音下载失败" in page.inner_text("#recordings")
    assert "话务员" in page.inner_text("#call") and "欠薪" in page.inner_text("#ticket")
    # Feedback before any score is refused (409), with what to do, in Chinese only.
    page.fill("#feedback-message", "开场没有告知录音")
    page.click("#feedback-form button[type=submit]")
    wait_until(page, "() => document.querySelector('#status').classList.contains('error')")
    refused = page.inner_text("#status")
    assert "请先为这通电话评分" in refused and not re.search(r"[A-Za-z]", refused), refused
    snapshot(page, "qa-sample-refused-feedback")

    # The scored call: the failed critical item by its label, the urgent flag by its label.
    page.goto(f"/qa/samples/{scored}")
    page.wait_for_selector(".score .critical-failed")
    text = _no_codes(page)
    assert "一票否决：告知来电人通话录音" in page.inner_text(".score") and "recording_notice" not in text
    assert "紧急 危" in page.inner_text("#ticket")
    snapshot(page, "qa-sample-critical")
    no_script_errors(page)
    # Feedback on it carries the failed item's label for the handler's page, beside its id.
    feedback = service.inspector.post(f"/api/qa/samples/{scored}/feedback", json={"message": "开场须告知录音"})
    assert feedback.status_code == 200, feedback.text
    score = feedback.json()["score"]
    assert (score["critical_failed"], score["critical_failed_labels"]) == (["recording_notice"], ["告知来电人通话录音"])


def test_qa_errors_are_chinese_only(service):
    sample = _samples(service)["CA-cw-deaf"]["id"]
    refused = [
        service.inspector.post(f"/api/qa/samples/{sample}/feedback", json={"message": "请整改"}),
        service.inspector.post(f"/api/qa/samples/{sample}/scores", json={"items": {"greeting": 9}}),
        service.inspector.post(f"/api/qa/samples/{sample}/review", json={"items": {}}),
        service.inspector.get("/api/qa/samples/999999"),
        service.inspector.get("/api/qa/people", params={"start": "2026-11-27", "end": "2026-11-26"}),
    ]
    assert [r.status_code for r in refused] == [409, 422, 409, 404, 422]
    for answer in refused:
        detail = answer.json()["detail"]
        assert re.search(r"[\u4e00-\u9fff]", detail) and not re.search(r"[A-Za-z]{2,}", detail), detail


def test_the_admin_header_stays_on_one_line_at_1366_px(service, browser):
    service.staff("admin-qian", "admin")
    page = signed_in_page(browser, service.url, "/qa", "admin-qian", TEST_PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.wait_for_selector("header.top nav a")
    links = page.locator("header.top nav a").count()
    assert links >= 6  # the admin reaches every console
    # One line: every item of the header shares a row with every other, and no text in it breaks over two lines.
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll("header.top a, header.top span, header.top button"), (node) => {
          const range = document.createRange();
          range.selectNodeContents(node);
          const lines = new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
          const box = node.getBoundingClientRect();
          return {text: node.innerText, lines, top: box.top, bottom: box.bottom};
        })"""
    )
    assert all(box["lines"] == 1 for box in boxes), f"a header item breaks over two lines at 1366 px: {boxes}"
    assert max(b["top"] for b in boxes) < min(b["bottom"] for b in boxes), f"the header wraps at 1366 px: {boxes}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    snapshot(page, "admin-header-1366")
    no_script_errors(page)
