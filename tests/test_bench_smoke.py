"""Every benchmark in bench/ still runs: each one in a smoke size, as a person would run it, printing its JSON.

The figures themselves are not judged here (a loaded CI machine says nothing about speed); what is checked is that
the script runs to the end and that the facts it counts add up (every call got a ticket, no request failed), so a
benchmark broken by a change to the service fails the build instead of rotting until someone needs its numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str, timeout_s: float = 900) -> dict:
    """Run `bench/<script> --json ...` from the repository and return what it printed."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=timeout_s,
    )
    assert done.returncode == 0, f"bench/{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    start = done.stdout.find("{")
    assert start >= 0, f"bench/{script} printed no JSON:\n{done.stdout[-2000:]}"
    return json.loads(done.stdout[start:])


def test_the_classifier_bench_scores_a_labelled_file():
    result = run_bench("classify.py", "tests/data/urgency_check.tsv")
    rows = sum(1 for line in (REPO / "tests/data/urgency_check.tsv").read_text().splitlines()[1:] if line.strip())
    assert result["rows"] <= rows and result["rows"] > 100
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["urgent_gold"] > 0 and 0.0 <= result["urgent_recall"] <= 1.0


def test_the_qa_bench_fills_a_database_and_times_the_queries():
    result = run_bench("qa.py", "--calls", "20", "--db", "sqlite", "--runs", "1")
    assert result["sqlite"]["rows"]["calls"] == 20
    assert result["sqlite"]["ms"], "no query was timed"


def test_the_signin_bench_signs_staff_in_while_webhooks_are_answered():
    result = run_bench("signin_load.py", "--sign-ins", "4", "--webhooks", "4", "--reads", "4")
    assert result["errors"] == 0
    assert result["health_after"] is True


@pytest.mark.shared_data  # the callers say a real clip
def test_the_webhook_bench_places_calls_that_all_get_tickets():
    result = run_bench("webhook.py", "--calls", "3")
    assert result["failed_webhooks"] == 0, result["failures"]
    assert result["tickets"]["with_ticket"] == result["tickets"]["calls"] == 3
    assert result["service_alive_at_end"] is True


@pytest.mark.shared_data
def test_the_calls_load_bench_runs():
    result = run_bench("calls_load.py", "--calls", "2")
    assert result["failed_webhooks"] == 0, result["failures"]
    assert result["tickets"]["with_ticket"] == result["tickets"]["calls"] == 2


@pytest.mark.shared_data
def test_the_speech_bench_measures_real_clips():
    result = run_bench("asr.py", "--clips", "2", "--max-streams", "1", "--repeats", "1", timeout_s=1200)
    assert result["clips"] == 2
    assert result["accuracy"], "no accuracy figures"
