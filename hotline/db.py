"""The database: engine, sessions and the declarative base shared by every package's tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_LOCK_TIMEOUT_S = 30


class UTCDateTime(TypeDecorator):
    """A moment stored in UTC and read back timezone-aware, on every database.

    SQLite keeps no timezone: without this, a deadline computed in Beijing time would be stored with its
    local clock fields and compare wrongly against UTC times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware moment")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every table; `datetime` columns are UTCDateTime."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: every stored time is UTC."""
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL mode and serialised writers."""
    pool = {"pool_size": 20, "max_overflow": 30}  # FastAPI runs up to 40 request threads
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **pool)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
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
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001 - a SQLAlchemy connection
        if not lock.acquire(timeout=SQLITE_LOCK_TIMEOUT_S):
            raise TimeoutError(f"the database stayed busy for {SQLITE_LOCK_TIMEOUT_S} s: a transaction is stuck")
        conn.info["holds_write_lock"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            conn.info.pop("holds_write_lock", None)
            lock.release()
            raise

    def _end(conn) -> None:  # noqa: ANN001
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
