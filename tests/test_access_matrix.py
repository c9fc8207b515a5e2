"""Every endpoint and page of the running service × signed out and each of the five roles, against the one
access table (`staff/access.py`): allowed → a real answer; not allowed → 403; signed out → 401 (a page: to
/login). Also: every route of the app is in the table, the README's table is the table, a lawyer reads only
their own callers' tickets and notes, an inspector only sampled calls, and numbers are masked in every text."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from hotline.db import make_engine, make_session_factory, transaction, utcnow
from recordings.qa_tables import QaFeedback, QaSample
from recordings.tables import Call, Recording
from routing.tables import Case, QueueEntry, Ticket
from routing.tickets import add_event
from staff.access import ACCESS, ALL, PAGE, PUBLIC, TWILIO, access_for, consoles_for, markdown_table
from staff.roles import ADMIN, INSPECTOR, LAWYER, OPERATOR, ROLES, SUPERVISOR
from tests.conftest import REPO
from tests.running_service import RunningService

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 25)
CALLER = "+8613812341234"  # the lawyer's caller
OTHER_CALLER = "+8613900001111"
MASKED = "+86138****1234"
ACCOUNTS = {
    OPERATOR: ("am-operator", {}),
    LAWYER: ("am-lawyer", {"roster_id": "L01"}),
    INSPECTOR: ("am-inspector", {}),
    SUPERVISOR: ("am-supervisor", {}),
    ADMIN: ("am-admin", {}),
}
NOTE = "已告知可申请劳动仲裁，时效一年"
T_LAWYER, T_OPERATOR, T_OTHER = "12351-20261125-0001", "12351-20261125-0002", "12351-20261125-0003"
T_CALLBACK = "12351-20261125-0004"  # a lawyer callback nobody has taken: every lawyer reads it


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The service with three calls: one a lawyer (L01) took, one an operator took (both sampled for QA), one
    nobody's; their tickets (one case), recordings on disk, QA feedback, and notes with the caller's number."""
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    ids: dict[str, int] = {}
    with transaction(make_session_factory(engine)) as session:
        case = Case(employer="西安某建筑公司")
        session.add(case)
        session.flush()
        calls = {}
        for n, (sid, caller, handler, role) in enumerate(
            [
                ("CA-am-lawyer", CALLER, "L01", LAWYER),
                ("CA-am-operator", OTHER_CALLER, "am-operator", OPERATOR),
                ("CA-am-other", "+8613700007777", "someone", OPERATOR),
            ]
        ):
            call = Call(
                call_sid=sid,
                from_number=caller,
                started_at=datetime(2026, 11, 25, 10 + n, tzinfo=SH),
                duration_s=95,
                handler=handler,
                handler_role=role,
                status="completed",
            )
            session.add(call)
            session.flush()
            calls[sid] = call
            rec_sid = sid.replace("CA-", "RE-")
            path = svc.var_dir / "recordings" / "am" / f"{rec_sid}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF" + bytes(200))
            session.add(
                Recording(
                    recording_sid=rec_sid,
                    call_id=call.id,
                    source="call",
                    status="stored",
                    path=f"am/{rec_sid}.wav",
                    duration_s=95.0,
                    channels=2,
                )
            )
        tickets = {}
        for number, sid, assigned in [
            (T_LAWYER, "CA-am-lawyer", "L01"),
            (T_OPERATOR, "CA-am-operator", None),
            (T_OTHER, "CA-am-other", None),
        ]:
            ticket = Ticket(
                number=number,
                call_id=calls[sid].id,
                caller_number=calls[sid].from_number,
                callback_number=calls[sid].from_number,
                summary=f"欠薪，回电 {calls[sid].from_number[3:]}",
                status="accepted",
                route="dispatcher",
                assigned_to=assigned,
                case_id=case.id,
                reply_due_at=utcnow() + timedelta(days=5),
            )
            session.add(ticket)
            session.flush()
            tickets[number] = ticket
        callback = Ticket(number=T_CALLBACK, caller_number=CALLER, route="lawyer_callback", status="accepted")
        session.add(callback)
        session.flush()
        add_event(session, tickets[T_LAWYER], "note", NOTE, actor="am-lawyer")
        add_event(session, callback, "note", NOTE, actor="am-lawyer")
        add_event(session, tickets[T_OTHER], "related", f"same caller {CALLER} (12351-20261124-0009)")
        session.add(
            QueueEntry(
                call_sid="CA-am-lawyer",
                ticket_id=tickets[T_LAWYER].id,
                lawyer_id="L01",
                outcome="bridged",
                left_at=utcnow(),
            )
        )
        samples = {}
        for sid in ("CA-am-lawyer", "CA-am-operator"):
            sample = QaSample(
                call_id=calls[sid].id,
                day=DAY,
                handler=calls[sid].handler,
                handler_role=calls[sid].handler_role,
                reason="quota",
                reasons=["quota"],
                inspector="am-inspector",
            )
            session.add(sample)
            session.flush()
            samples[sid] = sample
        for key, sid in (("fb_lawyer", "CA-am-lawyer"), ("fb_operator", "CA-am-operator")):
            feedback = QaFeedback(
                sample_id=samples[sid].id, handler=calls[sid].handler, message="请先告知录音", created_by="am-inspector"
            )
            session.add(feedback)
            session.flush()
            ids[key] = feedback.id
        ids["case"], ids["sample"] = case.id, samples["CA-am-lawyer"].id
    engine.dispose()
    for role, (username, extra) in ACCOUNTS.items():
        svc.staff(username, role, **extra)
    svc.ids = ids
    yield svc
    svc.stop()


