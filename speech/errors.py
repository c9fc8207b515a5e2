"""Errors of the speech package: what went wrong with a recording, said so a person can act on it."""

from __future__ import annotations

from typing import Literal

AudioErrorCode = Literal["not_found", "empty", "corrupt", "unsupported_format", "needs_ffmpeg", "silent"]

# code → (what is wrong, what to do about it)
_MESSAGES: dict[str, tuple[str, str]] = {
    "not_found": (
        "The recording file does not exist.",
        "Check the path; the recording may not have been downloaded yet.",
    ),
    "empty": (
        "The recording file holds no audio (zero bytes, or a header without samples).",
        "Download the recording again; if it stays empty the call was not recorded.",
    ),
    "corrupt": (
        "The recording file is damaged or is not audio (its content cannot be decoded).",
        "Download the recording again; if it stays unreadable, play it in an audio player to check it.",
    ),
    "unsupported_format": (
        "The file is not in an audio format the hotline can read.",
        "Convert it to WAV (16-bit PCM or μ-law) or MP3, for example `ffmpeg -i in.x -ar 16000 out.wav`.",
    ),
    "needs_ffmpeg": (
        "Decoding this file (MP3 or another compressed format) needs ffmpeg, which is not installed.",
        "Install ffmpeg (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: `brew install ffmpeg`), "
        "or convert the file to WAV elsewhere.",
    ),
    "silent": (
        "The recording holds only silence.",
        "Check the line or microphone; there is nothing to transcribe.",
    ),
}


class AudioError(Exception):
    """A recording that cannot be used, with a stable `code` and a message for a person."""

    def __init__(self, code: AudioErrorCode, detail: str | None = None) -> None:
        if code not in _MESSAGES:
            raise ValueError(f"unknown AudioError code {code!r}")
        what, todo = _MESSAGES[code]
        self.code: str = code
        self.detail = detail
        message = f"{what} {todo}"
        if detail:
            message = f"{what} ({detail}) {todo}"
        super().__init__(message)
