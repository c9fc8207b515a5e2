"""Jobs on Procrastinate (HOTLINE_JOBS=procrastinate): one `hotline serve` and two `hotline worker` processes on one
PostgreSQL. Calls get their tickets and transcripts from the workers; a worker killed in the middle of a
transcription loses nothing and duplicates nothing, one stopped (SIGTERM) finishes it and takes nothing new; the
periodic rounds run once across the workers; priorities, retries and parked jobs keep their embedded meaning."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from emulator import CallerScript, TwilioEmulator
from hotline import twilio_paths as paths
from hotline.db import make_engine, make_session_factory, transaction
from hotline.job_engine import QUEUE, URGENT_QUEUE, apply_schema, build_app, use_procrastinate
from hotline.jobs import (
    BACKGROUND,
    NORMAL,
    URGENT,
    Job,
    RetryLater,
    WaitForResource,
    enqueue,
    wake_waiting,
)
from hotline.migrate import upgrade
from recordings.pipeline import FETCH_RECORDING
from tests.conftest import empty_postgres_database, korean_model_path
from tests.failover_proxy import FailoverProxy
from tests.postgres_server import rows
from tests.running_service import RunningService
from tests.scripted_clips import KO_CLIP, long_korean_clip


def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_procrastinate_jobs_need_postgresql_and_workers_need_procrastinate(tmp_path):
    database = f"sqlite:///{tmp_path / 'hotline.db'}"
    sqlite = {"HOTLINE_VAR_DIR": str(tmp_path), "HOTLINE_DATABASE_URL": database, "HOTLINE_JOBS": "procrastinate"}
    refused = _run_cli(["serve", "--port", "9"], sqlite, tmp_path)
    assert refused.returncode == 1
    assert "HOTLINE_JOBS=procrastinate needs PostgreSQL" in refused.stdout
    assert "HOTLINE_DATABASE_URL=postgresql" in refused.stdout

    several = _run_cli(["serve", "--port", "9", "--workers", "2"], {**sqlite, "HOTLINE_JOBS": "embedded"}, tmp_path)
    assert several.returncode == 1
    assert "Several processes need HOTLINE_JOBS=procrastinate on PostgreSQL" in " ".join(several.stdout.split())

    embedded = _run_cli(["worker"], {**sqlite, "HOTLINE_JOBS": "embedded"}, tmp_path)
    assert embedded.returncode == 2
    assert "set HOTLINE_JOBS=procrastinate" in embedded.stdout
    assert not (tmp_path / "hotline.db").exists()  # refused before touching anything


@pytest.mark.postgres
def test_procrastinate_schema_is_applied_once_and_never_to_sqlite(fresh_postgres_url, tmp_path):
    engines = [make_engine(fresh_postgres_url) for _ in range(3)]
    try:  # a service and two workers starting at once on an empty database: one migrates, the others wait
        with ThreadPoolExecutor(3) as starts:
            list(starts.map(lambda engine: upgrade(engine, jobs="procrastinate"), engines))
    finally:
        for engine in engines:
            engine.dispose()
    engine = make_engine(fresh_postgres_url)
    try:
        upgrade(engine, jobs="procrastinate")  # a later start changes nothing
        assert not apply_schema(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    finally:
        engine.dispose()
    sqlite = make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        with pytest.raises(ValueError, match="PostgreSQL only"):
            upgrade(sqlite, jobs="procrastinate")
    finally:
        sqlite.dispose()


def _drain(app) -> None:
    """Run a real Procrastinate worker in this process until no job is left to do."""
    from procrastinate.worker import Worker as ProcrastinateWorker

    async def run() -> None:
        async with app.open_async():
            worker = ProcrastinateWorker(
                app, queues=[URGENT_QUEUE, QUEUE], concurrency=1, wait=False, install_signal_handlers=False
            )
            await worker.run()

    asyncio.run(run())


@pytest.mark.postgres
def test_priorities_retries_and_parked_jobs_on_procrastinate(fresh_postgres_url):
    engine = make_engine(fresh_postgres_url)
    upgrade(engine, jobs="procrastinate")
    factory = make_session_factory(engine)
    use_procrastinate(factory, fresh_postgres_url)
    ran: list[tuple[str, int]] = []
    model_here = False

    def archive(payload: dict, attempt: int) -> None:
        ran.append(("archive", attempt))

    def flaky(payload: dict, attempt: int) -> None:
        ran.append(("flaky", attempt))
        if attempt < 3:
            raise RetryLater("Twilio busy", 0)

    def transcribe(payload: dict, attempt: int) -> None:
        ran.append(("transcribe", attempt))
        if not model_here:
            raise WaitForResource("no speech model")

    handlers = {"archive": archive, "flaky": flaky, "transcribe": transcribe}
    try:
        with transaction(factory) as session:  # queued in this order, in one transaction
            enqueue(session, "archive", "archive:1", {}, priority=BACKGROUND)
            enqueue(session, "flaky", "flaky:1", {}, priority=NORMAL)
            enqueue(session, "transcribe", "transcribe:1", {}, priority=URGENT)
        app = build_app(fresh_postgres_url, factory, handlers, [])
        _drain(app)
        # The most pressing first; a RetryLater runs again (its attempt counted), a missing model parks the job.
        assert ran == [("transcribe", 1), ("flaky", 1), ("flaky", 2), ("flaky", 3), ("archive", 1)]
        with factory() as session:
            states = {job.key: (job.status, job.attempts) for job in session.scalars(select(Job))}
        assert states == {"archive:1": ("done", 1), "flaky:1": ("done", 3), "transcribe:1": ("waiting", 1)}

        model_here = True
        assert wake_waiting(factory, "transcribe") == 1  # the model is here: the parked job goes back to the engine
        _drain(app)
        assert ran[-1] == ("transcribe", 2)
        with factory() as session:
            assert session.scalar(select(Job.status).where(Job.key == "transcribe:1")) == "done"
    finally:
        engine.dispose()


# --- the cluster: one service, two workers, one PostgreSQL --------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this module's own, dropped afterwards."""
    with empty_postgres_database() as url:
        yield url


