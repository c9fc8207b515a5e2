"""bench/scale.py still runs: three calls over two service processes and two workers on a throwaway PostgreSQL, one
worker killed mid-transcription; nothing lost, nothing twice. (A file apart from tests/test_bench_smoke.py so the
two run side by side in the suite's two processes.)"""

from __future__ import annotations

import pytest

from tests.test_bench_smoke import run_bench


@pytest.mark.postgres  # the bench starts a PostgreSQL cluster of its own (installed by ./run test)
@pytest.mark.shared_data  # the callers say real Korean clips
def test_the_scale_bench_loses_and_duplicates_nothing_when_a_worker_is_killed():
    result = run_bench("scale.py", "--calls", "3", "--workers", "2", "--kill-one")
    assert result["tickets"] == result["calls"] == 3, result["detail"]
    assert result["lost"] == 0, result["detail"]
    assert result["duplicated"] == 0, result["detail"]
    assert result["detail"]["killed"], "no worker was killed mid-transcription"
    assert result["transcribed"] == 3 and result["audio_s_per_s"] > 0
