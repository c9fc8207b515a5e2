"""The smaller things a person meets at the command line: `hotline qa sample` and `hotline report` without
--date, the report as a table to read, `hotline call` with no service or no audio file, a lawyer's seat not on
the roster, output in pipes and logs not broken mid-phrase, the start-up warning's port, and /favicon.ico."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from hotline.db import make_engine, make_session_factory, transaction
from hotline.migrate import upgrade
from recordings.tables import Call
from routing.tables import Ticket, TicketEvent
from routing.tickets import local_time
from tests.conftest import korean_model_path
from tests.running_service import RunningService, free_port

SH = ZoneInfo("Asia/Shanghai")


def _hotline(env: dict[str, str], cwd, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        input=stdin,
        check=False,
    )


@pytest.fixture
def var(tmp_path):
    """A migrated SQLite database in a var folder, and the environment a `hotline` command runs with there."""
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    engine = make_engine(url)
    upgrade(engine)
    env = {"HOTLINE_DATABASE_URL": url, "HOTLINE_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    yield tmp_path, env, make_session_factory(engine)
    engine.dispose()


def _today():
    return datetime.now(SH).date()


def test_qa_sample_without_a_date_samples_yesterday(var):
    tmp_path, env, factory = var
    yesterday = _today() - timedelta(days=1)
    with transaction(factory) as session:
        session.add(
            Call(
                call_sid="CA-yesterday",
                from_number="+8613812341234",
                status="completed",
                started_at=datetime.combine(yesterday, datetime.min.time(), SH) + timedelta(hours=12),
                duration_s=90,
                handler="op_a",
                handler_role="operator",
                menu_choice="help",
            )
        )
    done = _hotline(env, tmp_path, "qa", "sample", "--json")
    assert done.returncode == 0, done.stderr
    assert [(p["call_sid"], p["day"]) for p in json.loads(done.stdout)] == [("CA-yesterday", yesterday.isoformat())]
    shown = _hotline(env, tmp_path, "qa", "sample")
    assert shown.returncode == 0 and f"QA sample of {yesterday}" in shown.stdout
    assert "抽样配额" in shown.stdout  # the reason as inspectors read it


def test_report_without_a_date_is_today_as_a_table_and_json_or_csv_on_request(var):
    tmp_path, env, factory = var
    now = datetime.now(UTC)
    with transaction(factory) as session:  # three calls today, one of them answered: a rate of 1/3
        session.add_all(
            [
                Call(
                    call_sid=f"CA-today-{n}",
                    status="completed",
                    started_at=now - timedelta(seconds=n),
                    menu_choice="help" if n == 0 else None,
                )
                for n in range(3)
            ]
        )
    table = _hotline(env, tmp_path, "report", "daily")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert f"日报 {_today()}" in table.stdout
    answer_rate = next(line for line in lines if line.strip("│ ").startswith("接通率"))
    assert "33.33 %" in answer_rate  # one row a person reads, in per cent, not cut at 80 columns
    assert "数据截至" in table.stdout and "（Asia/Shanghai）" in table.stdout

    as_json = _hotline(env, tmp_path, "report", "daily", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["from"], report["calls_total"], report["calls_answered"]) == (_today().isoformat(), 3, 1)
    assert datetime.fromisoformat(report["as_of"]).utcoffset() == timedelta(0)  # JSON keeps UTC, with its offset

    as_csv = _hotline(env, tmp_path, "report", "daily", "--format", "csv")
    row = next(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert row["answer_rate"] == "0.3333" and row["calls_total"] == "3"

    html = _hotline(env, tmp_path, "report", "daily", "--format", "html")
    assert html.returncode == 0 and "UTC" not in html.stdout
    as_of = local_time(report["as_of"], "Asia/Shanghai")[:10]  # the day of the local "as of", without microseconds
    assert f"截至 {as_of}" in html.stdout and report["as_of"][:19] not in html.stdout.replace("T", " ")


def test_tickets_show_prints_event_times_in_local_time_and_json_keeps_utc(var):
    tmp_path, env, factory = var
    with transaction(factory) as session:
        call = Call(
            call_sid="CA-shown",
            from_number="+8613812341234",
            status="completed",
            started_at=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
        )
        session.add(call)
        session.flush()
        ticket = Ticket(number="12351-20261125-0001", call_id=call.id, subject="wage_arrears", status="accepted")
        session.add(ticket)
        session.flush()
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind="accepted",
                note="受理",
                actor="ivr",
                at=datetime(2026, 11, 25, 10, 30, 5, 123456, tzinfo=UTC),
            )
        )
    shown = _hotline(env, tmp_path, "tickets", "show", "12351-20261125-0001")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    event = next(line for line in shown.stdout.splitlines() if "受理" in line and "accepted" in line)
    assert "2026-11-25 18:30:05" in event and "10:30" not in event and "123456" not in event
    as_json = json.loads(_hotline(env, tmp_path, "tickets", "show", "12351-20261125-0001", "--json").stdout)
    assert datetime.fromisoformat(as_json["events"][0]["at"]) == datetime(2026, 11, 25, 10, 30, 5, 123456, tzinfo=UTC)


def test_call_refuses_a_missing_audio_file_and_says_when_the_service_is_down(var):
    tmp_path, env, _ = var
    down = f"http://127.0.0.1:{free_port()}"
    missing = _hotline(env, tmp_path, "call", "--url", down, "--press", "2", "--say", str(tmp_path / "nope.wav"))
    assert missing.returncode == 2 and "no audio file" in missing.stdout and "nope.wav" in missing.stdout
    no_service = _hotline(env, tmp_path, "call", "--url", down, "--press", "2")
    assert no_service.returncode == 1
    assert f"the service does not answer at {down}" in no_service.stdout and "./run serve" in no_service.stdout


def test_a_lawyer_seat_not_on_the_roster_is_refused_and_the_seats_are_listed_on_one_line(var):
    tmp_path, env, _ = var
    refused = _hotline(
        env,
        tmp_path,
        "users",
        "add",
        "lawyer-x",
        "--role",
        "lawyer",
        "--roster-id",
        "L99",
        "--password-stdin",
        stdin="a-long-password-12351\n",
    )
    assert refused.returncode == 1
    # In a pipe the message stays one line (no wrapping at 80 columns), naming the seats that exist.
    line = next(line for line in refused.stdout.splitlines() if "no seat L99" in line)
    assert "L01 (王律师)" in line and "L10 (吴律师)" in line
    taken = _hotline(
        env,
        tmp_path,
        "users",
        "add",
        "lawyer-w",
        "--role",
        "lawyer",
        "--roster-id",
        "L01",
        "--password-stdin",
        stdin="a-long-password-12351\n",
    )
    assert taken.returncode == 0, taken.stdout + taken.stderr


def test_the_start_up_warning_names_the_port_served_and_the_favicon_answers_signed_out(tmp_path):
    service = RunningService(tmp_path, {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"})
    with service:
        warning = next(line for line in service.log().splitlines() if "HOTLINE_PUBLIC_URL is not set" in line)
        assert f"http://127.0.0.1:{service.port}" in warning and ":8000" not in warning
        icon = httpx.get(f"{service.url}/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"  # an icon file, served without signing in


def test_model_check_shows_what_it_is_doing_in_a_terminal(var):
    tmp_path, env, _ = var
    primary, secondary = os.openpty()  # a terminal, as a person running the command has
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "model", "check"],
        stdout=secondary,
        stderr=secondary,
        cwd=tmp_path,
        env={**env, "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()), "TERM": "xterm", "COLUMNS": "100"},
    )
    os.close(secondary)
    chunks = []
    try:
        while True:  # read as it comes (a full terminal buffer would stop the command), until it closes
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the command exited and closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        returncode = process.wait(300)
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "loading the model (about 15 s)" in shown and "loads in" in shown, shown[-2000:]
    assert returncode in (0, 1)  # 1: the Korean test model lacks the Mandarin menu words, and says so