@dataclass
class Worker:
    """A `hotline worker` process with its own log file."""

    number: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    service: RunningService
    workers: list[Worker]
    twilio: TwilioEmulator
    db_url: str

    def add_worker(self) -> Worker:
        """Start one more `hotline worker` (two jobs at a time, plus its urgent slot)."""
        number = len(self.workers) + 1
        log_path = self.service.var_dir / f"worker{number}.log"
        with open(log_path, "ab") as log:  # the child keeps its own copy of the handle
            process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--concurrency", "2"],
                env=self.service.env_for_child(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.service.var_dir,
            )
        self.workers.append(Worker(number, process, log_path))
        return self.workers[-1]

    def logs(self) -> str:
        return "\n".join(f"--- worker {w.number}\n{w.log()[-3000:]}" for w in self.workers)

    def call(self, clip: Path, service: RunningService | None = None, *, hang_up: bool = False) -> str:
        """A caller who presses 2 and says `clip`, answered by `service` (the cluster's first by default); with
        `hang_up`, who hangs up after saying it (the call is over before its transcription can have ended, where
        the service would otherwise hold the caller until the transcript is in)."""
        url = (service or self.service).url
        caller = CallerScript(keys=["2"], say=clip, hang_up_during_record=hang_up)
        report = self.twilio.place_call(f"{url}/twilio/voice", caller=caller, status_callback=f"{url}/twilio/status")
        assert not report.errors, report.errors
        return report.call_sid

    def query(self, sql: str, **params: object) -> list[tuple]:
        return rows(self.db_url, sql, **params)


def _wait(condition, timeout_s: float, what: str, logs=lambda: ""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s} s\n{logs()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_url, account, twilio) -> Iterator[Cluster]:
    var = tmp_path_factory.mktemp("scale")
    env = {
        "HOTLINE_TWILIO_ACCOUNT_SID": account[0],
        "HOTLINE_TWILIO_AUTH_TOKEN": account[1],
        "HOTLINE_TWILIO_API_URL": twilio.api_url,
        "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
        "HOTLINE_DATABASE_URL": postgres_url,
        "HOTLINE_JOBS": "procrastinate",
        "HOTLINE_DOWNLOAD_BACKOFF_SECONDS": "0.1",
        "HOTLINE_WORKER_HEARTBEAT_SECONDS": "1",
        "HOTLINE_WORKER_STALLED_SECONDS": "5",
        "HOTLINE_SLA_SCAN_SECONDS": "2",  # rounds often enough to see each tick run once
        "HOTLINE_SURVEY_SCAN_SECONDS": "3",
        "XDG_CACHE_HOME": str(var / "cache"),
        # What several hosts share besides the database: the recordings' storage and the staff sessions' secret.
        "HOTLINE_RECORDINGS_DIR": str(var / "recordings"),
        "HOTLINE_SESSION_SECRET": "scale-out-test-" + "s" * 32,
    }
    service = RunningService(var, env)
    service.start()  # migrates, Procrastinate's schema included, before any worker starts
    cluster = Cluster(service, [], twilio, postgres_url)
    try:
        cluster.add_worker()
        cluster.add_worker()
        yield cluster
    finally:
        for worker in cluster.workers:
            worker.stop()
        service.stop()


