"""Waiting for something the service does in its own time: poll a condition until a generous deadline.

Never a fixed number of tries or a sleep: the suite must pass on a heavily loaded machine too, where the same
work takes many times longer than on a quiet one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, timeout_s: float = 120, every_s: float = 0.1) -> T | None:
    """The first truthy result of `check()`, or its last result once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(every_s)
