"""Report figures checked against values counted by hand on a known week (tests/report_data.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, datetime

import pytest

from hotline.db import transaction
from reports.metrics import WorkingClock, build_report
from reports.periods import PeriodError, parse_day, period_of
from reports.render import to_csv, to_html
from routing.sla import load_sla
from tests.report_data import bj, load_week

TZ = "Asia/Shanghai"
NOW = bj(2026, 11, 27, 12, 0)  # Friday: t2, t6 and t8 are past their deadlines and still open


def _report(factory, kind: str, day: date) -> dict:
    with factory() as session:
        return build_report(session, period_of(kind, day, TZ), load_sla().calendar, NOW)


@pytest.fixture
def week(migrated):
    with transaction(migrated) as session:
        load_week(session)
    return migrated


def test_periods_are_local_days_monday_weeks_and_calendar_months():
    day = period_of("daily", date(2026, 11, 24), TZ)
    assert (day.start.isoformat(), day.end.isoformat()) == ("2026-11-23T16:00:00+00:00", "2026-11-24T16:00:00+00:00")
    week = period_of("weekly", date(2026, 11, 26), TZ)
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert period_of("weekly", date(2026, 11, 29), TZ).first == date(2026, 11, 23)  # Sunday ends the week
    feb = period_of("monthly", date(2026, 2, 10), TZ)
    assert (feb.first, feb.last) == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(PeriodError, match="没有这种报表（yearly）：报表有日报（daily）"):
        period_of("yearly", date(2026, 1, 1), TZ)
    with pytest.raises(PeriodError, match="YYYY-MM-DD"):
        parse_day("24/11/2026")


def test_working_clock_agrees_with_the_calendar_across_national_day():
    calendar = load_sla().calendar
    clock = WorkingClock(calendar)
    pairs = [
        (bj(2026, 9, 30, 17, 0), bj(2026, 10, 12, 10, 0)),
        (bj(2026, 11, 24, 16, 0), bj(2026, 11, 25, 9, 30)),
        (bj(2026, 11, 27, 20, 0), bj(2026, 11, 30, 8, 0)),
        (bj(2026, 11, 24, 7, 0), bj(2026, 11, 24, 23, 0)),
    ]
    for start, end in pairs:
        assert clock.working_days(start, end) == pytest.approx(calendar.working_days_between(start, end))
    # 30 Sep 17:00-17:30; 1-7 Oct off; 8, 9, 10 (a make-up Saturday) whole; 11 (Sunday) off; 12 Oct 08:30-10:00.
    assert clock.working_days(*pairs[0]) == pytest.approx((0.5 + 9 + 9 + 9 + 1.5) / 9)


def test_daily_report_figures(week):
    r = _report(week, "daily", date(2026, 11, 24))
    assert (r["period"], r["from"], r["to"]) == ("daily", "2026-11-24", "2026-11-24")
    assert (r["calls_total"], r["calls_answered"]) == (7, 4)
    assert r["answer_rate"] == pytest.approx(4 / 7)
    assert (r["tickets"], r["tickets_done"]) == (7, 5)
    assert r["closure_rate"] == pytest.approx(5 / 7)
    # On time: t1, t3, t4, t5; late: t7 (replied after its deadline), t2 and t6 (open, past it).
    assert r["on_time_rate"] == pytest.approx(4 / 7)
    assert r["avg_handling_days"] == round((5.5 / 9 + 21 / 9 + 0 + 0 + 2.5 / 9) / 5, 2) == 0.64
    # Questions: t1, t2, t4, t5; answered in the call: t1 (a lawyer took it) and t5 (knowledge base).
    assert (r["questions"], r["one_call_resolution"]) == (4, 0.5)
    assert r["satisfaction"] == pytest.approx(2 / 3) and r["surveys_answered"] == 3
    assert r["recovered_amount"] == 5000.0  # t0, archived on the 24th
    assert r["by_subject"] == {"wage_arrears": 3, "social_insurance": 2, "labor_contract": 1, "safety": 1}
    assert r["by_class"] == {"consult": 4, "assist": 2, "urgent": 1}
    assert r["by_district"] == {"unknown": 4, "雁塔区": 2, "碑林区": 1}


def test_weekly_and_monthly_reports(week):
    w = _report(week, "weekly", date(2026, 11, 26))
    assert (w["from"], w["to"]) == ("2026-11-23", "2026-11-29")
    assert (w["calls_total"], w["calls_answered"]) == (9, 6)  # c8 (Wed 00:00) and c9 (Mon) join; c10 is Sunday 22
    assert w["tickets"] == 7
    assert w["satisfaction"] == pytest.approx(3 / 4)
    assert w["recovered_amount"] == 17000.0  # t0 on the 24th, t3 on the 26th
    m = _report(week, "monthly", date(2026, 11, 1))
    assert (m["from"], m["to"], m["calls_total"], m["tickets"]) == ("2026-11-01", "2026-11-30", 10, 9)
    # t0 replied on time joins; t8 (open, overdue) joins the late ones.
    assert m["on_time_rate"] == pytest.approx(5 / 9)
    assert m["closure_rate"] == pytest.approx(6 / 9)


def test_an_empty_period_divides_by_nothing(week):
    r = _report(week, "daily", date(2026, 12, 25))
    assert (r["calls_total"], r["tickets"], r["recovered_amount"]) == (0, 0, 0.0)
    for rate in (
        "answer_rate",
        "closure_rate",
        "on_time_rate",
        "satisfaction",
        "one_call_resolution",
        "avg_handling_days",
    ):
        assert r[rate] is None


def test_csv_and_html_forms(week):
    r = _report(week, "daily", date(2026, 11, 24))
    rows = list(csv.DictReader(io.StringIO(to_csv(r))))
    assert len(rows) == 1 and rows[0]["calls_answered"] == "4" and rows[0]["recovered_amount"] == "5000.0"
    html = to_html(r)
    assert "57.14 %" in html and "¥5,000.00" in html and "欠薪" in html
    assert "接通并走过问候语和菜单" in html  # the definitions are printed with the figures
    assert "http" not in html.replace("http-equiv", "")  # self-contained: no external assets


def test_report_command_prints_json_for_scripts(week, database_url, tmp_path):
    env = {"HOTLINE_DATABASE_URL": database_url, "HOTLINE_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "report", "daily", "--date", "2026-11-24", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["calls_total"], report["calls_answered"], report["tickets"]) == (7, 4, 7)
    for key in (
        "answer_rate",
        "closure_rate",
        "on_time_rate",
        "avg_handling_days",
        "satisfaction",
        "recovered_amount",
        "period",
        "from",
        "to",
        "one_call_resolution",
        "by_subject",
    ):
        assert key in report
    bad = subprocess.run(
        [sys.executable, "-m", "cli", "report", "daily", "--date", "2026-11-31"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_report_as_of_is_now_when_not_given(week):
    assert datetime.fromisoformat(_report(week, "daily", date(2026, 11, 24))["as_of"]) == NOW


def test_people_read_beijing_time_and_rounded_figures_scripts_get_utc(week):
    r = _report(week, "daily", date(2026, 11, 24))
    assert r["as_of"] == "2026-11-27T04:00:00+00:00"  # JSON: UTC with its offset
    html = to_html(r)
    assert "截至 2026-11-27 12:00:00" in html and "04:00" not in html  # the page: Beijing time (Asia/Shanghai)
    assert "欠薪" in html and "wage_arrears" not in html and "区县不明" in html  # labels, not codes
    row = next(csv.DictReader(io.StringIO(to_csv(r))))
    # Rates as fractions to 4 places (57.14 %), other figures to 2 decimals: no 0.5714285714285714 in a sheet.
    assert (row["answer_rate"], row["on_time_rate"], row["avg_handling_days"]) == ("0.5714", "0.5714", "0.64")
    assert (row["satisfaction"], row["one_call_resolution"]) == ("0.6667", "0.5")
    floats = [value for value in row.values() if "." in value]
    assert floats and all(len(value.split(".")[1]) <= 4 for value in floats)


def test_report_command_prints_a_table_to_read_and_json_with_json(week, database_url, tmp_path):
    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "100",
    }

    def hotline_report(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cli", "report", "daily", "--date", "2026-11-24", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    table = hotline_report()
    assert table.returncode == 0, table.stderr
    assert table.stdout.lstrip()[0] not in "{[" and "接通率" in table.stdout and "57.14 %" in table.stdout
    assert "欠薪" in table.stdout and "区县不明" in table.stdout and "wage_arrears" not in table.stdout
    assert "Asia/Shanghai" in table.stdout  # the caption says whose clock "截至" reads
    scripted = hotline_report("--json")
    assert scripted.returncode == 0, scripted.stderr
    figures = json.loads(scripted.stdout)
    assert figures["by_subject"]["wage_arrears"] == 3 and figures["as_of"].endswith("+00:00")
    both = hotline_report("--json", "--format", "csv")
    assert both.returncode == 2 and "--json" in both.stderr
