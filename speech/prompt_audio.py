"""Prompts as audio for a carrier without speech synthesis (Asterisk): recorded files, else offline espeak-ng.

Every prompt has an id. When the hotline has recorded it (`<prompt id>.wav`, or any format ffmpeg reads, in the
recorded-prompts folder) callers hear that recording; otherwise its text is rendered offline by Debian's
`espeak-ng` (its Mandarin voice, given toned pinyin: see `espeak_pinyin`) into a cache folder. Either way the file played is 8 kHz mono 16-bit WAV,
what a telephone line carries, so Asterisk plays it without converting. A prompt with placeholders
(`{ticket_digits}`, `{position}`) is played as pieces: the text between placeholders is prompt `<id>.1`,
`<id>.2`, ... (recordable one by one), digits and numbers come from per-digit and per-numeral clips (which
may be recorded too: `digit-3.wav`, `numeral-十.wav`), so a new ticket number needs no new rendering; other
values (a union's name) are rendered once and cached by their words.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import string
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speech.audio import _resample, write_wav  # the package's own resampler

PROMPT_RATE = 8000
DEFAULT_VOICE = "cmn-latn-pinyin"  # espeak-ng's Mandarin, reading toned pinyin (see `espeak_pinyin`)
# Digits as read over a phone line in Mandarin: 1 is 幺 (yāo) so it cannot be heard as 7 (qī), as the
# Twilio edge says them.
DIGIT_WORDS = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))
NUMERALS = "零一二两三四五六七八九十百千万"
_PAUSE_MS = 300  # between the groups of a ticket number (where the dashes are)
_RENDER_VERSION = "2"  # part of every cache key: bump it when the rendering changes


class PromptAudioError(Exception):
    """A prompt could not be made into audio; the message says what to install or fix."""


@dataclass(frozen=True)
class Piece:
    """One piece of a prompt with placeholders: fixed text (`field` None) or a placeholder's name."""

    text: str
    field: str | None


def pieces(template: str) -> list[Piece]:
    """A prompt's text cut at its placeholders: `"您前面还有{position}位"` → text, `position`, text. Text with
    nothing to say (a lone `。`) is left out."""
    result: list[Piece] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        if any(char.isalnum() for char in literal):
            result.append(Piece(literal, None))
        if field is not None:
            result.append(Piece("", field))
    return result


def chinese_number(value: int) -> str:
    """A whole number from 0 to 99 999 999 as said in Mandarin when counting (两 for a lone 2, 十三 for 13)."""
    if value < 0 or value >= 10**8:
        raise ValueError(f"cannot say {value}: only 0 to 99 999 999")
    if value == 2:
        return "两"
    if value < 10:
        return "零一二三四五六七八九"[value]
    if value >= 10**4:
        high, low = divmod(value, 10**4)
        rest = _below_10000(low) if low else ""
        if rest and low < 1000:
            rest = "零" + rest
        return _below_10000(high) + "万" + rest
    return _below_10000(value)


def _below_10000(value: int) -> str:
    digits = "零一二三四五六七八九"
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    words, zero_pending = "", False
    for size, unit in units:
        digit = value // size % 10
        if digit == 0:
            zero_pending = bool(words)
            continue
        if zero_pending:
            words += "零"
            zero_pending = False
        words += digits[digit] + unit
    if words.startswith("一十"):
        words = words[1:]  # 十三, not 一十三
    return words or "零"


_PAUSES = str.maketrans({"，": ", ", "、": ", ", "；": "; ", "：": ": ", "。": ". ", "？": "? ", "！": "! "})
_DIGIT_RUN = re.compile(r"\d+")


def _numerals(match: re.Match[str]) -> str:
    """Digits in a prompt's text: a long run (12351, a phone number) digit by digit as a phone line says
    them; one or two digits (按1, 10个工作日) as a number."""
    run = match.group(0)
    if len(run) >= 3:
        return "".join(DIGIT_WORDS[digit] for digit in run)
    return "零一二三四五六七八九"[int(run)] if len(run) == 1 else chinese_number(int(run))


def espeak_pinyin(text: str) -> str:
    """What espeak-ng is given for Mandarin words: toned pinyin (`nin2 hao3`). espeak-ng's own `cmn`
    dictionary (1.51, Debian 12) lacks common characters and reads them in English (您 comes out as "nine
    two"), so pypinyin reads the characters (picking a polyphone's reading by its phrase) and the pinyin voice
    says the syllables."""
    from pypinyin import Style, lazy_pinyin

    spoken = _DIGIT_RUN.sub(_numerals, text).translate(_PAUSES)
    syllables = lazy_pinyin(spoken, style=Style.TONE3, neutral_tone_with_five=True, errors="default")
    return re.sub(r"\s+", " ", " ".join(syllables).replace("“", " ").replace("”", " ")).strip()


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join((_RENDER_VERSION, *parts)).encode()).hexdigest()[:20]


