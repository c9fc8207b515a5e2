"""Bringing a database to the current schema with Alembic (run by `hotline serve` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select

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
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # processes starting together (services, workers): one migrates
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if jobs == "procrastinate":
        from hotline.job_engine import apply_schema  # Procrastinate is imported only where it is used

        apply_schema(engine)
