"""Bringing a database to the current schema with Alembic (run by `hotline serve` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, func, select

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 12351_0000  # a PostgreSQL advisory lock held while migrating


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url`, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, *, jobs: str = "embedded") -> None:
    """Apply every migration not yet applied; with `jobs` "procrastinate" (HOTLINE_JOBS), Procrastinate's schema too."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Alembic's batch mode rebuilds a SQLite table by copy, drop and rename; with foreign keys on, dropping
            # `tickets` cascaded away every ticket's events (0002 upgrading a database of the first release). Off
            # while migrating: a PRAGMA the driver runs before the transaction (inside one it does nothing).
            _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":  # processes starting together: one migrates
                    connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite:
                _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
    if jobs == "procrastinate":
        from hotline.job_engine import apply_schema  # Procrastinate is imported only where it is used

        apply_schema(engine)


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """A PRAGMA on the driver's connection itself, outside any transaction SQLAlchemy would begin."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(pragma)
