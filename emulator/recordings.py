"""Recordings held by the fake account: media, status, and Twilio's JSON representation."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from emulator.clock import rfc2822
from emulator.signing import Delivery

API_VERSION = "2010-04-01"
WAV_CONTENT_TYPE = "audio/x-wav"


@dataclass
class Recording:
    """One recording: from <Record> (mono) or from the Recordings API (full call, mono or dual)."""

    sid: str
    account_sid: str
    call_sid: str
    source: str
    channels: int
    start_offset: float
    start_time: datetime
    status: str = "in-progress"
    duration: int | None = None
    media: bytes | None = field(default=None, repr=False)
    trim: str = "do-not-trim"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=lambda: ["completed"])
    end_offset: float | None = None
    callbacks: list[Delivery] = field(default_factory=list)
    # Set once the media has been served in full (GET): what `TwilioEmulator.wait_for_downloads` waits for.
    downloaded: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def announced(self) -> bool:
        """True when the service knows this finished recording is there to download: a <Record> recording reached
        it with the action request, a full-call one with a `completed` status callback it accepted."""
        if self.status != "completed" or self.media is None:
            return False
        if self.source == "RecordVerb":
            return True
        return any(d.ok and d.params.get("RecordingStatus") == "completed" for d in self.callbacks)

    @property
    def path(self) -> str:
        """Media path without extension, as sent in RecordingUrl (relative to the API base)."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{self.sid}"

    def to_json(self) -> dict:
        """Twilio's Recording resource JSON."""
        stamp = rfc2822(self.start_time)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.call_sid,
            "conference_sid": None,
            "date_created": stamp,
            "date_updated": stamp,
            "start_time": stamp,
            "duration": "-1" if self.duration is None else str(self.duration),
            "sid": self.sid,
            "price": None,
            "price_unit": "USD",
            "status": self.status,
            "channels": self.channels,
            "source": self.source,
            "error_code": None,
            "track": "both",
            "encryption_details": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.call_sid}/Recordings/{self.sid}.json",
            "media_url": None,
        }

    def summary(self, api_url: str) -> dict:
        """What a call report lists for this recording."""
        return {
            "sid": self.sid,
            "url": api_url + self.path,
            "duration": self.duration,
            "status": self.status,
            "source": self.source,
            "channels": self.channels,
            "callbacks": [d.to_dict() for d in self.callbacks],
        }


class RecordingStore:
    """All recordings of the account, by SID; safe to use from the HTTP server's threads."""

    def __init__(self) -> None:
        self._items: dict[str, Recording] = {}
        self._lock = threading.Lock()

    def add(self, recording: Recording) -> Recording:
        """Keep a recording."""
        with self._lock:
            self._items[recording.sid] = recording
        return recording

    def get(self, sid: str) -> Recording | None:
        """The recording with this SID, if any."""
        with self._lock:
            return self._items.get(sid)

    def for_call(self, call_sid: str) -> list[Recording]:
        """Recordings of one call, oldest first."""
        with self._lock:
            return [r for r in self._items.values() if r.call_sid == call_sid]

    def all(self) -> list[Recording]:
        """Every recording of the account, oldest first."""
        with self._lock:
            return list(self._items.values())
