"""One Media Stream being recognised: frames arrive on the event loop, Kaldi runs in a worker pool.

Frames are gathered into batches (5 × 20 ms by default) and fed in order by one consumer task per stream, so a
recognizer never runs in two threads at once and the event loop never waits for Kaldi. When decoding falls behind,
the batches simply grow (everything queued is fed at once), the lag is measured and reported, and no audio is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from speech.streaming import LagMeter, ListenOutcome, LiveListener

log = logging.getLogger(__name__)

BATCH_FRAMES = 5  # 100 ms: partials stay timely, and per-call overhead stays small against decoding


class StreamSession:
    """Feeds one stream's audio to its LiveListener in a pool; `on_outcome` gets each result batch (sync, fast).

    The lag of a batch is the wall time from the arrival of its oldest frame to the end of its decoding: what the
    audio waited, batching included (at least 80 ms with 5-frame batches while keeping up).
    """

    def __init__(
        self,
        listener: LiveListener,
        pool: Executor,
        on_outcome: Callable[[ListenOutcome], None],
        *,
        batch_frames: int = BATCH_FRAMES,
        behind_after_s: float = 1.0,
        name: str = "stream",
    ) -> None:
        self.listener = listener
        self.lag = LagMeter(behind_after_s=behind_after_s)
        self.frames = 0
        self.audio_bytes = 0
        self.name = name
        self._pool = pool
        self._on_outcome = on_outcome
        self._batch = batch_frames
        self._pending: list[bytes] = []
        self._oldest_at = 0.0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._final: ListenOutcome | None = None

    def start(self) -> None:
        """Start the consumer task (on the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"asr-{self.name}")

    def push(self, payload: bytes, arrived_at: float | None = None) -> None:
        """One frame of μ-law audio, as it arrived (monotonic time)."""
        if self._closing:
            return
        if not self._pending:
            self._oldest_at = arrived_at if arrived_at is not None else time.monotonic()
        self._pending.append(payload)
        self.frames += 1
        self.audio_bytes += len(payload)
        if len(self._pending) >= self._batch:
            self._idle.clear()
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._wake.is_set():
                self._idle.set()
            await self._wake.wait()
            self._idle.clear()
            self._wake.clear()
            while self._pending and (len(self._pending) >= self._batch or self._closing):
                batch, self._pending = b"".join(self._pending), []
                oldest = self._oldest_at
                outcome = await loop.run_in_executor(self._pool, self.listener.accept, batch)
                if self.lag.record(oldest, time.monotonic()):
                    log.warning(
                        "%s: decoding is %.2f s behind real time (the call goes on; the batch grows)",
                        self.name,
                        time.monotonic() - oldest,
                    )
                self._deliver(outcome)
            if self._closing and not self._pending:
                return

    def _deliver(self, outcome: ListenOutcome) -> None:
        if outcome.results or outcome.choice:
            try:
                self._on_outcome(outcome)
            except Exception:  # a failing consumer must not stop recognition
                log.exception("%s: handling a recognition result failed", self.name)

    async def wait_idle(self) -> None:
        """Until every full batch pushed so far has been decoded (a sender can pace itself on this)."""
        await self._idle.wait()

    async def close(self) -> ListenOutcome:
        """No more frames: feed what is queued, then the final results (idempotent)."""
        if self._final is not None:
            return self._final
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        outcome = await asyncio.get_running_loop().run_in_executor(self._pool, self.listener.finish)
        self._final = outcome
        self._deliver(outcome)
        return outcome

    @property
    def audio_s(self) -> float:
        """Seconds of audio received (8000 μ-law bytes a second)."""
        return self.audio_bytes / 8000
