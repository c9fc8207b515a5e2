"""Operator seats: an operator who takes calls gets the callers who ask for a person on their own phone, so each
call is known by who took it (QA gives them their own quota); nobody taking calls, the shared desk rings as before.

The seat logic on a real database (SQLite and PostgreSQL), then whole calls through the real service and the
Twilio emulator.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cli.schema import target_metadata
from emulator import CallerScript, DialBehaviour, TwilioEmulator
from hotline.db import make_engine, transaction
from hotline.migrate import upgrade
from ivr.flow import FlowError, load_flow, parse_flow
from staff.accounts import AccountError, create_user
from staff.seats import (
    Claimed,
    SeatError,
    claim_free_operator,
    operator_seats,
    release,
    sign_in,
    sign_out,
)
from staff.tables import OperatorPresence
from tests.browser import browser_fixture, no_script_errors, signed_in_page  # noqa: F401 - the fixture
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env

PASSWORD = "seat-password-12351"
DESK = "+8612351000"


# --- the seat logic on a real database ---------------------------------------------------------------------------


def test_the_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), target_metadata)
    engine.dispose()
    assert diff == []


def test_seats_belong_to_dial_steps_and_the_default_flow_rings_the_operators_first():
    operator = load_flow().step("operator")
    assert (operator.kind, operator.seats, operator.number) == ("dial", "operators", DESK)
    for step, message in (
        ({"kind": "say", "prompts": ["您好"], "seats": "operators"}, "only a dial step"),
        ({"kind": "dial", "number": DESK, "seats": "lawyers"}, "one of: operators"),
    ):
        with pytest.raises(FlowError, match=message):
            parse_flow({"start": "s", "steps": {"s": step}})


def test_a_phone_is_stored_as_twilio_dials_it_and_a_local_number_is_refused(migrated):
    with transaction(migrated) as session:
        user = create_user(session, "op-a", "operator", PASSWORD, phone="+86 138-0013-8000")
        assert user.phone == "+8613800138000"
        with pytest.raises(AccountError, match=r"\+86"):
            create_user(session, "op-b", "operator", PASSWORD, phone="13800138000")


def test_the_free_operator_idle_longest_is_put_through_and_freed_after(migrated):
    with transaction(migrated) as session:
        a = create_user(session, "op-a", "operator", PASSWORD, phone="+8613800000001")
        b = create_user(session, "op-b", "operator", PASSWORD, phone="+8613800000002")
        nophone = create_user(session, "op-c", "operator", PASSWORD)
        inspector = create_user(session, "qa-1", "inspector", PASSWORD, phone="+8613800000004")
        with pytest.raises(SeatError, match="没有登记接听电话"):
            sign_in(session, nophone)
        with pytest.raises(SeatError, match="只有话务员"):
            sign_in(session, inspector)
        sign_in(session, a)
        sign_in(session, b)
        # a has been free since 09:00, b since 08:30: b has waited longest.
        session.get(OperatorPresence, "op-a").updated_at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
        session.get(OperatorPresence, "op-b").updated_at = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)
        sign_in(session, b)  # signing in again keeps the idle time
    with transaction(migrated) as session:
        assert claim_free_operator(session, "CA1") == Claimed("op-b", "+8613800000002")
        assert claim_free_operator(session, "CA1") == Claimed("op-b", "+8613800000002")  # a retried webhook
        assert claim_free_operator(session, "CA2") == Claimed("op-a", "+8613800000001")
        assert claim_free_operator(session, "CA3") is None  # both on a call: the desk rings
        seats = {s.username: s for s in operator_seats(session)}
        assert set(seats) == {"op-a", "op-b", "op-c"}  # operators only; the inspector never took calls
        assert (seats["op-b"].on_call_sid, seats["op-b"].free) == ("CA1", False)
        assert (seats["op-c"].signed_in, seats["op-c"].free) == (False, False)
    with transaction(migrated) as session:
        sign_out(session, "op-a")  # mid-call: the call goes on, no new caller comes
        assert release(session, "CA1") == "op-b"
        assert release(session, "CA1") is None  # the Dial's action and the call's end both free: once is enough
        assert claim_free_operator(session, "CA3") == Claimed("op-b", "+8613800000002")
        assert release(session, "CA2") == "op-a"
        assert claim_free_operator(session, "CA4") is None  # op-a signed out, op-b on CA3


def test_two_callers_at_once_never_get_the_same_operator(migrated):
    with transaction(migrated) as session:
        sign_in(session, create_user(session, "op-a", "operator", PASSWORD, phone="+8613800000001"))
    first_claimed, results = threading.Event(), {}

    def first() -> None:
        with transaction(migrated) as session:
            results["CA1"] = claim_free_operator(session, "CA1")
            first_claimed.set()
            threading.Event().wait(0.3)  # still uncommitted while the second caller looks for an operator

    def second() -> None:
        first_claimed.wait(5)
        with transaction(migrated) as session:
            results["CA2"] = claim_free_operator(session, "CA2")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"CA1": Claimed("op-a", "+8613800000001"), "CA2": None}


# --- whole calls through the service -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory, account, twilio):
    var = tmp_path_factory.mktemp("var")
    svc = RunningService(var, {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": str(var / "no-model")})
    svc.start()
    yield svc
    svc.stop()


RUNG: dict[str, list[str]] = {}  # phone dialled -> the calls put through to it, for the QA test at the end


def press_zero(twilio: TwilioEmulator, service: RunningService):
    """A caller asks for a person (key 0); the dialled party answers and talks 30 s."""
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"]),
        from_=f"+86139{secrets.randbelow(10**8):08d}",
        status_callback=f"{service.url}/twilio/status",
    )
    assert not report.errors
    for number in report.dialled:
        RUNG.setdefault(number, []).append(report.call_sid)
    return report


def call_view(service: RunningService, call_sid: str) -> dict:
    return service.api.get(f"/api/calls/{call_sid}").json()


def events(view: dict, kind: str) -> list[dict]:
    return [e["detail"] for e in view["events"] if e["kind"] == kind]


def test_with_nobody_taking_calls_the_desk_rings_as_before(twilio, service):
    report = press_zero(twilio, service)
    assert report.dialled == [DESK]
    view = call_view(service, report.call_sid)
    assert (view["handler"], view["handler_role"]) == (f"desk:{DESK}", "operator")
    assert events(view, "dialling") == [{"step": "operator", "operator": None, "number": DESK}]


def test_an_operator_taking_calls_gets_the_caller_on_their_phone_and_is_free_after(twilio, service):
    wang = service.staff("op-wang", "operator", phone="+86 139 0000 0201")
    assert wang.get("/api/operators/me").json()["signed_in"] is False
    signed = wang.post("/api/operators/me/sign-in")
    assert signed.status_code == 200, signed.text
    assert signed.json() | {"since": None} == {
        "username": "op-wang",
        "name": "op-wang",
        "phone": "+8613900000201",
        "signed_in": True,
        "on_call_sid": None,
        "free": True,
        "since": None,
    }
    try:
        report = press_zero(twilio, service)
        assert report.dialled == ["+8613900000201"]
        view = call_view(service, report.call_sid)
        assert (view["handler"], view["handler_role"]) == ("op-wang", "operator")
        assert events(view, "dialling") == [{"step": "operator", "operator": "op-wang"}]
        assert [(e["status"], e["operator"]) for e in events(view, "dial_ended")] == [("completed", "op-wang")]
        me = wang.get("/api/operators/me").json()
        assert (me["signed_in"], me["on_call_sid"], me["free"]) == (True, None, True)
    finally:
        assert wang.post("/api/operators/me/sign-out").json()["signed_in"] is False
    # Signed out, the next caller goes to the desk again.
    assert press_zero(twilio, service).dialled == [DESK]


def test_an_operator_who_does_not_answer_stops_being_rung_and_the_caller_gets_the_desk(twilio, service):
    sun = service.staff("op-sun", "operator", phone="+8613900000204")
    sun.post("/api/operators/me/sign-in").raise_for_status()
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"]),
        status_callback=f"{service.url}/twilio/status",
        dial=DialBehaviour(unanswered_numbers=("+8613900000204",)),
    )
    assert not report.errors, report.errors
    assert report.dialled == ["+8613900000204", DESK]  # their phone rang out, then the desk answered
    view = call_view(service, report.call_sid)
    assert (view["handler"], view["handler_role"]) == (f"desk:{DESK}", "operator")
    assert events(view, "operator_missed") == [{"operator": "op-sun", "status": "no-answer"}]
    assert sun.get("/api/operators/me").json()["signed_in"] is False  # until they take calls again
    assert press_zero(twilio, service).dialled == [DESK]


def test_the_operator_free_longest_is_rung_first(twilio, service):
    li = service.staff("op-li", "operator", phone="+8613900000202")
    zhao = service.staff("op-zhao", "operator", phone="+8613900000203")
    li.post("/api/operators/me/sign-in").raise_for_status()
    zhao.post("/api/operators/me/sign-in").raise_for_status()
    try:
        rung = [press_zero(twilio, service).dialled for _ in range(3)]
        # li signed in first; after li's call zhao has waited longer, then li again.
        assert rung == [["+8613900000202"], ["+8613900000203"], ["+8613900000202"]]
        seats = {s["username"]: s for s in service.staff("sup-1", "supervisor").get("/api/operators").json()}
        assert {name for name, s in seats.items() if s["signed_in"]} == {"op-li", "op-zhao"}
        assert (seats["op-li"]["free"], seats["op-zhao"]["on_call_sid"]) == (True, None)
        assert seats["op-zhao"]["since"] < seats["op-li"]["since"]  # li was freed last: zhao is next
    finally:
        li.post("/api/operators/me/sign-out").raise_for_status()
        zhao.post("/api/operators/me/sign-out").raise_for_status()


def test_seats_are_each_operators_own_and_need_a_phone(service):
    nophone = service.staff("op-nophone", "operator")
    refused = nophone.post("/api/operators/me/sign-in")
    assert refused.status_code == 409 and "hotline users phone op-nophone" in refused.json()["detail"]
    assert nophone.get("/api/operators").status_code == 403  # the list of everyone is the supervisors'
    inspector = service.staff("qa-seat", "inspector")
    assert inspector.post("/api/operators/me/sign-in").status_code == 403


def test_a_bad_phone_is_refused_by_hotline_users_add(service):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "users",
            "add",
            "op-bad",
            "--role",
            "operator",
            "--phone",
            "0139-0000-0209",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "+86" in done.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_an_operator_starts_and_stops_taking_calls_from_the_tickets_page(twilio, service, browser):
    service.add_user("op-zhou", "operator", phone="+8613900000204")
    page = signed_in_page(browser, service.url, "/tickets", "op-zhou", TEST_PASSWORD)
    toggle = page.locator("#seat-toggle")
    toggle.wait_for()
    assert toggle.inner_text() == "开始接听" and "未接听" in page.inner_text("#seat-state")
    toggle.click()
    page.wait_for_selector("#seat-state [data-signed-in=true]")
    assert "+8613900000204" in page.inner_text("#seat-state") and toggle.inner_text() == "停止接听"
    assert press_zero(twilio, service).dialled == ["+8613900000204"]
    toggle.click()
    page.wait_for_selector("#seat-state [data-signed-in=false]")
    assert press_zero(twilio, service).dialled == [DESK]
    no_script_errors(page)
    page.context.close()
    # A supervisor sees the dispatcher list without an operator's toggle.
    service.staff("sup-1", "supervisor")  # the account exists
    supervisor = signed_in_page(browser, service.url, "/tickets", "sup-1", TEST_PASSWORD)
    assert supervisor.locator("#operator-seat").count() == 0
    supervisor.context.close()


def test_qa_sampling_gives_each_operator_their_own_quota(service):
    # Runs after the calls above: op-wang took 1 call, op-li 2, op-zhao 1 (the quota is 10 %, at least 2).
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "qa", "sample", "--date", today, "--json"],
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    picks = json.loads(done.stdout)
    by_operator: dict[str, list[dict]] = {}
    for pick in picks:
        if pick["handler"] in ("op-wang", "op-li", "op-zhao"):
            by_operator.setdefault(pick["handler"], []).append(pick)
    assert {name: len(p) for name, p in by_operator.items()} == {"op-wang": 1, "op-li": 2, "op-zhao": 1}
    mine = [p for ps in by_operator.values() for p in ps]
    assert {(p["handler_role"], p["reason"]) for p in mine} == {("operator", "quota")}
    phones = {"op-wang": "+8613900000201", "op-li": "+8613900000202", "op-zhao": "+8613900000203"}
    assert {name: {p["call_sid"] for p in ps} for name, ps in by_operator.items()} == {
        name: set(RUNG[phone]) for name, phone in phones.items()
    }  # each pick is a call that rang their phone
