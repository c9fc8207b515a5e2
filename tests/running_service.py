"""The real service, started as `hotline serve` in a child process on a loopback port, as a user would run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

from tests.staff_client import sign_in

TEST_PASSWORD = "test-password-12351"


def emulator_env(twilio) -> dict[str, str]:
    """The settings that make a service use the Twilio emulator: its account, and its REST API."""
    return {
        "HOTLINE_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "HOTLINE_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "HOTLINE_TWILIO_API_URL": twilio.api_url,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningService:
    """A `hotline serve` process; restartable, so tests can crash it and start it again."""

    var_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    serve_args: tuple[str, ...] = ()  # more `hotline serve` options, e.g. ("--workers", "2")
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env_for_child(self) -> dict[str, str]:
        """The environment the service runs with (for other `hotline` commands against the same setup)."""
        return {**os.environ, **self.env, "HOTLINE_VAR_DIR": str(self.var_dir)}

    def start(self, timeout_s: float = 120) -> None:
        env = self.env_for_child()
        with open(self.var_dir / "service.log", "ab") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "INFO",
                    *self.serve_args,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.var_dir,
            )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=1) as client:  # one client: each new one loads the CA bundle, ~30 ms of CPU
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"hotline serve exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.get(self.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"hotline serve did not answer in {timeout_s} s:\n{self.log()}")

    def kill(self) -> None:
        """Stop it the hard way, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        path = self.var_dir / "service.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def add_user(
        self,
        username: str,
        role: str,
        *,
        roster_id: str | None = None,
        phone: str | None = None,
        password: str = TEST_PASSWORD,
    ) -> None:
        """Create a staff account with `hotline users add`, as an administrator would."""
        command = [sys.executable, "-m", "cli", "users", "add", username, "--role", role, "--password-stdin"]
        if roster_id:
            command += ["--roster-id", roster_id]
        if phone:
            command += ["--phone", phone]
        done = subprocess.run(
            command,
            input=password + "\n",
            env=self.env_for_child(),
            cwd=self.var_dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hotline users add {username} failed:\n{done.stdout}{done.stderr}")

    def staff(
        self, username: str, role: str, *, roster_id: str | None = None, phone: str | None = None
    ) -> httpx.Client:
        """A client signed in as `username` (created with `role` the first time)."""
        if username not in self._clients:
            self.add_user(username, role, roster_id=roster_id, phone=phone)
            self._clients[username] = sign_in(self.url, username, TEST_PASSWORD)
        return self._clients[username]

    @property
    def api(self) -> httpx.Client:
        """A client signed in as an administrator, for tests that check what staff would see."""
        return self.staff("test-admin", "admin")

    @property
    def operator(self) -> httpx.Client:
        """A client signed in as an operator: the role that calls back, so it sees callers' full numbers."""
        return self.staff("test-operator", "operator")

    def ticket_of(self, call_sid: str) -> dict | None:
        return self.operator.get(f"/api/calls/{call_sid}").json()["ticket"]

    def wait_for_ticket(
        self, call_sid: str, done: tuple[str, ...] = ("transcribed", "failed"), timeout_s: float = 240
    ) -> dict:
        """The call's ticket once its problem recording reached one of `done` states."""
        deadline = time.monotonic() + timeout_s
        ticket = None
        while time.monotonic() < deadline:
            ticket = self.ticket_of(call_sid)
            if ticket is not None and ticket["transcript_status"] in done:
                return ticket
            time.sleep(0.2)
        raise AssertionError(f"ticket of {call_sid} not done in {timeout_s} s: {ticket}\n{self.log()[-4000:]}")