def _client(service: RunningService, role: str | None) -> httpx.Client:
    if role is None:
        return httpx.Client(base_url=service.url, timeout=30)
    return service.staff(ACCOUNTS[role][0], role)


def _request(service: RunningService, key: str, role: str | None) -> tuple[str, str, dict]:
    """The request that exercises `key` for `role`: real ids (within the role's reach), a real body."""
    method, path = key.split(" ", 1)
    ids = service.ids
    recording = {OPERATOR: "RE-am-operator", LAWYER: "RE-am-lawyer", INSPECTOR: "RE-am-lawyer"}.get(role, "RE-am-other")
    fills = {
        "number": T_LAWYER,
        "case_id": ids["case"],
        "call_sid": "CA-am-lawyer",
        "recording_sid": recording,
        "lawyer_id": "L01",
        "sample_id": ids["sample"],
        "alert_id": 1,
        "kind": "daily",
        "feedback_id": ids["fb_lawyer" if role == LAWYER else "fb_operator"],
        "step": "menu",
        "survey_id": 1,
        "path": "console.css",
    }
    if re.search(
        r"/api/tickets/\{number\}/(transitions|extensions|merge|dispatch|corrections|review-confirmation)", path
    ):
        fills["number"] = T_OTHER  # moved along by whoever may; the lawyer's and operator's tickets stay as they are
    url = re.sub(r"\{(\w+)\}", lambda m: str(fills[m.group(1)]), path)
    kwargs: dict = {"params": {}}
    bodies = {
        "/transitions": {"to": "dispatched", "note": "转区总工会"},
        "/extensions": {"working_days": 1, "reason": "等待用人单位材料"},
        "/merge": {"into": T_OPERATOR},
        "/dispatch": {"union_id": "xa-lianhu"},
        "/corrections": {"subject": "wage_arrears"},
        "/review-confirmation": {},
        "/api/queue/take": {"lawyer_id": "L01"},
        "/api/seat/notes": {"call_sid": "CA-am-lawyer", "text": "再次咨询，已解答"},
        "/api/seat/ticket": {"call_sid": "CA-am-lawyer", "summary": "咨询二倍工资"},
        "/scores": {"items": {}},
        "/review": {"items": {}},
        "/feedback": {"message": "请先告知录音"},
        "/rectification": {"text": "已学习开场规范"},
        "/login": {"username": "nobody", "password": "wrong-password-12"},
    }
    if method == "POST":
        kwargs["json"] = next((body for end, body in bodies.items() if path.endswith(end)), {})
    if path == "/api/reports/{kind}":
        kwargs["params"]["date"] = "2026-11-25"
    if path == "/api/qa/feedback" and role in (OPERATOR, LAWYER):
        kwargs["params"]["mine"] = "true"  # their own feedback; everyone's is the inspectors'
    if path.startswith("/api/seat/") and role == ADMIN:
        kwargs["params"]["lawyer_id"] = "L01"  # an admin has no seat of their own: they name one
    return method, url, kwargs