class PromptAudio:
    """The hotline's prompts as 8 kHz WAV files: recorded ones from `recorded_dir`, the rest rendered into
    `cache_dir` (kept between runs; a changed text or recording is rendered anew)."""

    def __init__(
        self,
        cache_dir: Path,
        recorded_dir: Path | None = None,
        *,
        voice: str = DEFAULT_VOICE,
        espeak: str = "espeak-ng",
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.recorded_dir = Path(recorded_dir) if recorded_dir else None
        self.voice = voice
        self.espeak = espeak
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    # what a prompt id is made of

    def recording_of(self, prompt_id: str) -> Path | None:
        """The hotline's own recording of a prompt, if it has one (`<prompt id>.wav`, or .mp3, .ogg, ...)."""
        if not self.recorded_dir or not self.recorded_dir.is_dir():
            return None
        exact = self.recorded_dir / f"{prompt_id}.wav"
        if exact.is_file():
            return exact
        for candidate in sorted(self.recorded_dir.glob(f"{glob_escape(prompt_id)}.*")):
            if candidate.is_file() and candidate.suffix and candidate.stem == prompt_id:
                return candidate
        return None

    def prompt(self, prompt_id: str, text: str) -> Path:
        """The audio of a prompt without placeholders: its recording if there is one, else its rendered text."""
        recorded = self.recording_of(prompt_id)
        if recorded is not None:
            return self._converted(recorded)
        return self.text(text)

    def say(self, prompt_id: str, template: str, **values: object) -> list[Path]:
        """The audio of a prompt with placeholders, as files to play one after another. A value whose name
        ends in `_digits` is read digit by digit (a ticket or phone number), an int as a number, anything
        else as words; the text between placeholders is prompt `<id>.1`, `<id>.2`, ..."""
        parts = pieces(template)
        if all(part.field is None for part in parts):
            return [self.prompt(prompt_id, template)]
        files: list[Path] = []
        literal_index = 0
        for part in parts:
            if part.field is None:
                literal_index += 1
                files.append(self.prompt(f"{prompt_id}.{literal_index}", part.text))
                continue
            if part.field not in values:
                raise PromptAudioError(f"prompt {prompt_id}: no value for {{{part.field}}}")
            value = values[part.field]
            if part.field.endswith("_digits"):
                files.extend(self.digits(str(value)))
            elif isinstance(value, int) and not isinstance(value, bool):
                files.extend(self.number(value))
            elif str(value):
                files.append(self.text(str(value)))
        return files

    def digits(self, number: str) -> list[Path]:
        """A number read digit by digit from the digit clips, with a short pause where it has a dash."""
        files: list[Path] = []
        for char in number:
            if char.isdigit():
                files.append(self.clip(f"digit-{char}", DIGIT_WORDS[char]))
            elif char == "-" and files:
                files.append(self.pause())
        return files

    def number(self, value: int) -> list[Path]:
        """A whole number as counted in Mandarin (二十三), from the numeral clips."""
        return [self.clip(f"numeral-{char}", char) for char in chinese_number(value)]

    def clip(self, clip_id: str, words: str) -> Path:
        """A digit or numeral clip: recorded (`digit-3.wav`) or rendered once."""
        return self.prompt(clip_id, words)

    def clips(self) -> Iterator[tuple[str, str]]:
        """Every digit and numeral clip: (its prompt id, its words)."""
        for digit, words in DIGIT_WORDS.items():
            yield f"digit-{digit}", words
        for char in NUMERALS:
            yield f"numeral-{char}", char

    def pause(self) -> Path:
        """A short silence (between the groups of a ticket number)."""
        path = self.cache_dir / f"pause-{_PAUSE_MS}ms.wav"
        if not path.exists():
            frames = b"\x00\x00" * (PROMPT_RATE * _PAUSE_MS // 1000)
            self._write_atomic(path, lambda tmp: _write_pcm(tmp, frames))
        return path

    def beep(self, hz: int = 1000, ms: int = 400) -> Path:
        """The tone before a recording (Asterisk's own beep is an English sound file we do not ship)."""
        path = self.cache_dir / f"beep-{hz}hz-{ms}ms.wav"
        if not path.exists():
            t = np.arange(PROMPT_RATE * ms // 1000) / PROMPT_RATE
            tone = np.round(0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
            self._write_atomic(path, lambda tmp: _write_pcm(tmp, tone.tobytes()))
        return path

    # rendering

    def text(self, words: str) -> Path:
        """Words rendered by espeak-ng and kept in the cache (by voice and words)."""
        words = words.strip()
        if not words:
            raise PromptAudioError("nothing to say: the prompt's text is empty")
        path = self.cache_dir / f"tts-{_key('tts', self.voice, words)}.wav"
        if path.exists():
            return path
        espeak = shutil.which(self.espeak)
        if not espeak:
            raise PromptAudioError(
                "espeak-ng is not installed, so prompts without a recording cannot be spoken: "
                "`apt-get install espeak-ng` (./run test does it), or record every prompt"
            )
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as work:
            spoken = Path(work) / "espeak.wav"
            done = subprocess.run(
                [espeak, "-v", self.voice, "-w", str(spoken), "--", espeak_pinyin(words)],
                check=False,
                capture_output=True,
                timeout=60,
            )
            if done.returncode != 0 or not spoken.exists():
                raise PromptAudioError(
                    f"espeak-ng could not say {words!r} with voice {self.voice!r}: "
                    f"{done.stderr.decode(errors='replace').strip()} (`espeak-ng --voices=zh` lists the voices)"
                )
            self._write_atomic(path, lambda tmp: _to_telephone_wav(spoken, tmp))
        return path

    def _converted(self, recorded: Path) -> Path:
        """A recorded prompt as 8 kHz mono 16-bit WAV in the cache (converted once; again when the file
        changes), so everything played lies in one folder the PBX can read."""
        stat = recorded.stat()
        key = _key("recorded", str(recorded.resolve()), str(stat.st_size), str(stat.st_mtime_ns))
        path = self.cache_dir / f"recorded-{recorded.stem}-{key}.wav"
        if not path.exists():
            self._write_atomic(path, lambda tmp: _to_telephone_wav(recorded, tmp))
        return path

    def _write_atomic(self, path: Path, write: Callable[[Path], None]) -> None:
        """Write through a temporary file and rename, so a half-written prompt is never played."""
        handle, tmp_name = tempfile.mkstemp(dir=self.cache_dir, suffix=".wav.part")
        os.close(handle)
        tmp = Path(tmp_name)
        try:
            write(tmp)
            tmp.chmod(0o644)  # the PBX may run as another user
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    """`text` with glob's special characters taken literally."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def _write_pcm(path: Path, frames: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(PROMPT_RATE)
        out.writeframes(frames)


def _read_pcm16(path: Path) -> tuple[int, np.ndarray] | None:
    """A 16-bit PCM WAV as (rate, mono samples), channels mixed; None for anything else (ffmpeg reads it)."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                return None
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return None
    pcm = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        pcm = np.round(pcm[: pcm.size - pcm.size % channels].reshape(-1, channels).mean(axis=1)).astype(np.int16)
    return rate, pcm


def _to_telephone_wav(source: Path, target: Path) -> None:
    """Audio (espeak's 22.05 kHz WAV, a hotline's recording in WAV, MP3 or what ffmpeg reads) → 8 kHz mono
    16-bit PCM WAV; PCM WAV in-process, the rest by ffmpeg."""
    decoded = _read_pcm16(source)
    if decoded is not None:
        rate, pcm = decoded
        if pcm.size == 0:
            raise PromptAudioError(f"{source.name} holds no audio")
        write_wav(target, _resample(pcm, rate, PROMPT_RATE) if rate != PROMPT_RATE else pcm, PROMPT_RATE)
        return
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise PromptAudioError(f"{source.name} is not 16-bit PCM WAV: converting it to 8 kHz needs ffmpeg")
    to_telephone = ["-ac", "1", "-ar", str(PROMPT_RATE), "-c:a", "pcm_s16le", "-f", "wav"]
    done = subprocess.run(
        [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), *to_telephone, str(target)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise PromptAudioError(
            f"cannot convert {source.name} to 8 kHz WAV: {done.stderr.decode(errors='replace').strip()} "
            "(try `ffmpeg -i FILE -ar 8000 -ac 1 out.wav`)"
        )


def render_all(audio: PromptAudio, prompts: Mapping[str, str]) -> dict[str, list[Path]]:
    """Render every prompt (id → text, placeholders left as they are) and every clip ahead of the first call,
    as the service does at start-up; returns the files of each prompt's fixed pieces."""
    rendered: dict[str, list[Path]] = {}
    for clip_id, words in audio.clips():
        audio.clip(clip_id, words)
    audio.pause()
    for prompt_id, template in prompts.items():
        parts = pieces(template)
        if all(part.field is None for part in parts):
            rendered[prompt_id] = [audio.prompt(prompt_id, template)]
            continue
        literals = [part.text for part in parts if part.field is None]
        rendered[prompt_id] = [audio.prompt(f"{prompt_id}.{n}", text) for n, text in enumerate(literals, 1)]
    return rendered
