"""Calls over several service processes and transcription workers on Procrastinate: nothing lost, nothing twice.

    .venv/bin/python bench/scale.py --calls 20 --workers 2             # a table
    .venv/bin/python bench/scale.py --calls 3 --workers 2 --kill-one --json

Starts a throwaway PostgreSQL cluster (tests/postgres_server.py: initdb into a temp folder with the binaries
`./run test` installed, on a free port, removed afterwards; `--postgres-url` uses an empty database of yours
instead), `hotline serve --workers S` (HOTLINE_JOBS=procrastinate), M `hotline worker` processes and the Twilio
emulator. N callers, a few at a time, press 2 and say a real Korean clip (../shared/data/speech/ko/, cycled).
`--kill-one` SIGKILLs one worker in the middle of transcribing a caller's problem. Waits until every call's ticket
is transcribed or failed and every job before the whole-call archive transcriptions is done (those, minutes of
audio each, are counted, not waited for), then counts from the database: tickets, transcribed, lost (a call
without a ticket or whose transcript never came), duplicated (a recording channel transcribed twice, a recording
said "transcribed" twice, two tickets for one call), retried (jobs run more than once), the webhooks' p50/p99 as
the emulator timed them, and audio_s_per_s: seconds of the callers' problem recordings transcribed per wall-clock
second, from the first call placed to the last of those transcripts stored.

Exit status: 0 when nothing was lost or duplicated, 1 otherwise, 2 when the benchmark could not run, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/scale.py`: the repo's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.webhook import (
    SHARED,
    Child,
    child_env,
    collect_tickets,
    interruptible,
    korean_model_path,
    machine,
    sign_in_reader,
    stop_all,
    summary,
)
from hotline.jobs import BACKGROUND
from tests.postgres_server import rows

KO_CLIPS = SHARED / "data" / "speech" / "ko"
KEYS = ["2"]  # help with a problem: the caller is asked to describe it and says the clip
STARTED = re.compile(r"job \d+ (transcribe:\S+) started")
Progress = Callable[[str], None]


class Worker(Child):
    """A `hotline worker` process: a Child without the port a server is given."""

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout_s: float = 180) -> None:
        """Until the worker says it runs (its speech model loaded)."""
        deadline = time.monotonic() + timeout_s
        while "hotline worker:" not in self.log_tail(10**6):
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
            time.sleep(0.2)


@contextlib.contextmanager
def throwaway_postgres(progress: Progress) -> Iterator[str]:
    """A PostgreSQL cluster of the run's own (tests/postgres_server.py's, on a free port): the URL of its database."""
    from tests.postgres_server import PG_BIN, ThrowawayPostgres

    if not (PG_BIN / "initdb").is_file():
        raise RuntimeError(f"no PostgreSQL in {PG_BIN}: run `./run test` once (it installs it) or pass --postgres-url")
    server = ThrowawayPostgres()
    try:
        # Each service process and worker may open up to 50 connections (hotline.db's pool) under load.
        with open(server.folder / "data" / "postgresql.auto.conf", "a") as conf:
            conf.write("max_connections = 300\n")
        server.start()
        progress(f"throwaway PostgreSQL in {server.folder} on port {server.port}")
        yield server.url
    finally:
        server.remove()


def kill_one_mid_transcription(workers: list[Worker], db_url: str, stop: threading.Event) -> dict | None:
    """SIGKILL the first worker seen in the middle of transcribing a caller's problem (started, not ended, in its
    log): the job the caller's ticket waits for, not the whole call's archive."""
    sources: dict[str, list[tuple]] = {}  # job key -> its recording's source, asked once

    def is_problem(key: str) -> bool:
        if key not in sources:
            query = "SELECT source FROM recordings WHERE recording_sid = :sid"
            sources[key] = rows(db_url, query, sid=key.removeprefix("transcribe:"))
        return sources[key] == [("problem",)]

    while not stop.is_set():
        for worker in workers:
            log = worker.log_tail(10**7)
            running = [key for key in STARTED.findall(log) if f"{key} ended" not in log]
            for key in running:
                if worker.process is not None and is_problem(key):
                    worker.process.kill()
                    worker.process.wait(10)
                    return {"worker": worker.name, "job": key}
        time.sleep(0.05)
    return None


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` until true or `timeout_s` passed; whether it came true."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


COUNTS = {  # each a count from the database once every job is done
    "retried": "SELECT count(*) FROM jobs WHERE attempts > 1",
    "transcripts_twice": "SELECT count(*) FROM (SELECT 1 FROM transcripts GROUP BY recording_id, channel"
    " HAVING count(*) > 1) AS d",
    "transcribed_events_twice": "SELECT count(*) FROM (SELECT 1 FROM call_events WHERE kind = 'transcribed'"
    " GROUP BY detail->>'recording_sid' HAVING count(*) > 1) AS d",
    "tickets_twice": "SELECT count(*) FROM (SELECT 1 FROM tickets WHERE call_id IS NOT NULL GROUP BY call_id"
    " HAVING count(*) > 1) AS d",
    # The whole-call archive transcriptions (BACKGROUND) are not waited for: minutes of audio each, they would make
    # the run last far longer than the callers' problem recordings and the jobs before them.
    "jobs_unfinished": f"SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND priority < {BACKGROUND}",
    "archive_jobs_unfinished": "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND priority >="
    f" {BACKGROUND}",
    "jobs_failed": "SELECT count(*) FROM jobs WHERE status = 'failed'",
}
PROBLEM_AUDIO = (  # the callers' problem recordings transcribed: seconds of audio, and when the last was stored
    "SELECT coalesce(sum(r.duration_s), 0), max(t.at) FROM recordings r JOIN (SELECT recording_id, max(created_at)"
    " AS at FROM transcripts GROUP BY recording_id) t ON t.recording_id = r.id WHERE r.source = 'problem'"
)


def bench(args: argparse.Namespace, progress: Progress) -> dict:
    from emulator import CallerScript, CallReport, TwilioEmulator

    clips = sorted(KO_CLIPS.glob("*.wav"))
    if not clips:
        raise RuntimeError(f"no Korean clips in {KO_CLIPS} (set HOTLINE_TEST_SHARED_DIR)")
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    began = time.monotonic()
    server = contextlib.nullcontext(args.postgres_url) if args.postgres_url else throwaway_postgres(progress)
    with (
        tempfile.TemporaryDirectory(prefix="hotline-bench-scale-") as tmp,
        server as db_url,
        TwilioEmulator(account_sid, auth_token, time_scale=0.02, max_steps=500) as twilio,
    ):
        var = Path(tmp)
        env = child_env(
            {
                "HOTLINE_VAR_DIR": str(var / "var"),
                "HOTLINE_DATABASE_URL": db_url,
                "HOTLINE_JOBS": "procrastinate",
                "HOTLINE_RECORDINGS_DIR": str(var / "recordings"),  # shared by the service and the workers
                "HOTLINE_SESSION_SECRET": secrets.token_urlsafe(32),
                "HOTLINE_TWILIO_ACCOUNT_SID": account_sid,
                "HOTLINE_TWILIO_AUTH_TOKEN": auth_token,
                "HOTLINE_TWILIO_API_URL": twilio.api_url,
                "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
                "HOTLINE_DOWNLOAD_BACKOFF_SECONDS": "0.1",
                # A dead worker's job goes to another after 5 s of silence (the default 30 s would only slow the run).
                "HOTLINE_WORKER_HEARTBEAT_SECONDS": "1",
                "HOTLINE_WORKER_STALLED_SECONDS": "5",
                "XDG_CACHE_HOME": str(var / "cache"),
            }
        )
        cli = [sys.executable, "-m", "cli"]
        service = Child(
            "hotline serve",
            [*cli, "serve", "--log-level", "INFO", "--workers", str(args.service_processes), "--port"],
            env,
            var,
            var / "service.log",
        )
        workers = [
            Worker(f"worker {n}", [*cli, "worker", "--concurrency", str(args.concurrency)], env, var, var / f"w{n}.log")
            for n in range(1, args.workers + 1)
        ]
        stop_killer, killed = threading.Event(), {}
        try:
            service.start()
            service.wait_healthy(timeout_s=180)  # it applies the schema before any worker starts
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.wait_ready()
            reader = sign_in_reader(service)
            startup_s = time.monotonic() - began
            progress(f"{args.service_processes} service processes on {service.url}, {len(workers)} workers")
            if args.kill_one:
                threading.Thread(
                    target=lambda: killed.update(kill_one_mid_transcription(workers, db_url, stop_killer) or {}),
                    daemon=True,
                ).start()

            def one_call(clip: Path) -> CallReport:
                return twilio.place_call(
                    f"{service.url}/twilio/voice",
                    caller=CallerScript(keys=list(KEYS), say=clip),
                    status_callback=f"{service.url}/twilio/status",
                    timeout=120,
                )

            first_call = datetime.now(UTC)
            t0 = time.monotonic()
            progress(f"{args.calls} calls, {args.at_once} at a time")
            with ThreadPoolExecutor(args.at_once) as lines:
                reports = list(lines.map(one_call, itertools.islice(itertools.cycle(clips), args.calls)))
            calls_s = time.monotonic() - t0
            progress("waiting for every ticket's transcript, then for the jobs to finish")
            tickets = collect_tickets(reader, [r.call_sid for r in reports], transcribed=True, timeout_s=args.wait)
            reader.close()
            drained = wait_for(lambda: rows(db_url, COUNTS["jobs_unfinished"])[0][0] == 0, args.wait)
            stop_killer.set()
            counts = {name: rows(db_url, query)[0][0] for name, query in COUNTS.items()}
            errors = rows(db_url, "SELECT kind, left(last_error, 300) FROM jobs WHERE status = 'failed' LIMIT 3")
            audio_s, last_transcript = rows(db_url, PROBLEM_AUDIO)[0]
        finally:
            stop_killer.set()
            stop_all(service, *workers)

    statuses = tickets["transcript_status"]
    webhooks = summary([d.latency_s for r in reports for d in r.requests if d.ok and d.latency_s is not None])
    span_s = (last_transcript - first_call).total_seconds() if last_transcript else 0
    return {
        "calls": args.calls,
        "tickets": tickets["with_ticket"],
        "transcribed": statuses.get("transcribed", 0),
        "lost": args.calls - statuses.get("transcribed", 0),
        "duplicated": counts["transcripts_twice"] + counts["transcribed_events_twice"] + counts["tickets_twice"],
        "retried": counts["retried"],
        "webhook_p50_ms": webhooks["p50_ms"],
        "webhook_p99_ms": webhooks["p99_ms"],
        "audio_s_per_s": round(audio_s / span_s, 2) if span_s > 0 else 0.0,
        "detail": {
            "service_processes": args.service_processes,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "killed": killed or None,
            "transcript_status": statuses,
            "without_ticket": tickets["without_ticket"],
            "failed_webhooks": sum(1 for r in reports for d in r.requests if not d.ok),
            "call_errors": [e for r in reports for e in r.errors][:10],
            "jobs_drained": drained,
            "failed_job_errors": [f"{kind}: {error}" for kind, error in errors],
            **counts,
            "problem_audio_s": round(audio_s, 1),
            "startup_s": round(startup_s, 1),
            "calls_wall_s": round(calls_s, 1),
            "elapsed_s": round(time.monotonic() - began, 1),
        },
        "machine": machine(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    d, m = result["detail"], result["machine"]
    console = Console()
    console.print(f"[bold]scale-out[/] {result['date']}  {m['nproc']} CPU × {m['cpu']}  load {result['load']}")
    console.print(
        f"{d['service_processes']} service processes, {d['workers']} workers × {d['concurrency']} jobs; "
        f"killed: {d['killed'] or 'none'}"
    )
    table = Table()
    for column in ("figure", "value"):
        table.add_column(column)
    for key in ("calls", "tickets", "transcribed", "lost", "duplicated", "retried"):
        table.add_row(key, str(result[key]), style="red" if key in ("lost", "duplicated") and result[key] else None)
    for key in ("webhook_p50_ms", "webhook_p99_ms", "audio_s_per_s"):
        table.add_row(key, str(result[key]))
    console.print(table)
    console.print(f"[dim]{json.dumps(d, ensure_ascii=False)}[/]")


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="calls placed (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="`hotline worker` processes (default 2)")
    parser.add_argument("--kill-one", action="store_true", help="SIGKILL one worker in the middle of a transcription")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--service-processes", type=int, default=2, help="`hotline serve --workers` (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at once in each worker (default 2)")
    parser.add_argument("--at-once", type=int, default=4, help="calls in progress at a time (default 4)")
    parser.add_argument("--wait", type=float, default=300, help="longest wait for the transcripts, s (default 300)")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database of yours (default: a throwaway cluster)")
    args = parser.parse_args(argv)
    if min(args.calls, args.workers, args.service_processes, args.concurrency, args.at_once) < 1:
        parser.error("--calls, --workers, --service-processes, --concurrency and --at-once must be at least 1")
    if args.kill_one and args.workers < 2:
        parser.error("--kill-one needs --workers 2 or more: another worker must take the killed one's job")

    def progress(message: str) -> None:
        if not args.json:
            print(f"… {message}", file=sys.stderr, flush=True)

    try:
        with interruptible():
            result = bench(args, progress)
    except KeyboardInterrupt:
        print("interrupted: everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    if result["lost"] or result["duplicated"]:  # said on stderr too, where a caller reading the exit status looks
        print(f"lost {result['lost']}, duplicated {result['duplicated']}: {result['detail']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
