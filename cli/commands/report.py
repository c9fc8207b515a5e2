"""`hotline report daily|weekly|monthly [--date YYYY-MM-DD] [--format table|html|csv|json] [--json]`: a supervisor's report
(by default the period holding today, as a table to read; JSON, CSV or HTML for other programs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.settings import get_settings


def report(
    kind: Annotated[
        str,
        typer.Argument(
            help="daily (the day), weekly (Monday-Sunday holding the date), monthly, "
            "or corrections (how often people corrected the classifier)"
        ),
    ],
    date_: Annotated[
        str | None, typer.Option("--date", help="a day of the period, YYYY-MM-DD (local time; default: today)")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="table (default, to read), json, csv or html (corrections: table, json or csv)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON for other programs (same as --format json)")
    ] = False,
    output: Annotated[Path | None, typer.Option(help="write to this file instead of printing")] = None,
    weeks: Annotated[int, typer.Option(help="corrections: how many local weeks back, this one included")] = 8,
) -> None:
    """Print the daily, weekly or monthly report: calls, answer rate, tickets, closure, satisfaction, money;
    or the corrections report: per subject and local week, how many tickets people corrected."""
    if as_json and fmt not in (None, "json"):
        typer.echo(f"--json and --format {fmt} ask for two different forms: give one of them", err=True)
        raise typer.Exit(2)
    fmt = "json" if as_json else fmt
    if kind == "corrections":
        corrections_report(fmt or "table", weeks, output)
        return
    fmt = fmt or "table"
    from hotline.db import make_engine, make_session_factory, utcnow
    from hotline.migrate import upgrade
    from reports.metrics import build_report
    from reports.periods import PeriodError, parse_day, period_of
    from reports.render import FORMATS, TITLES, render
    from routing.sla import load_sla
    from routing.tickets import local_day

    settings = get_settings()
    if fmt not in (*FORMATS, "table"):
        typer.echo(f"unknown format {fmt!r}: choose one of table, {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        day = parse_day(date_) if date_ is not None else local_day(utcnow(), settings.timezone)
        period = period_of(kind, day, settings.timezone)
    except PeriodError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    calendar = load_sla(settings.sla_file, settings.timezone).calendar
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)  # a report before the service ever ran: an empty report, not a missing table
        with make_session_factory(engine)() as session:
            figures = build_report(session, period, calendar, utcnow())
    finally:
        engine.dispose()
    if fmt == "table":
        _print_table(figures, output)
        return
    text = render(figures, fmt)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{TITLES[period.kind]} {period.label} 已写入 {output}", err=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def _print_table(figures: dict, output: Path | None) -> None:
    """The report as a person reads it in a terminal: each figure with its Chinese label, rates in per cent."""
    from rich.table import Table

    from cli.console import console_for
    from reports.labels import class_label, district_label, subject_label
    from reports.metrics import DEFINITIONS
    from reports.render import TITLES, as_of, shown
    from routing.classify import default_taxonomy

    taxonomy = default_taxonomy()
    table = Table(
        title=f"12351 {TITLES.get(figures['period'], figures['period'])} {figures['label']}",
        caption=f"{figures['from']} – {figures['to']} · 数据截至 {as_of(figures)}（{figures['timezone']}）",
        header_style="bold",
    )
    table.add_column("指标", no_wrap=True)
    table.add_column("数值", justify="right", no_wrap=True)
    for key, (label, _definition) in DEFINITIONS.items():
        table.add_row(label, shown(key, figures.get(key)))
    breakdowns: tuple[tuple[str, dict[str, int], Callable[[Any], str]], ...] = (
        ("诉求类别", figures["by_subject"], lambda k: subject_label(taxonomy, k)),
        ("处理类别", figures["by_class"], lambda k: class_label(taxonomy, k)),
        ("属地", figures["by_district"], district_label),
    )
    for title, counts, label_of in breakdowns:
        rows = list(counts.items())
        for n, (key, tickets) in enumerate(rows):
            table.add_row(f"{title} · {label_of(key)}", str(tickets), end_section=n == len(rows) - 1)
    if output is None:
        console_for().print(table)
        return
    with open(output, "w", encoding="utf-8") as fh:
        console_for(fh).print(table)
    typer.echo(f"{TITLES.get(figures['period'], figures['period'])} {figures['label']} 已写入 {output}", err=True)


def corrections_report(fmt: str, weeks: int, output: Path | None) -> None:
    """`hotline report corrections`: per subject (as the machine classed it) and local week, the tickets people
    corrected, as a table, JSON or CSV."""
    import json

    from rich.table import Table

    from cli.console import console_for
    from hotline.db import make_engine, make_session_factory, utcnow
    from reports.corrections import FORMATS, to_csv
    from reports.corrections import corrections_report as build
    from routing.classify import default_taxonomy

    settings = get_settings()
    if fmt not in FORMATS:
        typer.echo(f"unknown format {fmt!r} for the corrections report: choose one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    if not 1 <= weeks <= 260:
        typer.echo("--weeks must be between 1 and 260", err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as session:
            data = build(session, now=utcnow(), timezone=settings.timezone, taxonomy=default_taxonomy(), weeks=weeks)
    finally:
        engine.dispose()
    if fmt == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        text = to_csv(data)
    else:
        table = Table(title=f"人工更正 最近{weeks}周（{settings.timezone}）", header_style="bold")
        for column in ("周（周一）", "事项", "工单", "更正", "事项更正", "性质更正", "紧急更正", "更正率"):
            table.add_column(column, justify="left" if column in ("周（周一）", "事项") else "right", no_wrap=True)
        for week in data["weeks"]:
            for row in (r for r in data["rows"] if r["week"] == week["week"]):
                table.add_row(
                    row["first_day"],
                    row["subject_label"],
                    str(row["tickets"]),
                    str(row["corrected"]),
                    str(row["subject_corrected"]),
                    str(row["kind_corrected"]),
                    str(row["urgency_flags_corrected"]),
                    f"{row['rate'] * 100:.1f}%",
                )
            rate = "—" if week["rate"] is None else f"{week['rate'] * 100:.1f}%"
            table.add_row(
                week["first_day"],
                "合计",
                str(week["tickets"]),
                str(week["corrected"]),
                "",
                "",
                "",
                rate,
                style="bold",
                end_section=True,
            )
        if output is None:
            console_for().print(table)
        else:
            with open(output, "w", encoding="utf-8") as fh:
                console_for(fh).print(table)
            typer.echo(f"corrections report written to {output}", err=True)
        return
    if output is not None:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"corrections report written to {output}", err=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))
