"""A test recognizer: returns scripted text for known audio, for call-flow tests that need a Mandarin transcript.

The Mandarin model cannot be had on the project's build machines, so end-to-end routing tests say which text a
given recording "contains". Audio is known by the sha256 of its decoded samples (`audio_fingerprint`), so the
script holds whatever a caller's clip becomes after the phone line. Never used unless configured
(`HOTLINE_TEST_TRANSCRIPTS_FILE`); every other part of the call stays real.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np


def audio_fingerprint(pcm: np.ndarray) -> str:
    """The sha256 of 16-bit samples: the same sound gives the same print whatever file it came in."""
    return hashlib.sha256(np.asarray(pcm, dtype="<i2").tobytes()).hexdigest()


class ScriptedRecognizer:
    """Text for audio whose fingerprint is in a TSV file (columns: fingerprint, text)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def text_for(self, pcm: np.ndarray) -> str | None:
        """The scripted text, or None when this audio is not in the script (re-read each time: tests append)."""
        if not self.path.exists():
            return None
        print_ = audio_fingerprint(pcm)
        with open(self.path, encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh, delimiter="\t"):
                if len(row) >= 2 and row[0] == print_:
                    return row[1]
        return None
