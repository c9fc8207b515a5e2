"""Recordings on disk: under the recordings root, by day and call, with their sha256.

Every write and read of a recording's audio goes through this module (`store_recording`, `recording_file`,
`verify_recording`): the one place to change for storage other than a shared folder (an object store)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hotline.private_files import FILE_MODE, private_dir


@dataclass(frozen=True)
class StoredFile:
    """Where a recording was stored (relative to the root) and its checksum."""

    relative_path: str
    sha256: str
    size: int


def recording_path(started: datetime, call_sid: str, recording_sid: str, suffix: str = ".wav") -> str:
    """`2026/11/24/CA…/RE….wav`: a day's recordings sit together for QA sampling and retention."""
    return f"{started:%Y/%m/%d}/{call_sid}/{recording_sid}{suffix}"


def store_recording(root: Path, relative_path: str, data: bytes) -> StoredFile:
    """Write the bytes atomically (a crash never leaves half a file under the final name), readable by the
    service's account only: a caller's voice is personal data (file 0600, folders 0700)."""
    target = root / relative_path
    private_dir(target.parent)
    tmp = target.with_name(target.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # a .part left by a crash may have had another mode
    with open(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(target)
    return StoredFile(relative_path, hashlib.sha256(data).hexdigest(), len(data))


def recording_file(root: Path, relative_path: str) -> Path:
    """The file to read a stored recording from (for decoding, transcription, playback)."""
    return root / relative_path


def verify_recording(root: Path, relative_path: str, sha256: str) -> bool:
    """True when the file on disk still has the checksum recorded when it was stored."""
    target = recording_file(root, relative_path)
    if not target.exists():
        return False
    digest = hashlib.sha256()
    with open(target, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == sha256
