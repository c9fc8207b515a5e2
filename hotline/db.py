"""The database: engine, sessions and the declarative base shared by every package's tables."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    DateTime,
    Dialect,
    Engine,
    Executable,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from hotline.private_files import private_dir, private_file

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_LOCK_TIMEOUT_S = 30  # background work; requests wait less (see `wait_for_database`)

# When the current request stops waiting for the database (time.monotonic()); None: SQLITE_LOCK_TIMEOUT_S.
_wait_until: ContextVar[float | None] = ContextVar("hotline_database_wait_until", default=None)


class DatabaseBusy(TimeoutError):
    """The database stayed locked by another writer past this request's wait: answer without it, or retry."""


def wait_for_database(seconds: float) -> Token[float | None]:
    """Bound how long the current request (this context, and threads it starts) waits for SQLite's writer lock.

    A webhook must answer Twilio within 15 s whatever a slow writer does: past its bound a transaction
    raises DatabaseBusy instead of waiting (api.app answers it). Returns the token to reset it with.
    """
    return _wait_until.set(time.monotonic() + seconds)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back timezone-aware, on every database.

    SQLite keeps no timezone: without this, a deadline computed in Beijing time would be stored with its
    local clock fields and compare wrongly against UTC times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware moment")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; `datetime` columns are UTCDateTime."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012  SQLAlchemy's class-level setting


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: every stored time is UTC."""
    return datetime.now(UTC)


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; how many rows it changed (a conditional update's claim)."""
    # Session.execute is typed as returning Result; for a DML statement it is a CursorResult, which has rowcount.
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL mode and serialised writers."""
    pool = {"pool_size": 20, "max_overflow": 30}  # FastAPI runs up to 40 request threads
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **pool)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":  # the file (and its -wal/-shm, which SQLite gives the same mode) 0600
        private_dir(Path(path).parent)
        private_file(Path(path))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
    _serialise_sqlite_writers(engine)
    return engine


def _serialise_sqlite_writers(engine: Engine) -> None:
    """One transaction at a time within the process, each `BEGIN IMMEDIATE`.

    SQLite allows one writer; left to itself, a waiting writer sleeps and retries with growing back-offs
    (hundreds of milliseconds under a burst of webhooks). A lock in the process hands over at once.
    """
    lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Both waits (our lock, then SQLite's busy timeout for another process's writer) end at the
        # request's deadline, if it has one: a webhook never waits past its bound.
        deadline = _wait_until.get()
        wait = SQLITE_LOCK_TIMEOUT_S if deadline is None else max(0.0, deadline - time.monotonic())
        if not lock.acquire(timeout=wait):
            raise DatabaseBusy(f"the database stayed busy for {wait:.1f} s: another transaction holds it")
        conn.info["holds_write_lock"] = True
        try:
            left = SQLITE_LOCK_TIMEOUT_S if deadline is None else max(0.0, deadline - time.monotonic())
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(left * 1000)}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception as exc:
            if conn.info.pop("holds_write_lock", False):  # a failed statement may have rolled back (and released)
                lock.release()
            if isinstance(exc, OperationalError) and "locked" in str(exc):
                raise DatabaseBusy("the database is locked by another process's writer") from exc
            raise

    def _end(conn: Connection) -> None:
        if conn.info.pop("holds_write_lock", False):
            lock.release()

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends, rolls back on error."""
    with factory() as session, session.begin():
        yield session
