"""The one writer of a recording's live transcript: what the live stream heard while the caller spoke.

A live transcript (model `live:<model>`) stands in for the recording's transcript until the batch pipeline
(`recordings.pipeline`) writes its own, which replaces it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from recordings.tables import Recording, Transcript

LIVE_PREFIX = "live:"  # the model of a transcript heard live starts so (`live:vosk-model-cn-0.22`)


def keep_live_transcript(
    session: Session, recording: Recording, text: str, words: list[dict[str, Any]], model: str
) -> bool:
    """What `model` heard live becomes the recording's transcript, only when the recording has no transcript yet.
    True when it was written."""
    if session.scalar(select(Transcript.id).where(Transcript.recording_id == recording.id).limit(1)) is not None:
        return False  # heard live already, or the batch transcript is there
    session.add(
        Transcript(recording_id=recording.id, channel=None, text=text, words=words, model=f"{LIVE_PREFIX}{model}")
    )
    return True


def replace_live_transcript(session: Session, recording: Recording, text: str, words: list[dict[str, Any]]) -> bool:
    """The stream's final text replaces the live snapshot the recording has, unless the batch transcript is there
    already. True when it was replaced."""
    models = session.scalars(select(Transcript.model).where(Transcript.recording_id == recording.id)).all()
    if not models or not all(m.startswith(LIVE_PREFIX) for m in models):
        return False
    session.execute(
        update(Transcript)
        .where(Transcript.recording_id == recording.id, Transcript.model.like(f"{LIVE_PREFIX}%"))
        .values(text=text, words=words)
    )
    return True