@pytest.mark.postgres
@pytest.mark.shared_data
def test_calls_get_tickets_and_transcripts_from_the_workers(cluster):
    calls = [cluster.call(KO_CLIP) for _ in range(2)]
    for call_sid in calls:
        ticket = cluster.service.wait_for_ticket(call_sid)
        assert "안철수" in ticket["transcript"], (ticket, cluster.logs())
    # Every job ran on a worker, none in the service, and none is left behind.
    assert "jobs and rounds go to Procrastinate" in cluster.service.log()
    assert " started (attempt " not in cluster.service.log()
    worker_logs = "".join(w.log() for w in cluster.workers)
    for call_sid in calls:
        problem = cluster.query(
            "SELECT r.recording_sid FROM recordings r JOIN calls c ON c.id = r.call_id "
            "WHERE c.call_sid = :sid AND r.source = 'problem'",
            sid=call_sid,
        )
        assert f"transcribe:{problem[0][0]} started" in worker_logs
    assert not cluster.query("SELECT key, status FROM jobs WHERE status NOT IN ('done', 'queued', 'running')")


@pytest.mark.postgres
@pytest.mark.shared_data
def test_two_service_hosts_share_calls_and_staff_and_one_going_down_leaves_the_other_serving(cluster, tmp_path_factory):
    """A second `hotline serve` as a second host would run it: its own folder, the same database, recordings
    storage and secrets. Calls answered by either get their tickets and transcripts; staff signed in on one are
    signed in on the other; one host killed, the other carries on."""
    second = RunningService(tmp_path_factory.mktemp("host-b"), cluster.service.env)
    second.start()
    try:
        calls = [cluster.call(KO_CLIP, service) for service in (cluster.service, second)]
        tickets = [cluster.service.wait_for_ticket(call_sid) for call_sid in calls]
        assert all("안철수" in ticket["transcript"] for ticket in tickets), (tickets, cluster.logs())
        assert len({ticket["number"] for ticket in tickets}) == 2
        # The operator signed in on the first host reads the second host's ticket there with the same cookie.
        operator = cluster.service.operator
        with httpx.Client(base_url=second.url, cookies=operator.cookies, headers=operator.headers) as elsewhere:
            seen = elsewhere.get(f"/api/calls/{calls[1]}").json()["ticket"]
        assert seen["number"] == tickets[1]["number"]
        second.kill()
        after = cluster.call(KO_CLIP)
        assert "안철수" in cluster.service.wait_for_ticket(after)["transcript"]
    finally:
        second.stop()


