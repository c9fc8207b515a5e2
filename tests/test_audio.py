"""Decoding recordings (real files, real ffmpeg), finding the model and fetching it from a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import socket
import struct
import subprocess
import threading
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest

from speech.audio import alaw_decode, is_silent, load_channels, write_wav
from speech.errors import AudioError
from speech.model import (
    ENV_MODEL_PATH,
    MANDARIN_MODEL,
    ModelFetchError,
    default_model_dir,
    describe_missing,
    fetch_model,
    find_model,
)
from speech.telephone import ulaw_decode, ulaw_encode
from tests.conftest import SHARED

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = SHARED / "data" / "speech" / "ko" / "zeroth_104_003_0374.wav"
HAS_FFMPEG = shutil.which("ffmpeg") is not None
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg is not installed")


def _clip() -> tuple[np.ndarray, int]:
    """The real 16 kHz Korean clip 0374 as int16 samples."""
    with wave.open(str(KO_CLIP), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy(), w.getframerate()


def _tone(freqs_amps: list[tuple[float, float]], rate: int, seconds: float) -> np.ndarray:
    """A sum of sines (frequency in Hz, amplitude in sample units) as int16."""
    t = np.arange(int(rate * seconds)) / rate
    signal = sum(amp * np.sin(2 * np.pi * f * t) for f, amp in freqs_amps)
    return np.round(signal).astype(np.int16)


def _band_level_db(pcm: np.ndarray, rate: int, freq: float, reference: float) -> float:
    """Level of the component near `freq` in dB relative to a sine of amplitude `reference`."""
    x = pcm.astype(np.float64) * np.hanning(pcm.size)
    spectrum = np.abs(np.fft.rfft(x)) * 2 / np.hanning(pcm.size).sum()
    bins = np.fft.rfftfreq(pcm.size, 1 / rate)
    near = np.abs(bins - freq) < 30
    return 20 * np.log10(spectrum[near].max() / reference + 1e-12)


def _wav_bytes(format_tag: int, channels: int, rate: int, bits: int, data: bytes, fact: bool = True) -> bytes:
    """A WAV file by hand: fmt (18 bytes, as Twilio's μ-law files have), optional fact, data."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHHH", format_tag, channels, rate, rate * block, block, bits, 0)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if fact:
        chunks += b"fact" + struct.pack("<II", 4, len(data) // block)
    chunks += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


# --- errors --------------------------------------------------------------------------------------------


def _error(path: Path) -> AudioError:
    with pytest.raises(AudioError) as caught:
        load_channels(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_zero_bytes_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(b"")
    err = _error(path)
    assert err.code == "empty"
    assert "Download the recording again" in str(err)


def test_header_without_samples_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, np.zeros(0, dtype=np.int16), 8000)
    assert _error(path).code == "empty"


def test_garbage_bytes_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    err = _error(path)
    assert err.code == "corrupt"
    assert "damaged" in str(err)


def test_truncated_wav_header_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(KO_CLIP.read_bytes()[:30])  # cut inside the fmt chunk
    assert _error(path).code == "corrupt"


def test_wav_without_data_chunk_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    path.write_bytes(KO_CLIP.read_bytes()[:36])  # RIFF + complete fmt chunk, nothing after
    assert _error(path).code == "corrupt"


def test_wav_cut_off_mid_download_keeps_what_is_there(tmp_path: Path) -> None:
    whole = KO_CLIP.read_bytes()
    path = tmp_path / "call.wav"
    path.write_bytes(whole[: 44 + 16001])  # the header still claims the whole length; half a sample at the end
    audio = load_channels(path)
    assert audio.channels[0].size == 8000
    assert np.array_equal(audio.channels[0], _clip()[0][:8000])


def test_error_page_saved_as_recording_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "RE123.wav"
    path.write_text('<?xml version="1.0"?><TwilioResponse><RestException><Status>404</Status>', encoding="utf-8")
    err = _error(path)
    assert err.code == "corrupt"
    assert "text" in str(err)


def test_image_is_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "photo.mp3"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    err = _error(path)
    assert err.code == "unsupported_format"
    assert "PNG" in str(err) and "Convert it" in str(err)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    assert _error(tmp_path / "nowhere.wav").code == "not_found"


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError):
        AudioError("exploded")  # type: ignore[arg-type]


# --- decoding ------------------------------------------------------------------------------------------


def test_pcm_wav_decodes_exactly() -> None:
    pcm, rate = _clip()
    audio = load_channels(KO_CLIP)
    assert audio.rate == rate == 16000
    assert len(audio.channels) == 1
    assert audio.channels[0].dtype == np.int16
    assert np.array_equal(audio.channels[0], pcm)
    assert audio.duration_s == pytest.approx(pcm.size / 16000)


@pytest.mark.parametrize("bits", [8, 24, 32])
def test_other_pcm_widths_become_16_bit(tmp_path: Path, bits: int) -> None:
    pcm = _tone([(440, 20000)], 8000, 0.5)
    if bits == 8:
        data = ((pcm.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    elif bits == 24:
        wide = pcm.astype("<i4") << 8
        data = np.frombuffer(wide.tobytes(), dtype=np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = (pcm.astype("<i4") << 16).tobytes()
    path = tmp_path / f"pcm{bits}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(bits // 8)
        w.setframerate(8000)
        w.writeframes(data)
    audio = load_channels(path)
    assert audio.rate == 8000
    tolerance = 256 if bits == 8 else 1
    assert np.abs(audio.channels[0].astype(np.int32) - pcm).max() <= tolerance


def test_stereo_wav_splits_into_channels(tmp_path: Path) -> None:
    left, right = _tone([(300, 8000)], 8000, 1.0), _tone([(1200, 3000)], 8000, 1.0)
    path = tmp_path / "dual.wav"
    write_wav(path, [left, right], 8000)
    audio = load_channels(path)
    assert audio.rate == 8000  # telephone audio is not upsampled
    assert [ch.size for ch in audio.channels] == [8000, 8000]
    assert np.array_equal(audio.channels[0], left)
    assert np.array_equal(audio.channels[1], right)
    assert audio.duration_s == pytest.approx(1.0)


def test_44k1_wav_is_brought_to_16k(tmp_path: Path) -> None:
    rate = 44100
    pcm = _tone([(1000, 10000), (10000, 10000)], rate, 2.0)  # 10 kHz cannot exist at 16 kHz
    path = tmp_path / "cd.wav"
    write_wav(path, pcm, rate)
    audio = load_channels(path)
    assert audio.rate == 16000
    assert audio.duration_s == pytest.approx(2.0, abs=1e-3)
    out = audio.channels[0][1600:-1600]
    assert _band_level_db(out, 16000, 1000, 10000) == pytest.approx(0.0, abs=0.2)
    assert _band_level_db(out, 16000, 6000, 10000) < -60  # where 10 kHz would fold to without a filter
    assert max(_band_level_db(out, 16000, f, 10000) for f in (2000, 4000, 7000)) < -60


def test_48k_stereo_wav_is_brought_to_16k(tmp_path: Path) -> None:
    pcm, _ = _clip()
    up = np.repeat(pcm, 3)  # crude 48 kHz copy: the speech band survives the way down
    path = tmp_path / "studio.wav"
    write_wav(path, [up, (up // 2).astype(np.int16)], 48000)
    audio = load_channels(path)
    assert audio.rate == 16000 and len(audio.channels) == 2
    assert audio.channels[0].size == pcm.size
    assert audio.duration_s == pytest.approx(pcm.size / 16000)
    # the 16 kHz result is close to the original in the band below 7 kHz
    a, b = audio.channels[0].astype(float), pcm.astype(float)
    spectrum_error = np.abs(np.fft.rfft(a) - np.fft.rfft(b))[: int(7000 / 16000 * a.size)]
    assert np.sum(spectrum_error**2) / np.sum(np.abs(np.fft.rfft(b)) ** 2) < 0.05


def test_ulaw_wav_decodes_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pcm, _ = _clip()
    codes = ulaw_encode(pcm[::2])  # 8 kHz μ-law, as Twilio can serve a recording
    path = tmp_path / "twilio.wav"
    path.write_bytes(_wav_bytes(7, 1, 8000, 8, codes))
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg reachable
    audio = load_channels(path)
    assert audio.rate == 8000
    assert np.array_equal(audio.channels[0], ulaw_decode(codes))
    assert audio.duration_s == pytest.approx(len(codes) / 8000)


def test_pcm_wav_decodes_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert load_channels(KO_CLIP).rate == 16000


def _ffmpeg_decode(path: Path) -> np.ndarray:
    """ffmpeg's own decoding of a file to 16-bit mono samples (the reference)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2")


@needs_ffmpeg
@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_alaw"])
def test_g711_wav_written_by_ffmpeg_matches_ffmpeg_decoding(tmp_path: Path, codec: str) -> None:
    source = tmp_path / "source.wav"
    write_wav(source, _clip()[0], 16000)
    path = tmp_path / f"{codec}.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-ar", "8000", "-acodec", codec, str(path)], check=True)
    audio = load_channels(path)
    assert audio.rate == 8000
    assert np.array_equal(audio.channels[0], _ffmpeg_decode(path))


def test_alaw_decode_matches_g711_table() -> None:
    # values from the G.711 reference decoder (g711.c alaw2linear)
    codes = bytes([0xD5, 0x55, 0x2A, 0xAA, 0x80, 0x00, 0xD4, 0x54])
    assert alaw_decode(codes).tolist() == [8, -8, -32256, 32256, 5504, -5504, 24, -24]


@needs_ffmpeg
def test_mp3_round_trip(tmp_path: Path) -> None:
    from pydub import AudioSegment

    pcm, rate = _clip()
    segment = AudioSegment(pcm.tobytes(), frame_rate=rate, sample_width=2, channels=1)
    path = tmp_path / "call.mp3"
    segment.export(str(path), format="mp3", bitrate="64k")
    audio = load_channels(path)
    assert audio.rate == 16000 and len(audio.channels) == 1
    assert audio.duration_s == pytest.approx(pcm.size / rate, abs=0.1)  # encoder delay and padding
    assert not is_silent(audio.channels[0], audio.rate)


@needs_ffmpeg
def test_44k1_stereo_mp3_comes_down_to_16k(tmp_path: Path) -> None:
    from pydub import AudioSegment

    left = _tone([(440, 12000)], 44100, 1.5)
    right = _tone([(880, 6000)], 44100, 1.5)
    stereo = np.stack([left, right], axis=1).astype("<i2").tobytes()
    path = tmp_path / "music.mp3"
    AudioSegment(stereo, frame_rate=44100, sample_width=2, channels=2).export(str(path), format="mp3")
    audio = load_channels(path)
    assert audio.rate == 16000 and len(audio.channels) == 2
    assert audio.duration_s == pytest.approx(1.5, abs=0.1)
    mid = slice(3200, -3200)
    assert _band_level_db(audio.channels[0][mid], 16000, 440, 12000) == pytest.approx(0, abs=1.0)
    assert _band_level_db(audio.channels[1][mid], 16000, 880, 6000) == pytest.approx(0, abs=1.0)


@needs_ffmpeg
def test_mp3_named_wav_is_decoded_by_content(tmp_path: Path) -> None:
    from pydub import AudioSegment

    pcm, rate = _clip()
    path = tmp_path / "RE42.wav"
    AudioSegment(pcm.tobytes(), frame_rate=rate, sample_width=2, channels=1).export(str(path), format="mp3")
    assert load_channels(path).duration_s == pytest.approx(pcm.size / rate, abs=0.1)


def test_mp3_without_ffmpeg_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "call.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(500))
    monkeypatch.setenv("PATH", str(tmp_path))
    err = _error(path)
    assert err.code == "needs_ffmpeg"
    assert "apt-get install ffmpeg" in str(err)


@needs_ffmpeg
def test_truncated_mp3_keeps_what_is_there(tmp_path: Path) -> None:
    from pydub import AudioSegment

    pcm, rate = _clip()
    path = tmp_path / "cut.mp3"
    AudioSegment(pcm.tobytes(), frame_rate=rate, sample_width=2, channels=1).export(str(path), format="mp3")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    audio = load_channels(path)
    assert 0.3 * pcm.size / rate < audio.duration_s < 0.7 * pcm.size / rate


# --- silence and writing -------------------------------------------------------------------------------


def test_is_silent_threshold() -> None:
    rng = np.random.default_rng(1)
    line_noise = np.round(rng.normal(0, 32768 * 10 ** (-60 / 20), 8000)).astype(np.int16)  # -60 dBFS
    assert is_silent(np.zeros(8000, dtype=np.int16), 8000)
    assert is_silent(np.zeros(0, dtype=np.int16), 8000)
    assert is_silent(line_noise, 8000)
    pcm, rate = _clip()
    assert not is_silent(pcm, rate)
    assert not is_silent((pcm // 10).astype(np.int16), rate)  # the same speech 20 dB quieter
    assert is_silent(pcm // 10, rate, threshold_dbfs=0.0)


def test_write_wav_round_trip(tmp_path: Path) -> None:
    pcm = _tone([(500, 9000)], 16000, 0.25)
    path = tmp_path / "out.wav"
    write_wav(path, pcm, 16000)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
    assert np.array_equal(load_channels(path).channels[0], pcm)


# --- finding the model ---------------------------------------------------------------------------------


def _fake_model(folder: Path) -> Path:
    """A folder laid out like a Vosk model (enough for find_model, not for vosk.Model)."""
    (folder / "am").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_bytes(b"not a real model")
    (folder / "conf").mkdir()
    (folder / "conf" / "model.conf").write_text("--beam=10.0\n")
    return folder


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user cache folder."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def test_default_model_dir(cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_model_dir() == cache_home / "hotline12351" / "models" / "vosk-model-small-cn-0.22"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_model_dir() == tmp_path / ".cache" / "hotline12351" / "models" / "vosk-model-small-cn-0.22"


def test_find_model_configured_folder(cache_home: Path, tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "my-model")
    assert find_model(model) == model


def test_find_model_one_model_inside_configured_folder(cache_home: Path, tmp_path: Path) -> None:
    model = _fake_model(tmp_path / "unzipped" / "vosk-model-small-cn-0.22")
    (tmp_path / "unzipped" / "notes").mkdir()
    assert find_model(tmp_path / "unzipped") == model


def test_find_model_falls_back_to_cache(cache_home: Path, tmp_path: Path) -> None:
    _fake_model(tmp_path / "two" / "a")
    _fake_model(tmp_path / "two" / "b")  # ambiguous: not taken
    assert find_model(tmp_path / "two") is None
    assert find_model(None) is None
    cached = _fake_model(default_model_dir())
    assert find_model(tmp_path / "two") == cached
    assert find_model(tmp_path / "does-not-exist") == cached
    assert find_model(None) == cached


def test_describe_missing_tells_where_and_how(cache_home: Path, tmp_path: Path) -> None:
    (tmp_path / "half" / "conf").mkdir(parents=True)
    text = describe_missing(tmp_path / "half")
    assert "vosk-model-small-cn-0.22 was not found" in text
    assert str(tmp_path / "half") in text and "no am/final.mdl" in text
    assert str(default_model_dir()) in text and "does not exist" in text
    assert MANDARIN_MODEL.url in text and MANDARIN_MODEL.sha256 in text
    assert "hotline model fetch" in text and ENV_MODEL_PATH in text
    assert len(text.splitlines()) >= 6
    assert f"{ENV_MODEL_PATH}: not set" in describe_missing(None)


# --- fetching the model from a local HTTP server -------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder served over HTTP on 127.0.0.1; yields (folder, base URL)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _model_zip(tmp_path: Path, top: str = "vosk-model-small-cn-0.22") -> bytes:
    """A zip of a fake model folder, laid out as the official zip is (one top folder)."""
    folder = _fake_model(tmp_path / "build" / top)
    (folder / "graph").mkdir()
    (folder / "graph" / "HCLr.fst").write_bytes(bytes(range(256)) * 400)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            zf.write(file, file.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


def test_fetch_model_downloads_checks_and_unpacks(served, tmp_path: Path) -> None:
    root, base = served
    blob = _model_zip(tmp_path)
    (root / "model.zip").write_bytes(blob)
    dest = tmp_path / "cache" / "models" / "vosk-model-small-cn-0.22"
    seen: list[tuple[int, int]] = []
    got = fetch_model(dest, f"{base}/model.zip", hashlib.sha256(blob).hexdigest(), lambda d, t: seen.append((d, t)))
    assert got == dest
    assert (dest / "am" / "final.mdl").read_bytes() == b"not a real model"
    assert (dest / "graph" / "HCLr.fst").stat().st_size == 256 * 400
    assert find_model(dest) == dest
    assert seen and seen[-1] == (len(blob), len(blob))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no temp folders left
    # already there: no download at all (the URL is not even reachable)
    assert fetch_model(dest, "http://127.0.0.1:9/none.zip", "0" * 64) == dest


def test_fetch_model_rejects_bad_checksum(served, tmp_path: Path) -> None:
    root, base = served
    (root / "model.zip").write_bytes(_model_zip(tmp_path))
    dest = tmp_path / "models" / "vosk-model-small-cn-0.22"
    with pytest.raises(ModelFetchError) as caught:
        fetch_model(dest, f"{base}/model.zip", MANDARIN_MODEL.sha256)
    message = str(caught.value)
    assert "not the expected one" in message and MANDARIN_MODEL.sha256 in message
    assert f"{base}/model.zip" in message and str(dest) in message and ENV_MODEL_PATH in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_fetch_model_unreachable_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/vosk-model-small-cn-0.22.zip"
    dest = tmp_path / "models" / "vosk-model-small-cn-0.22"
    with pytest.raises(ModelFetchError) as caught:
        fetch_model(dest, url, MANDARIN_MODEL.sha256)
    message = str(caught.value)
    assert "Could not download" in message and url in message
    assert "download" in message and MANDARIN_MODEL.sha256 in message and ENV_MODEL_PATH in message
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_fetch_model_http_error(served, tmp_path: Path) -> None:
    _, base = served
    with pytest.raises(ModelFetchError, match="404"):
        fetch_model(tmp_path / "m" / "vosk-model-small-cn-0.22", f"{base}/missing.zip", MANDARIN_MODEL.sha256)


def test_fetch_model_zip_without_model(served, tmp_path: Path) -> None:
    root, base = served
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    (root / "other.zip").write_bytes(buffer.getvalue())
    dest = tmp_path / "m" / "vosk-model-small-cn-0.22"
    with pytest.raises(ModelFetchError, match="holds no Vosk model"):
        fetch_model(dest, f"{base}/other.zip", hashlib.sha256(buffer.getvalue()).hexdigest())
    assert not dest.exists()


def test_fetch_model_will_not_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    dest = tmp_path / "vosk-model-small-cn-0.22"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(ModelFetchError, match="not a Vosk model"):
        fetch_model(dest, "http://127.0.0.1:9/x.zip", MANDARIN_MODEL.sha256)
    assert (dest / "mine.txt").read_text() == "keep me"
