"""A PostgreSQL server of a test's own, which the test may stop and start again (the shared one of `./run test`
serves every other test at once and must not go down).

initdb refuses to run as root: as root (CI, `./run test`) the server runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.running_service import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")  # what ./run test installs (Debian's postgresql-15)
INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")  # a throwaway: no disk syncs


def rows(url: str, sql: str, **params: object) -> list[tuple]:
    """The rows of one query on the database at `url` (a short-lived engine: tests and benches look, then go)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


class ThrowawayPostgres:
    """initdb into a temporary folder; `start`, `stop` (a fast shutdown, as a restart does) and `start` again on
    the same port and data; `remove` when done."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").is_file():
            if os.environ.get("CI"):
                pytest.fail(f"no PostgreSQL in {PG_BIN}: ./run test installs it")
            pytest.skip(f"no PostgreSQL server binaries in {PG_BIN} to run a server of the test's own")
        self.folder = Path(tempfile.mkdtemp(prefix="hotline-test-pg-"))
        self.port = free_port()
        self._as_postgres = (
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] if os.geteuid() == 0 else []
        )
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        made = subprocess.run(
            [*self._as_postgres, str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), *INITDB_OPTIONS],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{made.stdout}{made.stderr}")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 120) -> None:
        data, sockets = str(self.folder / "data"), str(self.folder)
        where = ("-c", "listen_addresses=127.0.0.1", "-p", str(self.port))
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [*self._as_postgres, str(PG_BIN / "postgres"), "-D", data, "-k", sockets, *where],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """A fast shutdown (SIGINT): open connections are cut, as when PostgreSQL is restarted."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(60)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _answers(self) -> bool:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - not accepting connections yet
            return False
        finally:
            engine.dispose()
