"""`hotline report daily|weekly|monthly --date YYYY-MM-DD [--format html|csv|json]`: a supervisor's report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotline.settings import get_settings


def report(
    kind: Annotated[str, typer.Argument(help="daily (the day), weekly (Monday-Sunday holding the date) or monthly")],
    date_: Annotated[str, typer.Option("--date", help="a day of the period, YYYY-MM-DD (local time)")],
    fmt: Annotated[str, typer.Option("--format", help="json, csv or html")] = "json",
    output: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
) -> None:
    """Print the daily, weekly or monthly report: calls, answer rate, tickets, closure, satisfaction, money."""
    from hotline.db import make_engine, make_session_factory, utcnow
    from reports.metrics import build_report
    from reports.periods import PeriodError, parse_day, period_of
    from reports.render import FORMATS, render
    from routing.sla import load_sla

    settings = get_settings()
    if fmt not in FORMATS:
        typer.echo(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        period = period_of(kind, parse_day(date_), settings.timezone)
    except PeriodError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    calendar = load_sla(settings.sla_file, settings.timezone).calendar
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as session:
            text = render(build_report(session, period, calendar, utcnow()), fmt)
    finally:
        engine.dispose()
    if output is not None:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{period.kind} report {period.label} written to {output}", err=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))
