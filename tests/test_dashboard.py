"""The supervisor dashboard's live figures on a known week, and the reports and dashboard over HTTP by role."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hotline.db import make_engine, make_session_factory, transaction
from reports.dashboard import dashboard
from routing.config import load_routing_data
from tests.report_data import bj, load_week
from tests.running_service import RunningService

NOW = bj(2026, 11, 24, 18, 0)  # Tuesday evening: L03 and L04 on duty until 20:00


@pytest.fixture(scope="module")
def routing_data():
    return load_routing_data(
        roster=None, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )


def test_dashboard_figures(migrated, routing_data):
    with transaction(migrated) as session:
        load_week(session)
    with migrated() as session:
        d = dashboard(session, routing_data, NOW)
    assert (d["calls_today"]["calls_total"], d["calls_today"]["calls_answered"]) == (7, 4)
    assert d["queue"]["waiting"] == 1 and d["queue"]["longest_wait_s"] == 4 * 3600 + 600  # since 13:50
    lawyers = d["lawyers"]
    assert (lawyers["on_duty"], lawyers["signed_in"], lawyers["free"]) == (2, 1, 0)
    assert [p["id"] for p in lawyers["lawyers"]] == ["L03", "L04"]
    tickets = d["tickets"]
    assert sum(tickets["by_state"].values()) == 9
    assert tickets["by_state"] == {"replied": 4, "archived": 2, "accepted": 1, "dispatched": 1, "supervised": 1}
    assert tickets["by_class"] == {"assist": 4, "consult": 4, "urgent": 1}
    # 临期: t6 (urgent, due 21:00, reminded 4 h before); 超期: t8 (due Monday 17:30). t2 is due tomorrow.
    deadlines = d["deadlines"]
    assert [t["number"] for t in deadlines["near_deadline"]] == ["12351-20261124-0006"]
    assert deadlines["near_deadline"][0]["hours_left"] == 3.0
    assert (deadlines["overdue_count"], [t["number"] for t in deadlines["overdue"]]) == (1, ["12351-20261120-0002"])
    trend = d["satisfaction_trend"]
    assert len(trend) == 30 and trend[-1]["day"] == "2026-11-24" and trend[0]["day"] == "2026-10-26"
    assert trend[-1]["answered"] == 3 and trend[-1]["satisfaction"] == pytest.approx(2 / 3)
    assert trend[-2] == {"day": "2026-11-23", "answered": 0, "satisfaction": None}
    hot = d["hot_spots"]
    assert hot["subject_by_district"]["雁塔区"] == {"wage_arrears": 3}  # t0, t3, t7
    assert hot["subject_by_district"]["碑林区"] == {"safety": 1, "severance": 1}
    assert hot["repeated_employers"] == [{"employer": "鑫达建筑公司", "tickets": 2, "callers": 2}]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(tmp_path_factory.mktemp("var"), {})
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    with transaction(make_session_factory(engine)) as session:
        load_week(session)
    engine.dispose()
    yield svc
    svc.stop()


def test_reports_and_dashboard_over_http_for_supervisors_only(service):
    boss = service.staff("boss", "supervisor")
    daily = boss.get("/api/reports/daily", params={"date": "2026-11-24"})
    assert daily.status_code == 200
    assert (daily.json()["calls_total"], daily.json()["calls_answered"], daily.json()["tickets"]) == (7, 4, 7)
    weekly_csv = boss.get("/api/reports/weekly", params={"date": "2026-11-26", "format": "csv"})
    assert weekly_csv.status_code == 200 and weekly_csv.headers["content-type"].startswith("text/csv")
    assert weekly_csv.text.splitlines()[1].startswith("weekly,2026-11-23,2026-11-29,9,6,")
    html = boss.get("/api/reports/monthly", params={"date": "2026-11-05", "format": "html"})
    assert html.status_code == 200 and "<table>" in html.text and "2026-11" in html.text
    bad = boss.get("/api/reports/daily", params={"date": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["detail"]
    assert boss.get("/api/reports/yearly", params={"date": "2026-11-24"}).status_code == 404
    assert boss.get("/api/reports/daily", params={"date": "2026-11-24", "format": "pdf"}).status_code == 422
    live = boss.get("/api/dashboard")
    assert live.status_code == 200 and set(live.json()) >= {
        "calls_today",
        "queue",
        "lawyers",
        "tickets",
        "deadlines",
        "satisfaction_trend",
        "hot_spots",
    }
    assert service.api.get("/api/dashboard").status_code == 200  # admin passes
    assert service.staff("op1", "operator").get("/api/dashboard").status_code == 403
    assert service.staff("qa1", "inspector").get("/api/reports/daily", params={"date": "2026-11-24"}).status_code == 403
    assert httpx.get(service.url + "/api/dashboard").status_code == 401


def test_the_bench_runs_on_a_small_database(tmp_path):
    """bench/qa.py end to end on 2000 calls (SQLite), as a check that it works; the figures are in RESULTS.md."""
    done = subprocess.run(
        [sys.executable, "bench/qa.py", "--calls", "2000", "--db", "sqlite", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["sqlite"]
    assert result["rows"]["calls"] == 2000 and result["rows"]["tickets"] > 1000
    assert set(result["ms"]) >= {"dashboard: calls today", "report: monthly", "qa sampling (yesterday)"}