def _staff_routes() -> list[str]:
    return [key for key, rule in ACCESS.items() if rule.kind not in (PUBLIC, TWILIO) and not key.startswith("WEB")]


def test_every_route_of_the_app_is_in_the_access_table(tmp_path):
    """A route added without its entry fails here: add it to ACCESS in staff/access.py (who may, how far)."""
    from api.app import create_app
    from hotline.settings import Settings

    app = create_app(Settings(var_dir=tmp_path, vosk_model_path="/nonexistent"))
    keys = set()
    for route in iter_route_contexts(app.routes):
        websocket = "WebSocket" in type(route.original_route).__name__
        for method in ["WEBSOCKET"] if websocket else sorted((route.methods or {"GET"}) - {"HEAD"}):
            keys.add(f"{method} {route.path_format}")
    missing = sorted(key for key in keys if access_for(*key.split(" ", 1)) is None)
    assert not missing, f"routes not in the access table (add them to ACCESS in staff/access.py): {missing}"
    assert not set(ACCESS) - keys, f"entries for routes the app does not have: {sorted(set(ACCESS) - keys)}"


def test_the_readme_shows_the_access_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README.md's access table is stale: paste `python -m staff.access` into it"
    # The role table's console column names exactly the pages each role may open.
    for role in ROLES:
        row = next(line for line in readme.splitlines() if line.startswith(f"| {role} "))
        console = row.split("|")[2]
        assert set(re.findall(r"`(/[a-z]*)`", console)) == set(consoles_for(role)) or (
            role == ADMIN and "all" in console
        ), (role, console, consoles_for(role))


