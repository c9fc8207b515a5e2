"""Bad input to the staff API gets a clear 4xx, never a 5xx, on the real service: ids past the database's
64-bit range, dates in year 1 or 9999, NaN and infinite amounts, broken JSON and broken UTF-8."""

from __future__ import annotations

import httpx
import pytest

from staff.access import ACCESS, API
from tests.running_service import RunningService

HUGE = 2**63  # one past the largest database id
BAD_BODIES = [b'{"username": "x", ', b"\xff\xfe\xfa{}", b"[1, 2", b'{"to": NaN', b"\xc3\x28"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.mark.parametrize(
    "path",
    [
        f"/api/cases/{HUGE}",
        f"/api/cases/{10**30}",
        "/api/cases/-1",
        f"/api/qa/samples/{HUGE}",
        f"/api/qa/samples/{HUGE}/calibration",
    ],
)
def test_ids_past_the_database_range_are_refused_with_422(service, path):
    got = service.api.get(path)
    assert got.status_code == 422, got.text
    detail = got.json()["detail"]  # what a person reads: which number and its range, in Chinese
    assert "编号不能大于 9223372036854775807" in detail or "编号不能小于 1" in detail, detail
    assert got.json()["code"] == "invalid_request" and got.json()["errors"][0]["type"]  # pydantic's list, for scripts


def test_the_largest_id_is_just_missing(service):
    assert service.api.get(f"/api/cases/{HUGE - 1}").status_code == 404
    for path in (
        f"/api/qa/samples/{HUGE}/scores",
        f"/api/qa/feedback/{HUGE}/close",
        f"/api/qa/feedback/{HUGE}/rectification",
        f"/api/alerts/{HUGE}/acknowledge",
    ):
        got = service.api.post(path, json={"items": {}, "text": "已整改", "message": "x"})
        assert got.status_code == 422, (path, got.text)


@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/reports/daily", {"date": "0001-01-01"}),
        ("/api/reports/weekly", {"date": "9999-12-31"}),
        ("/api/reports/monthly", {"date": "9999-12-15"}),
        ("/api/qa/people", {"start": "0001-01-01"}),
        ("/api/qa/people", {"end": "0001-01-05"}),
        ("/api/qa/people", {"start": "2026-11-01", "end": "9999-12-31"}),
        ("/api/qa/samples", {"day": "0001-01-01"}),
        ("/api/roster", {"day": "9999-12-31"}),
    ],
)
def test_dates_far_outside_the_hotlines_years_are_refused_with_a_message(service, path, params):
    got = service.api.get(path, params=params)
    assert got.status_code == 422, got.text
    assert "2000" in got.text or "2099" in got.text, got.text  # the years it may be


def test_a_good_date_still_works(service):
    assert service.api.get("/api/reports/weekly", params={"date": "2026-11-25"}).status_code == 200
    assert service.api.get("/api/qa/people", params={"start": "2026-11-01", "end": "2026-11-25"}).status_code == 200


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_nan_and_infinite_amounts_are_refused(service, amount):
    body = f'{{"to": "archived", "recovered_amount": {amount}}}'.encode()
    got = service.api.post(
        "/api/tickets/12351-20261125-0001/transitions", content=body, headers={"content-type": "application/json"}
    )
    assert got.status_code == 422, got.text
    scores = service.api.post(
        "/api/qa/samples/1/scores",
        content=f'{{"items": {{"greeting": {amount}}}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert scores.status_code == 422, scores.text


@pytest.mark.parametrize("body", BAD_BODIES)
def test_broken_json_or_utf8_to_sign_in_is_a_4xx(service, body):
    got = httpx.post(f"{service.url}/login", content=body, headers={"content-type": "application/json"})
    assert 400 <= got.status_code < 500, got.text
    form = httpx.post(
        f"{service.url}/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= form.status_code < 500, form.text


def test_broken_json_or_utf8_to_every_json_endpoint_is_a_4xx(service):
    schema = service.api.get("/openapi.json").json()
    with_body = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert "POST /api/tickets/{number}/transitions" in with_body
    wrong = []
    for key, rule in ACCESS.items():
        _method, path = key.split(" ", 1)
        if rule.kind != API or key not in with_body or path.startswith("/twilio/"):
            continue
        url = path.replace("{number}", "12351-20261125-0001").replace("{lawyer_id}", "L01")
        url = url.replace("{sample_id}", "1").replace("{feedback_id}", "1").replace("{alert_id}", "1")
        for body in BAD_BODIES:
            got = service.api.post(url, content=body, headers={"content-type": "application/json"})
            if not 400 <= got.status_code < 500:
                wrong.append(f"{key} {body!r}: {got.status_code} {got.text[:200]}")
    assert not wrong, "\n".join(wrong)
