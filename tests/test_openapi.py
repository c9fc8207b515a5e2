"""The API's description tells an integrator what comes back: every JSON endpoint under /api declares its
answer in `/openapi.json`, and real answers of the running service are exactly what their models declare
(every key declared, every value kept as it was)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, TypeAdapter

from api.responses.qa import Calibration, Feedback, People, Rubric, Sample, SampleRow, Score
from api.responses.reports import CorrectionsReport, Dashboard, Report
from api.responses.seats import Callback, LawyerNow, OperatorSeat, Queue, Roster, SeatSignedIn, SeatState, Unions
from api.responses.staff import AlertAcknowledged, AlertView, AuditRecord, Me
from api.responses.tickets import CallView, CaseView, TicketDetail, TicketOptions, TicketView
from hotline.db import make_engine, make_session_factory, transaction
from recordings.qa_sampling import parse_sampling, sample_day
from recordings.rubrics import load_rubric
from recordings.tables import Call, CallEvent, Recording, Transcript
from routing.tables import Alert, Ticket
from tests.report_data import load_week
from tests.running_service import RunningService

SH = ZoneInfo("Asia/Shanghai")
NUMBER = "12351-20261201-0001"  # the ticket of the call below (load_week's tickets have no call)
# JSON endpoints under /api whose answer is not described by a model, and why.
NOT_MODELLED = {
    "GET /api/recordings/{recording_sid}/audio": "the recording's audio file (Range requests), not JSON",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        load_week(session)
        call = Call(
            call_sid="CA-doc-1",
            from_number="+8613812341234",
            started_at=datetime(2026, 11, 25, 10, 0, tzinfo=SH),
            duration_s=95,
            handler="op_a",
            handler_role="operator",
            status="completed",
            menu_choice="help",
        )
        session.add(call)
        session.flush()
        session.add(CallEvent(call_id=call.id, kind="menu_input", detail={"digits": "1"}))
        rec = Recording(
            recording_sid="RE-doc-1", call_id=call.id, source="call", status="transcribed", duration_s=95.0, channels=2
        )
        session.add(rec)
        session.flush()
        words = [{"word": "工资", "start": 0.4, "end": 0.9, "conf": 0.93}]
        session.add_all(
            [
                Transcript(recording_id=rec.id, channel=0, text="老板欠我工资", words=words, model="vosk"),
                Transcript(recording_id=rec.id, channel=1, text="您好 工会", words=words, model="vosk"),
            ]
        )
        ticket = Ticket(
            number=NUMBER,
            call_id=call.id,
            caller_number=call.from_number,
            subject="wage_arrears",
            kind="help",
            summary="老板两个月没发工资",
            urgency_flags=["mass"],
            entities={"employer": "鑫达建筑公司"},
        )
        session.add(ticket)
        session.flush()
        session.add(Alert(kind="urgent", ticket_id=ticket.id, message="群体欠薪"))
    sampling = parse_sampling({"quota": {"operator": {"count": 1}}})
    sample_day(factory, date(2026, 11, 25), sampling, tz="Asia/Shanghai", inspectors=["insp1"])
    engine.dispose()
    yield svc
    svc.stop()


def _resolve(doc: dict, schema: dict) -> dict:
    """A schema with its `$ref` followed (one level: the components are flat)."""
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _answer_schema(doc: dict, operation: dict) -> dict | None:
    """The JSON schema of an operation's 200 answer, or None."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def _model_name(schema: dict) -> str:
    """The declared model's name, for an object or a list of objects."""
    target = schema["items"] if schema.get("type") == "array" else schema
    return target["$ref"].rsplit("/", 1)[1]


