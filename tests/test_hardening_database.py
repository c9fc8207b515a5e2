"""A slow writer holding SQLite's lock cannot make a webhook miss Twilio's 15 s, nor stop /health; the database
and recordings are readable by the service's account only."""

from __future__ import annotations

import re
import secrets
import sqlite3
import stat
import time
from html import unescape
from pathlib import Path
from typing import Self

import httpx
import pytest

from emulator import CallerScript, DialBehaviour
from emulator.signing import sign
from tests.running_service import RunningService, emulator_env


@pytest.fixture(scope="module")
def service(tmp_path_factory, twilio):
    svc = RunningService(
        tmp_path_factory.mktemp("var"),
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
            "HOTLINE_WEBHOOK_WAIT_SECONDS": "2",
            "HOTLINE_REQUEST_WAIT_SECONDS": "2",
        },
    )
    svc.start()
    yield svc
    svc.stop()


def _post(service: RunningService, auth_token: str, path: str, form: dict[str, str]) -> httpx.Response:
    url = service.url + path
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(auth_token, url, form)}, timeout=60)


def _new_call(service: RunningService, account: tuple[str, str]) -> dict[str, str]:
    call = {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": account[0],
        "From": "+8613900000002",
        "To": "+8612351",
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    greeting = _post(service, account[1], "/twilio/voice", call)
    assert greeting.status_code == 200 and "<Gather" in greeting.text
    return call


class HeldWriteLock:
    """Another process's writer: `BEGIN IMMEDIATE` on its own connection, held until the block ends."""

    def __init__(self, database: Path) -> None:
        self.connection = sqlite3.connect(database, isolation_level=None, timeout=30)

    def __enter__(self) -> Self:
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def test_a_held_write_lock_gets_webhooks_a_pause_and_the_step_again_with_nothing_lost(service, account):
    call = _new_call(service, account)
    with HeldWriteLock(service.var_dir / "hotline.db"):
        assert httpx.get(f"{service.url}/health", timeout=60).status_code == 200
        held = _post(service, account[1], "/twilio/step/menu/keys?attempt=1", {**call, "Digits": "2"})
    # Answered within its bound with TwiML that keeps the call going: a pause, then the same step again,
    # carrying the key pressed (Twilio's redirect would not send it).
    assert held.status_code == 200 and "<Pause" in held.text, held.text
    redirect = unescape(re.search(r"<Redirect[^>]*>([^<]+)</Redirect>", held.text).group(1))
    assert redirect.startswith("/twilio/step/menu/keys?") and "attempt=1" in redirect and "Digits=2" in redirect
    # Once the writer is done, Twilio follows the redirect (the call's own fields only): the key counts.
    after = _post(service, account[1], redirect, call)
    other = _new_call(service, account)
    direct = _post(service, account[1], "/twilio/step/menu/keys?attempt=1", {**other, "Digits": "2"})
    assert after.status_code == 200 and "<Pause" not in after.text
    assert after.text == direct.text  # the same next step as pressing 2 when nothing was busy


def test_staff_requests_get_a_clear_503_while_the_writer_holds_on(service):
    client = service.api  # signed in before the lock is taken
    with HeldWriteLock(service.var_dir / "hotline.db"):
        assert httpx.get(f"{service.url}/health", timeout=60).status_code == 200
        busy = client.get("/api/tickets", timeout=60)
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert busy.json()["code"] == "database_busy" and "请几秒钟后再试" in busy.json()["detail"]
    assert client.get("/api/tickets").status_code == 200


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def _stored(service: RunningService, call_sid: str) -> bool:
    ticket = service.ticket_of(call_sid)
    return bool(ticket) and any(
        r["path"] and (service.var_dir / "recordings" / r["path"]).exists() for r in ticket["recordings"]
    )


def test_the_database_secrets_and_recordings_are_private_to_the_service(service, twilio):
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"]),
        from_="+8613900000003",
        status_callback=f"{service.url}/twilio/status",
        dial=DialBehaviour(answer=False),
    )
    deadline = time.monotonic() + 120
    while not _stored(service, report.call_sid):
        assert time.monotonic() < deadline, f"the call's recording was not stored:\n{service.log()[-3000:]}"
        time.sleep(0.2)
    for name in ("hotline.db", "hotline.db-wal", "hotline.db-shm", "session-secret"):
        path = service.var_dir / name
        assert _private(path), f"{name}: {oct(stat.S_IMODE(path.stat().st_mode))}"
    for path in [service.var_dir, *(service.var_dir / "recordings").rglob("*"), service.var_dir / "recordings"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path}: {oct(mode)}"
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