@pytest.mark.postgres
@pytest.mark.shared_data
def test_a_service_host_killed_mid_call_leaves_the_call_to_the_other_behind_the_proxy(cluster, tmp_path_factory):
    """Two hosts behind a reverse proxy (Twilio knows only the proxy's URL, HOTLINE_PUBLIC_URL): the call's
    webhooks go to each host in turn; one host is killed as the caller reaches the route step, and the call's
    later webhooks are answered by the other: the caller is routed, the ticket gets its transcript once."""
    with FailoverProxy() as proxy:
        env = {**cluster.service.env, "HOTLINE_PUBLIC_URL": proxy.url}
        hosts = [RunningService(tmp_path_factory.mktemp(f"host-{n}"), env) for n in "ab"]
        for host in hosts:
            host.start()
        proxy.backends = [host.url for host in hosts]
        doomed = hosts[1]

        def kill_when_the_caller_is_held(path: str) -> None:  # the second host dies as the route step begins
            if path.startswith(paths.ROUTE) and doomed.process is not None and doomed.process.poll() is None:
                proxy.served.append(("(killed)", doomed.url))
                doomed.kill()

        proxy.on_request = kill_when_the_caller_is_held
        try:
            report = cluster.twilio.place_call(
                f"{proxy.url}/twilio/voice",
                caller=CallerScript(keys=["2"], say=KO_CLIP),
                status_callback=f"{proxy.url}/twilio/status",
            )
            assert not report.errors, report.errors
            killed_at = proxy.served.index(("(killed)", doomed.url))
            before, after = proxy.served[:killed_at], proxy.served[killed_at + 1 :]
            assert any(backend == doomed.url for _, backend in before)  # the second host had part of the call
            assert after and all(backend == hosts[0].url for _, backend in after)
            assert any(path.startswith(paths.ROUTE) for path, _ in after)  # the route step went on on the first
            ticket = cluster.service.wait_for_ticket(report.call_sid, timeout_s=600)  # staff read it anywhere
            assert "안철수" in ticket["transcript"] and ticket["route"], ticket
            transcripts = cluster.query(
                "SELECT count(*) FROM transcripts t JOIN recordings r ON r.id = t.recording_id "
                "JOIN calls c ON c.id = r.call_id WHERE c.call_sid = :sid AND r.source = 'problem'",
                sid=report.call_sid,
            )
            assert transcripts == [(1,)]
        finally:
            for host in hosts:
                host.stop()


@pytest.mark.postgres
@pytest.mark.shared_data
def test_serve_with_two_processes_starts_both_and_they_answer_calls(cluster, tmp_path_factory):
    """`hotline serve --workers 2`: two service processes on one port, each with its own services."""
    both = RunningService(tmp_path_factory.mktemp("two"), cluster.service.env, serve_args=("--workers", "2"))
    both.start()
    try:

        def processes() -> set[str]:  # the ids of the processes whose services started, from their log lines
            return set(re.findall(r"\[(\d+)\] api\.services: jobs and rounds go to Procrastinate", both.log()))

        started = _wait(lambda: len(processes()) >= 2 and processes(), 120, "two service processes", both.log)
        assert len(started) == 2  # two processes, each logging under its own id
        calls = [cluster.call(KO_CLIP, both) for _ in range(3)]
        for call_sid in calls:  # read where staff read them (the same database)
            assert "안철수" in cluster.service.wait_for_ticket(call_sid)["transcript"]
    finally:
        both.stop()