def _undeclared(value: Any, where: str) -> list[str]:
    """Keys a real answer had that its model does not declare, anywhere inside it."""
    if isinstance(value, BaseModel):
        found = [f"{where}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _undeclared(getattr(value, name), f"{where}.{name}")
        return found
    if isinstance(value, list):
        return [miss for n, item in enumerate(value) for miss in _undeclared(item, f"{where}[{n}]")]
    if isinstance(value, dict):
        return [miss for key, item in value.items() for miss in _undeclared(item, f"{where}.{key}")]
    return []


def _text(value: Any) -> str:
    """JSON as text, keys sorted: 5 and 5.0 differ, the order of keys does not."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _conforms(doc: dict, method: str, path: str, got: Any, model: Any) -> None:
    """The answer is what the description declares for the path: that model, every key declared, values kept."""
    assert got.status_code == 200, got.text
    declared = _answer_schema(doc, doc["paths"][path][method])
    assert declared is not None, f"{method.upper()} {path} declares no answer"
    wanted = model.__args__[0] if getattr(model, "__origin__", None) is list else model
    assert _model_name(declared) == wanted.__name__, (path, declared)
    body = got.json()
    adapter = TypeAdapter(model)
    parsed = adapter.validate_python(body)
    assert not _undeclared(parsed, path), f"{path}: keys not in {wanted.__name__}: {_undeclared(parsed, path)}"
    again = adapter.dump_python(parsed, mode="json", by_alias=True)
    assert _text(again) == _text(body), f"{path}: the model changes a value"  # 5 stays 5, never 5.0


def test_every_json_endpoint_under_api_declares_its_answer(service):
    doc = service.api.get("/openapi.json").json()
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in doc["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
        if method in ("get", "post")
    }
    assert len(operations) > 45  # the whole staff API
    assert set(NOT_MODELLED) <= set(operations), "an exception names an endpoint that is gone"
    bare = []
    for key, operation in operations.items():
        if key in NOT_MODELLED:
            continue
        schema = _answer_schema(doc, operation)
        target = _resolve(doc, schema["items"] if schema and schema.get("type") == "array" else schema or {})
        if not target.get("properties"):
            bare.append(key)
    assert not bare, "no declared answer (a model with its fields): " + ", ".join(bare)


def test_the_models_explain_codes_labels_and_times(service):
    schemas = service.api.get("/openapi.json").json()["components"]["schemas"]
    ticket = schemas["TicketView"]["properties"]
    assert "stable code" in ticket["status"]["description"]
    assert "Chinese" in ticket["status_label"]["description"]
    assert "UTC" in str(ticket["created_at"]) and "local day" in str(schemas["Report"]["properties"]["from"])
    assert set(schemas["CallView"]["required"]) >= {"from", "call_sid", "events", "ticket"}


def test_real_answers_are_what_their_models_declare(service):
    admin = service.api
    doc = admin.get("/openapi.json").json()
    for path, params, model in [
        ("/api/tickets", {}, list[TicketView]),
        ("/api/tickets/{number}", {}, TicketDetail),
        ("/api/tickets/{number}/options", {}, TicketOptions),
        ("/api/calls/{call_sid}", {}, CallView),
        ("/api/roster", {"day": "2026-11-24"}, Roster),
        ("/api/lawyers", {}, list[LawyerNow]),
        ("/api/queue", {}, Queue),
        ("/api/unions", {}, Unions),
        ("/api/operators", {}, list[OperatorSeat]),
        ("/api/me", {}, Me),
        ("/api/audit", {}, list[AuditRecord]),
        ("/api/alerts", {}, list[AlertView]),
        ("/api/dashboard", {}, Dashboard),
        ("/api/reports/{kind}", {"date": "2026-11-24"}, Report),
        ("/api/reports/corrections", {}, CorrectionsReport),
        ("/api/qa/rubric", {}, Rubric),
        ("/api/qa/samples", {"day": "2026-11-25"}, list[SampleRow]),
        ("/api/qa/people", {"start": "2026-11-25", "end": "2026-11-25"}, People),
        ("/api/seat/state", {"lawyer_id": "L01"}, SeatState),
        ("/api/seat/callbacks", {"lawyer_id": "L01"}, list[Callback]),
    ]:
        url = path.replace("{number}", NUMBER).replace("{call_sid}", "CA-doc-1").replace("{kind}", "weekly")
        _conforms(doc, "get", path, admin.get(url, params=params), model)

    alert = admin.get("/api/alerts").json()[0]
    acknowledged = admin.post(f"/api/alerts/{alert['id']}/acknowledge")
    _conforms(doc, "post", "/api/alerts/{alert_id}/acknowledge", acknowledged, AlertAcknowledged)
    _conforms(doc, "post", "/api/lawyers/{lawyer_id}/sign-in", admin.post("/api/lawyers/L01/sign-in"), SeatSignedIn)
    merged = admin.post(f"/api/tickets/{NUMBER}/merge", json={"into": "12351-20261110-0001", "note": "同一老板"})
    _conforms(doc, "post", "/api/tickets/{number}/merge", merged, TicketView)
    _conforms(doc, "get", "/api/cases/{case_id}", admin.get(f"/api/cases/{merged.json()['case_id']}"), CaseView)


def test_quality_inspection_answers_are_what_their_models_declare(service):
    inspector = service.staff("insp1", "inspector")
    doc = inspector.get("/openapi.json").json()
    sample_id = inspector.get("/api/qa/samples", params={"day": "2026-11-25"}).json()[0]["id"]
    points = {item_id: item.max for item_id, item in load_rubric().items.items()}
    comment = {"at_s": 12.5, "channel": 1, "text": "没有告知录音"}
    scored = inspector.post(f"/api/qa/samples/{sample_id}/scores", json={"items": points, "comments": [comment]})
    _conforms(doc, "post", "/api/qa/samples/{sample_id}/scores", scored, Score)
    feedback = inspector.post(f"/api/qa/samples/{sample_id}/feedback", json={"message": "受理时未告知录音"})
    _conforms(doc, "post", "/api/qa/samples/{sample_id}/feedback", feedback, Feedback)
    _conforms(doc, "get", "/api/qa/feedback", inspector.get("/api/qa/feedback"), list[Feedback])
    _conforms(doc, "get", "/api/qa/samples/{sample_id}", inspector.get(f"/api/qa/samples/{sample_id}"), Sample)
    calibration = inspector.get(f"/api/qa/samples/{sample_id}/calibration")
    _conforms(doc, "get", "/api/qa/samples/{sample_id}/calibration", calibration, Calibration)
