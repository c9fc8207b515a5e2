"""Telling the service's test recognizer (speech/scripted.py) what a real clip 'says'.

The Mandarin model is not on the build machines, so call tests play real speech and script the words heard in
it: the script holds the fingerprint of the clip as the phone line delivers it, and the text.
"""

from __future__ import annotations

import wave
from pathlib import Path

from speech.audio import load_channels
from speech.scripted import audio_fingerprint
from speech.telephone import telephone_round_trip
from tests.conftest import KO_SPEECH

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"  # "… 안철수 대표와 …": the Korean model hears 안철수


def long_korean_clip(path: Path) -> Path:
    """About 40 s of real Korean speech (six clips in a row, the last one saying 안철수), written to `path`: its
    transcription takes several seconds, time to stop a worker or the database in the middle of it."""
    frames, params = [], None
    for clip in [*sorted(KO_SPEECH.glob("*.wav"))[:5], KO_CLIP]:
        with wave.open(str(clip)) as source:
            params = params or source.getparams()
            frames.append(source.readframes(source.getnframes()))
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        for chunk in frames:
            out.writeframes(chunk)
    return path


def script_clip(script: Path, clip: Path, text: str) -> Path:
    """Append to `script` that `clip`, after the phone line, is heard as `text`; returns the clip."""
    decoded = load_channels(clip)
    phone_line = telephone_round_trip(decoded.channels[0], decoded.rate)  # what the recording will hold
    with open(script, "a", encoding="utf-8") as fh:
        fh.write(f"{audio_fingerprint(phone_line)}\t{text}\n")
    return clip


class ClipScript:
    """A script file and a pool of clips: each text gets a clip of its own, never reused."""

    def __init__(self, path: Path, clips: list[Path]) -> None:
        self.path = path
        self.path.write_text("", encoding="utf-8")
        self._free = list(clips)

    def clip_saying(self, text: str) -> Path:
        return script_clip(self.path, self._free.pop(0), text)
