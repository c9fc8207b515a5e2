"""`hotline qa sample [--date YYYY-MM-DD]`: draw (and store) a day's quality-inspection sample by hand (default:
yesterday, the day the daily job samples)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from cli.console import console_for
from hotline.settings import get_settings

qa_app = typer.Typer(help="Quality inspection (质检): the daily sample of calls", no_args_is_help=True)
console = console_for()


@qa_app.command("sample")
def sample(
    day: Annotated[
        str | None,
        typer.Option("--date", help="the local day whose calls are sampled, YYYY-MM-DD (default: yesterday)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: the one in the sampling file)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the picks as one JSON list")] = False,
) -> None:
    """Sample the calls that started on a day and store the picks; run again, it shows the same sample."""
    from hotline.db import make_engine, make_session_factory, utcnow
    from hotline.migrate import upgrade
    from recordings.qa_sampling import SamplingConfigError, load_sampling, reason_label, sample_day
    from routing.tickets import local_day

    settings = get_settings()
    try:
        wanted = date.fromisoformat(day) if day is not None else local_day(utcnow(), settings.timezone) - timedelta(1)
    except ValueError:
        console.print(f"[red]--date {day!r}[/]: write the day as YYYY-MM-DD, e.g. 2026-11-25")
        raise typer.Exit(2) from None
    try:
        config = load_sampling(settings.qa_file)
    except (OSError, SamplingConfigError) as exc:
        console.print(f"[red]sampling file[/]: {exc}")
        raise typer.Exit(1) from None
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        with console.status(f"sampling the calls of {wanted}…", spinner="dots") if not as_json else nullcontext():
            result = sample_day(make_session_factory(engine), wanted, config, tz=settings.timezone, seed=seed)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in result.picks], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"QA sample of {wanted} (seed {result.seed})")
    for column in ("call", "handler", "role", "reason", "all reasons", "inspector"):
        table.add_column(column)
    for p in result.picks:
        table.add_row(
            p.call_sid,
            p.handler or "(voice menu)",
            p.handler_role or "",
            reason_label(p.reason),
            "、".join(map(reason_label, p.reasons)),
            p.inspector or "[yellow]unassigned[/]",
        )
    console.print(table)
    if result.existing:
        console.print("this day was sampled before: these are the stored picks (nothing added)")
    else:
        console.print(
            f"{len(result.picks)} of {result.candidates} calls picked; "
            f"{result.dropped} quota picks beyond the inspectors' capacity left out, "
            f"{result.unassigned} mandatory picks unassigned"
        )
