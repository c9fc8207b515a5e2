"""Virtual time and Twilio-shaped identifiers: the emulator never sleeps for what a caller only hears."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def new_sid(prefix: str) -> str:
    """A Twilio SID: two-letter prefix and 32 lower-case hex digits (CA…, RE…, QU…, MZ…)."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime) -> str:
    """A UTC time the way Twilio writes it in JSON and callbacks: `Tue, 31 Aug 2010 20:36:28 +0000`."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


class VirtualClock:
    """Seconds since the call was answered; advanced by the interpreter.

    `time_scale` real seconds pass per virtual second (0: none at all). A small scale keeps tests fast
    while the service still sees a call that lasts a while, as its background jobs would in real life.
    """

    def __init__(self, origin: datetime | None = None, time_scale: float = 0.0) -> None:
        self.origin = origin or datetime.now(UTC)
        self.time_scale = time_scale
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def now(self) -> float:
        """Virtual seconds elapsed since the origin."""
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (negative values are ignored); returns the new offset."""
        seconds = max(0.0, float(seconds))
        if self.time_scale > 0 and seconds:
            time.sleep(seconds * self.time_scale)
        with self._lock:
            self._offset += seconds
            return self._offset

    def at(self, offset: float) -> datetime:
        """The wall-clock datetime of a virtual offset."""
        return self.origin + timedelta(seconds=offset)

    def stamp(self, offset: float | None = None) -> str:
        """RFC 2822 time of `offset` (default now)."""
        return rfc2822(self.at(self.now if offset is None else offset))
