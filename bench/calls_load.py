"""100 calls at once through the Twilio emulator against a real `hotline serve` (SQLite): 0 errors expected,
p50/p99 of each kind of webhook against a bare FastAPI endpoint answering fixed TwiML in the same run.

    .venv/bin/python bench/calls_load.py              # 100 calls, a table
    .venv/bin/python bench/calls_load.py --calls 10 --json

The measuring is `bench/webhook.py`'s (it documents the method: warm-up calls, the calls released together,
the same signed requests replayed on the bare endpoint with the service paused); this is its entry point for
the load test, with 100 calls by default and every call's ticket read back through the API as staff would.
Any of webhook.py's options may follow (`--time-scale`, `--wait-transcripts`, `--database-url`).

Exit status: 0 when every webhook was answered 2xx and every call got its ticket, 1 otherwise, 2 when the
benchmark could not run, 130 when interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/calls_load.py`: the repo's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.webhook import main as webhook_main

DEFAULT_CALLS = 100


def main(argv: list[str] | None = None) -> int:
    """webhook.py's command line with 100 calls by default."""
    return webhook_main(argv, default_calls=DEFAULT_CALLS, description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
