"""The background jobs seen by people: `hotline jobs` (counts by kind and state, the failed jobs, the workers'
heartbeats, `retry`), on SQLite with the jobs embedded in `hotline serve` and on PostgreSQL with a real `hotline
worker` on Procrastinate; `GET /api/jobs` for supervisors only; the dashboard's jobs panel in Chromium, in Chinese."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.db import make_engine, make_session_factory, transaction, utcnow
from hotline.job_engine import use_procrastinate
from hotline.jobs import DONE, FAILED, RUNNING, WAITING, Job, enqueue
from hotline.migrate import upgrade
from tests.browser import (  # noqa: F401 - the fixture
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.conftest import empty_postgres_database
from tests.running_service import TEST_PASSWORD, RunningService
from tests.test_chinese_words import CODE, LATIN_WORD
from tests.waiting import poll

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def hotline(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`hotline ARGS` as an administrator runs it on the service's host."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**env, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def poll_until(condition: Callable[[], Any], what: str, timeout_s: float = 300) -> Any:
    """The first truthy result of `condition()` (tests.waiting.poll), or a failure naming what never came."""
    found = poll(condition, timeout_s=timeout_s, every_s=0.2)
    assert found, f"{what}: not within {timeout_s} s"
    return found


def job_row(url: str, job_id: int) -> tuple[str, int, str | None]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            job = session.get_one(Job, job_id)
            return job.status, job.attempts, job.last_error
    finally:
        engine.dispose()


def add_failed(session, kind: str, key: str, payload: dict, error: str) -> int:
    """A job that ended in an error, as its handler leaves it."""
    job = Job(kind=kind, key=key, payload=payload, status=FAILED, attempts=3, last_error=error)
    session.add(job)
    session.flush()
    return job.id


def test_hotline_jobs_says_what_to_do_before_the_database_exists(tmp_path):
    done = hotline(["jobs"], {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path)}, tmp_path)
    assert done.returncode == 1 and "还没有任务表" in done.stdout and "hotline db upgrade" in done.stdout, done.stdout


# --- embedded (SQLite): one `hotline serve` runs the jobs ---------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[RunningService]:
    """A service on SQLite whose job table has a queued, a parked, a running, a done and two failed jobs."""
    svc = RunningService(tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent"})
    svc.start()
    svc.db_url = f"sqlite:///{svc.var_dir / 'hotline.db'}"
    engine = make_engine(svc.db_url)
    tomorrow = utcnow() + timedelta(days=1)
    with transaction(make_session_factory(engine)) as session:
        session.add_all(
            [  # not due before tomorrow: it stays queued while the tests look
                Job(kind="transcribe_recording", key="t:1", payload={"recording_sid": "RE0001"}, run_after=tomorrow),
                Job(kind="transcribe_recording", key="t:2", payload={"recording_sid": "RE0002"}, status=WAITING),
                Job(kind="fetch_recording", key="f:3", payload={"recording_sid": "RE0003"}, status=RUNNING),
                Job(kind="fetch_recording", key="f:4", payload={"recording_sid": "RE0004"}, status=DONE, attempts=1),
            ]
        )
        svc.failed_move = add_failed(
            session, "move_to_supervisor", "m:5", {"call_sid": "CA0005"}, "ConnectError: Twilio unreachable"
        )
        svc.failed_fetch = add_failed(
            session, "fetch_recording", "f:6", {"recording_sid": "RE0006"}, "download failed after 3 attempt(s)"
        )
    engine.dispose()
    yield svc
    svc.stop()


def test_hotline_jobs_shows_the_jobs_and_retry_runs_a_failed_one_again(service):
    env, cwd = service.env_for_child(), service.var_dir
    listed = hotline(["jobs", "--json"], env, cwd)
    assert listed.returncode == 0, listed.stderr
    status = json.loads(listed.stdout)
    kinds = {k["kind"]: k for k in status["kinds"]}
    assert status["mode"] == "embedded"
    assert (kinds["transcribe_recording"]["queued"], kinds["transcribe_recording"]["waiting"]) == (1, 1)
    assert (kinds["fetch_recording"]["running"], kinds["fetch_recording"]["done_24h"]) == (1, 1)
    assert (kinds["fetch_recording"]["failed"], kinds["move_to_supervisor"]["failed"]) == (1, 1)
    assert kinds["transcribe_recording"]["label"] == "转写录音" and kinds["fetch_recording"]["label"] == "下载录音"
    assert {j["id"]: j["error"] for j in status["failed"]} == {
        service.failed_move: "ConnectError: Twilio unreachable",
        service.failed_fetch: "download failed after 3 attempt(s)",
    }

    table = hotline(["jobs"], env, cwd).stdout
    assert "转写录音" in table and "24 小时内完成" in table and "失败任务 2 个" in table, table
    failed = hotline(["jobs", "--failed"], env, cwd).stdout
    assert "CA0005" in failed and "Twilio unreachable" in failed and "RE0006" in failed, failed

    # Retried, the service runs it again within seconds: the call is gone, so moving it is done at once.
    retried = hotline(["jobs", "retry", str(service.failed_move)], env, cwd)
    assert retried.returncode == 0 and "已重新排队" in retried.stdout, retried.stdout + retried.stderr
    poll_until(lambda: job_row(service.db_url, service.failed_move) == (DONE, 1, None), "the retried job done")
    again = hotline(["jobs", "retry", str(service.failed_move)], env, cwd)
    assert again.returncode == 1 and "只有失败的任务可以重试" in again.stdout, again.stdout
    missing = hotline(["jobs", "retry", "999999"], env, cwd)
    assert missing.returncode == 1 and "没有编号为 999999 的任务" in missing.stdout, missing.stdout
    after = json.loads(hotline(["jobs", "--failed", "--json"], env, cwd).stdout)
    assert [j["id"] for j in after] == [service.failed_fetch]


def test_the_jobs_endpoint_is_for_supervisors(service):
    answer = service.staff("boss-jobs", "supervisor").get("/api/jobs")
    assert answer.status_code == 200, answer.text
    status = answer.json()
    assert status["mode"] == "embedded" and status["totals"]["queued"] == 1
    # Embedded, the service process is the worker: answering is its heartbeat.
    assert [(w["id"], w["alive"], w["seconds_since"]) for w in status["workers"]] == [("serve", True, 0.0)]
    assert service.failed_fetch in [j["id"] for j in status["failed"]]
    assert service.api.get("/api/jobs").status_code == 200  # admin passes
    for username, role, extra in [
        ("op-jobs", "operator", {}),
        ("qa-jobs", "inspector", {}),
        ("law-jobs", "lawyer", {"roster_id": "L01"}),
    ]:
        assert service.staff(username, role, **extra).get("/api/jobs").status_code == 403, role
    assert httpx.get(service.url + "/api/jobs").status_code == 401


def test_the_dashboard_jobs_panel_speaks_chinese(service, browser):
    service.staff("boss-panel", "supervisor")
    page = signed_in_page(browser, service.url, "/dashboard", "boss-panel", TEST_PASSWORD)
    wait_until(page, "() => Boolean(document.body.dataset.jobsRefreshed)", timeout_s=60)
    panel = page.inner_text("#jobs-card")
    for words in ("后台任务", "转写录音", "下载录音", "转接班长", "排队中", "24 小时内完成", "本服务进程", "最后心跳"):
        assert words in panel, f"{words} is not on the jobs panel:\n{panel}"
    assert "内嵌" in page.inner_text("#jobs-mode")
    shown = LATIN_WORD.sub(" ", panel.replace("RE0006", " ").replace("RE0001", " "))
    assert not CODE.findall(panel) and not LATIN_WORD.findall(shown), panel
    # The failed download stands out, in red, with its recording; its technical error is a tooltip.
    row = page.locator("tr.failed-job", has_text="RE0006")
    assert row.count() == 1 and "下载录音" in row.inner_text()
    assert row.get_attribute("title") == "download failed after 3 attempt(s)"
    assert row.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgb(255, 241, 240)"
    assert page.locator("#jobs-totals .failed:not(.none)").count() == 1
    snapshot(page, "dashboard-jobs")
    no_script_errors(page)


# --- Procrastinate (PostgreSQL): a real `hotline worker` runs the jobs ---------------------------------------------


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A `hotline worker` on a PostgreSQL database of its own; its log in the var folder."""
    with empty_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine, jobs="procrastinate")
        engine.dispose()
        var = tmp_path_factory.mktemp("worker")
        env = {
            **os.environ,
            "HOTLINE_VAR_DIR": str(var),
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_JOBS": "procrastinate",
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
            "HOTLINE_WORKER_HEARTBEAT_SECONDS": "1",
        }
        log_path = var / "worker.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--concurrency", "1"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=var,
            )
        try:
            yield {"url": url, "env": env, "var": var, "log": log_path}
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.mark.postgres
def test_hotline_jobs_on_procrastinate_shows_heartbeats_and_retries(worker):
    engine = make_engine(worker["url"])
    factory = make_session_factory(engine)
    use_procrastinate(factory, worker["url"])
    try:
        with transaction(factory) as session:  # queued for in an hour: the worker leaves it queued meanwhile
            enqueue(session, "transcribe_recording", "t:later", {"recording_sid": "RE0101"}, delay_s=3600)
            failed = add_failed(session, "move_to_supervisor", "m:gone", {"call_sid": "CA0102"}, "RuntimeError: x")
            queued = session.scalar(select(Job.id).where(Job.key == "t:later"))
    finally:
        engine.dispose()

    def status() -> dict:
        done = hotline(["jobs", "--json"], worker["env"], worker["var"])
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    log = lambda: worker["log"].read_text(errors="replace")  # noqa: E731
    seen = poll_until(lambda: (s := status())["workers"] and s, "the worker's heartbeat")
    assert seen["mode"] == "procrastinate"
    kinds = {k["kind"]: k for k in seen["kinds"]}
    assert kinds["transcribe_recording"]["queued"] == 1 and kinds["move_to_supervisor"]["failed"] == 1
    assert [j["id"] for j in seen["failed"]] == [failed]
    # Two Procrastinate workers per `hotline worker` (its slots and its urgent lane), both beating now.
    assert len(seen["workers"]) == 2 and all(w["alive"] for w in seen["workers"]), seen["workers"]
    assert all(w["seconds_since"] < 30 for w in seen["workers"])
    table = hotline(["jobs"], worker["env"], worker["var"]).stdout
    assert "工作进程" in table and "正常" in table and "秒前" in table, table

    retried = hotline(["jobs", "retry", str(failed)], worker["env"], worker["var"])
    assert retried.returncode == 0 and "hotline worker" in retried.stdout, retried.stdout + retried.stderr
    poll_until(lambda: job_row(worker["url"], failed) == (DONE, 1, None), "the retried job run by the worker")
    assert f"job {failed} m:gone started" in log(), log()
    assert job_row(worker["url"], queued)[0] == "queued"  # the one not due yet is untouched