@pytest.mark.parametrize("role", [None, *ROLES], ids=["signed-out", *ROLES])
def test_each_endpoint_and_page_answers_each_role_as_the_table_says(service, role):
    client = _client(service, role)
    wrong = []
    for key in _staff_routes():
        rule = ACCESS[key]
        method, url, kwargs = _request(service, key, role)
        got = client.request(method, url, follow_redirects=False, **kwargs)
        if got.status_code >= 500:
            wrong.append(f"{key}: {got.status_code} {got.text[:200]}")
        elif role is None:
            to_login = got.status_code in (302, 303, 307) and got.headers["location"].startswith("/login")
            if not (to_login if rule.kind == PAGE else got.status_code == 401):
                wrong.append(f"{key} signed out: {got.status_code}")
        elif rule.scope_for(role) is None:
            if got.status_code != 403:
                wrong.append(f"{key} as {role} must be refused: {got.status_code} {got.text[:200]}")
        elif method == "GET":  # real ids within the role's reach: a real answer
            if got.status_code != 200 and not (key == "GET /redoc" and got.headers.get("location") == "/docs"):
                wrong.append(f"{key} as {role} must answer: {got.status_code} {got.text[:200]}")
        elif rule.scope_for(role) != ALL and got.status_code == 403 and role == ADMIN:
            pass  # an admin's own reach: nothing of theirs to act on (the refusal is the record's, not the role's)
        elif got.status_code not in (200, 201, 404, 409, 422):  # done, or refused by the work's own rules
            wrong.append(f"{key} as {role} must be let through: {got.status_code} {got.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_public_routes_and_twilio_webhooks_need_no_session_but_twilio_needs_its_signature(service):
    admin = _client(service, ADMIN)
    for key, rule in ACCESS.items():
        if rule.kind != TWILIO or key.startswith("WEB"):
            continue
        _method, url, _kwargs = _request(service, key, None)
        for client in (httpx.Client(base_url=service.url), admin):  # a staff session is no Twilio signature
            assert client.post(url, data={"CallSid": "CA-x"}).status_code == 403, key
    assert httpx.get(f"{service.url}/health").status_code == 200
    assert httpx.get(f"{service.url}/login").status_code == 200
    assert httpx.get(f"{service.url}/static/console.css").status_code == 200


def test_a_lawyer_reads_only_their_own_callers_and_an_admin_names_the_seat(service):
    lawyer = _client(service, LAWYER)
    assert lawyer.get(f"/api/tickets/{T_LAWYER}").status_code == 200
    for number in (T_OPERATOR, T_OTHER):
        refused = lawyer.get(f"/api/tickets/{number}")
        assert refused.status_code == 403 and refused.json()["code"] == "not_yours"
        assert f"工单 {number} 不在您的查看范围：作为律师，您只能查看" in refused.json()["detail"]
    assert lawyer.get("/api/calls/CA-am-operator").status_code == 403
    assert lawyer.get("/api/tickets").status_code == 403  # no list of every ticket
    assert lawyer.post(f"/api/tickets/{T_OTHER}/merge", json={"into": T_OPERATOR}).status_code == 403
    assert lawyer.get("/api/seat/state", params={"lawyer_id": "L02"}).status_code == 403
    admin = _client(service, ADMIN)
    unnamed = admin.get("/api/seat/state")
    assert unnamed.status_code == 422 and "lawyer_id" in unnamed.json()["detail"]
    named = admin.get("/api/seat/state", params={"lawyer_id": "L02"})
    assert named.status_code == 200 and named.json()["lawyer_id"] == "L02"


def test_an_inspector_reads_only_sampled_calls(service):
    inspector = _client(service, INSPECTOR)
    assert inspector.get(f"/api/tickets/{T_LAWYER}").status_code == 200
    assert inspector.get("/api/calls/CA-am-operator").status_code == 200
    assert inspector.get("/api/recordings/RE-am-operator/audio").status_code == 200
    assert inspector.get(f"/api/tickets/{T_OTHER}").status_code == 403
    assert inspector.get("/api/calls/CA-am-other").status_code == 403
    assert inspector.get("/api/recordings/RE-am-other/audio").status_code == 403
    assert inspector.get(f"/api/cases/{service.ids['case']}").status_code == 403
    assert inspector.get("/api/tickets").status_code == 403


def test_consultation_notes_are_read_by_their_lawyer_supervisors_and_admins_only(service):
    def notes(view: dict) -> list[str]:
        return [e["note"] for e in view["events"] if e["kind"] == "note"]

    assert NOTE in notes(_client(service, LAWYER).get(f"/api/tickets/{T_LAWYER}").json())
    for role in (SUPERVISOR, ADMIN):
        assert NOTE in notes(_client(service, role).get(f"/api/tickets/{T_LAWYER}").json()), role
    for role in (OPERATOR, INSPECTOR):
        assert NOTE not in notes(_client(service, role).get(f"/api/tickets/{T_LAWYER}").json()), role
        case = _client(service, OPERATOR).get(f"/api/cases/{service.ids['case']}").json()
        assert NOTE not in str(case)
    other_lawyer = service.staff("am-lawyer-2", LAWYER, roster_id="L02")
    callback = other_lawyer.get(f"/api/tickets/{T_CALLBACK}")
    assert callback.status_code == 200 and NOTE not in notes(callback.json())
    assert NOTE in notes(_client(service, LAWYER).get(f"/api/tickets/{T_CALLBACK}").json())
    assert other_lawyer.get(f"/api/tickets/{T_LAWYER}").status_code == 403


@pytest.mark.parametrize("role", [INSPECTOR, SUPERVISOR, ADMIN])
def test_numbers_are_masked_in_every_text_a_masked_role_reads(service, role):
    client = _client(service, role)
    if role == INSPECTOR:
        answers = [
            client.get(f"/api/tickets/{T_LAWYER}"),
            client.get("/api/calls/CA-am-lawyer"),
            client.get(f"/api/qa/samples/{service.ids['sample']}"),
        ]
    else:
        answers = [
            client.get(f"/api/tickets/{T_OTHER}"),
            client.get(f"/api/tickets/{T_LAWYER}"),
            client.get(f"/api/cases/{service.ids['case']}"),
            client.get("/api/calls/CA-am-lawyer"),
            client.get("/api/reports/daily", params={"date": "2026-11-25", "format": "csv"}),
            client.get("/api/reports/daily", params={"date": "2026-11-25", "format": "html"}),
            client.get("/api/audit"),
        ]
    for answer in answers:
        assert answer.status_code == 200, (answer.request.url, answer.text[:300])
        assert "13812341234" not in answer.text and "13900001111" not in answer.text, answer.request.url
    if role != INSPECTOR:
        related = client.get(f"/api/tickets/{T_OTHER}").json()["events"]
        assert any(f"same caller {MASKED}" in e["note"] for e in related)
    operator = _client(service, OPERATOR).get(f"/api/tickets/{T_OTHER}").json()  # operators call back: in full
    assert any(f"same caller {CALLER}" in e["note"] for e in operator["events"])
