"""A report as JSON (one object), CSV (a header and one row of figures) or a self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from html import escape
from typing import Any

from reports.labels import class_label, district_label, subject_label
from reports.metrics import DEFINITIONS
from routing.classify import default_taxonomy
from routing.tickets import local_time

FORMATS = ("json", "csv", "html")
CSV_COLUMNS = ("period", "from", "to", *DEFINITIONS.keys(), "surveys_answered", "questions", "tickets_overdue_open")
RATES = {"answer_rate", "closure_rate", "on_time_rate", "satisfaction", "one_call_resolution"}
TITLES = {"daily": "日报", "weekly": "周报", "monthly": "月报"}


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def csv_value(key: str, value: object) -> object:
    """A figure for a spreadsheet: rates to 4 decimals (0.5714), other fractions to 2, missing as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4 if key in RATES else 2)
    return value


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow([csv_value(k, report.get(k)) for k in CSV_COLUMNS])
    return out.getvalue()


def shown(key: str, value: float | str | None) -> str:
    """A figure as people read it: rates in per cent, money with two decimals, missing as a dash."""
    if value is None:
        return "—"
    if key in RATES:
        return f"{value * 100:.2f} %"
    if key == "recovered_amount":
        return f"¥{value:,.2f}"
    return str(value)


def _breakdown_table(title: str, counts: dict[str, int], label: Callable[[str], str]) -> str:
    rows = "".join(f"<tr><td>{escape(label(k))}</td><td class=n>{n}</td></tr>" for k, n in counts.items())
    return (
        f"<h2>{escape(title)}</h2><table><tr><th>{escape(title)}</th><th>工单数</th></tr>"
        f"{rows or '<tr><td colspan=2>无</td></tr>'}</table>"
    )


_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}small{color:#666}"
)


def as_of(report: dict[str, Any]) -> str:
    """When the figures were read, in the hotline's local time (the JSON keeps UTC with its offset)."""
    return local_time(report["as_of"], report["timezone"])


def to_html(report: dict[str, Any]) -> str:
    """The report as one page with no external assets: figures, their definitions, and the breakdowns."""
    taxonomy = default_taxonomy()
    figures = "".join(
        f"<tr><td>{escape(label)}</td><td class=n>{escape(shown(key, report.get(key)))}</td>"
        f"<td><small>{escape(definition)}</small></td></tr>"
        for key, (label, definition) in DEFINITIONS.items()
    )
    title = f"12351 {TITLES.get(report['period'], report['period'])} {report['label']}"
    return (
        f"<!doctype html><html lang=zh><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(report['from'])} – {escape(report['to'])}；"
        f"数据截至 {escape(as_of(report))}（当地时间）</p>"
        f"<table><tr><th>指标</th><th>数值</th><th>口径</th></tr>{figures}</table>"
        + _breakdown_table("诉求类别", report["by_subject"], lambda k: subject_label(taxonomy, k))
        + _breakdown_table("处理类别", report["by_class"], lambda k: class_label(taxonomy, k))
        + _breakdown_table("属地", report["by_district"], district_label)
        + "</body></html>\n"
    )


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "html":
        return to_html(report)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