@pytest.mark.postgres
def test_jobs_queued_while_running_embedded_are_run_by_the_workers(cluster):
    # A job row without its Procrastinate job, as a service running embedded before the switch leaves them.
    engine = make_engine(cluster.db_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            assert enqueue(session, FETCH_RECORDING, "fetch:RE-before-the-switch", {"recording_sid": "RE-unknown"})
    finally:
        engine.dispose()
    done = _wait(
        lambda: (
            cluster.query("SELECT status, attempts FROM jobs WHERE key = 'fetch:RE-before-the-switch'") == [("done", 1)]
        ),
        60,
        "the workers run the job queued without Procrastinate",
        cluster.logs,
    )
    assert done


@pytest.mark.postgres
def test_periodic_rounds_run_once_across_the_workers(cluster):
    pattern = re.compile(r"round (sla-clock|survey-round) of tick (\d+) in pid (\d+)")

    def ticks() -> Counter[tuple[str, str]]:
        return Counter(m.group(1, 2) for w in cluster.workers for m in pattern.finditer(w.log()))

    _wait(lambda: sum(1 for name, _ in ticks() if name == "sla-clock") >= 3, 60, "SLA clock rounds", cluster.logs)
    assert max(ticks().values()) == 1, ticks()  # no tick ran on two workers


@pytest.mark.postgres
@pytest.mark.shared_data
def test_a_worker_killed_mid_transcription_loses_nothing_and_duplicates_nothing(cluster, tmp_path):
    call_sid = cluster.call(long_korean_clip(tmp_path / "long.wav"), hang_up=True)
    (recording_id, sid), *_ = _wait(
        lambda: cluster.query(
            "SELECT r.id, r.recording_sid FROM recordings r JOIN calls c ON c.id = r.call_id "
            "WHERE c.call_sid = :sid AND r.source = 'problem'",
            sid=call_sid,
        ),
        60,
        "the problem recording is known",
        cluster.logs,
    )
    key = f"transcribe:{sid}"
    busy = _wait(
        lambda: [w for w in cluster.workers if f"{key} started" in w.log()],
        120,
        "a worker starts transcribing",
        cluster.logs,
    )
    victim, survivor = busy[0], next(w for w in cluster.workers if w is not busy[0])
    victim.kill()
    # Killed in the middle: no words stored yet, the job still marked running by the dead worker.
    assert cluster.query("SELECT count(*) FROM transcripts WHERE recording_id = :id", id=recording_id) == [(0,)]
    assert cluster.query("SELECT status, attempts FROM jobs WHERE key = :key", key=key) == [("running", 1)]

    ticket = cluster.service.wait_for_ticket(call_sid, timeout_s=240)
    assert "안철수" in ticket["transcript"]
    assert f"{key} started (attempt 2)" in survivor.log()
    assert cluster.query("SELECT status, attempts FROM jobs WHERE key = :key", key=key) == [("done", 2)]
    # Once: one transcript row (the problem recording is mono), one "transcribed" event for it.
    assert cluster.query("SELECT count(*) FROM transcripts WHERE recording_id = :id", id=recording_id) == [(1,)]
    events = cluster.query(
        "SELECT count(*) FROM call_events e JOIN calls c ON c.id = e.call_id "
        "WHERE c.call_sid = :sid AND e.kind = 'transcribed' AND e.detail::text LIKE :sid_like",
        sid=call_sid,
        sid_like=f"%{sid}%",
    )
    assert events == [(1,)]


@pytest.mark.postgres
@pytest.mark.shared_data
def test_a_worker_stopped_mid_transcription_finishes_it_and_no_other_runs_it_again(cluster, tmp_path):
    other = cluster.add_worker()
    _wait(lambda: "hotline worker:" in other.log(), 60, "the new worker starts", cluster.logs)
    call_sid = cluster.call(long_korean_clip(tmp_path / "long.wav"), hang_up=True)
    (sid,) = _wait(
        lambda: cluster.query(
            "SELECT r.recording_sid FROM recordings r JOIN calls c ON c.id = r.call_id "
            "WHERE c.call_sid = :sid AND r.source = 'problem'",
            sid=call_sid,
        ),
        60,
        "the problem recording is known",
        cluster.logs,
    )[0]
    key = f"transcribe:{sid}"
    alive = [w for w in cluster.workers if w.process.poll() is None]
    busy = _wait(lambda: [w for w in alive if f"{key} started" in w.log()], 120, "a transcription starts", cluster.logs)
    stopping = busy[0]
    stopping.process.terminate()  # SIGTERM, as systemd stops a service: finish the jobs in hand, take no more
    _wait(lambda: "asked to stop" in stopping.log(), 30, "the worker hears SIGTERM", cluster.logs)
    probe = "fetch:RE-queued-while-stopping"  # a short urgent job: its slot is free on every worker
    engine = make_engine(cluster.db_url)
    try:
        factory = make_session_factory(engine)
        use_procrastinate(factory, cluster.db_url)
        with transaction(factory) as session:
            enqueue(session, FETCH_RECORDING, probe, {"recording_sid": "RE-unknown"}, priority=URGENT)
    finally:
        engine.dispose()

    ticket = cluster.service.wait_for_ticket(call_sid, timeout_s=240)
    assert "안철수" in ticket["transcript"]
    assert f"{key} ended" in stopping.log()  # finished by the worker asked to stop (it exits once its jobs end)
    # Once asked to stop it took no new job: another worker ran the one queued meanwhile.
    assert cluster.query("SELECT status FROM jobs WHERE key = :key", key=probe) == [("done",)]
    assert f"{probe} started" not in stopping.log()
    assert any(f"{probe} started" in w.log() for w in alive if w is not stopping)
    # Ran once, though stopping took longer than a dead worker's 5 s of silence: the stopping worker kept beating.
    assert cluster.query("SELECT status, attempts FROM jobs WHERE key = :key", key=key) == [("done", 1)]
    assert not [w.number for w in alive if w is not stopping and key in w.log()]
