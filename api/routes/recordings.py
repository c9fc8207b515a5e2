"""Recordings played in the browser: only to those allowed, with HTTP range requests, each playback audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from api.access import Allowed, may_read_call, reach
from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.staff_auth import audit
from recordings.pipeline import PENDING
from recordings.store import recording_file
from recordings.tables import Call, Recording

router = APIRouter(prefix="/api", tags=["recordings"])

MEDIA_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg"}


@router.get("/recordings/{recording_sid}/audio", summary="A recording's audio (supports Range requests)")
def get_audio(
    recording_sid: str, request: Request, session: SessionDep, services: ServicesDep, user: Allowed
) -> FileResponse:
    found = session.execute(
        select(Recording, Call).join(Call, Recording.call_id == Call.id).where(Recording.recording_sid == recording_sid)
    ).first()
    if found is None:
        raise Refusal(404, f"没有这段录音（{recording_sid}）：请从通话或工单页面打开录音", "no_recording")
    recording, call = found
    if not may_read_call(session, user, reach(request), call):
        raise Refusal(403, "这段录音不在您的收听范围：录音只给班长/主管、质检员（抽中的通话）和接听人收听", "not_yours")
    if recording.path is None:
        why = "还在下载：请稍后再听" if recording.status == PENDING else "没有下载下来，没有音频可以播放"
        raise Refusal(
            409,
            f"这段录音{why}（{recording_sid}：{recording.status}"
            + (f"，{recording.error}）" if recording.error else "）"),
            "not_stored",
        )
    path = recording_file(services.settings.recordings_root, recording.path)
    if not path.is_file():
        raise Refusal(
            410,
            f"这段录音的音频文件不在录音文件夹中：请告知管理员（{recording_sid}：{recording.path}）",
            "audio_missing",
        )
    # A browser fetches a recording in several ranges; one playback is the request from the start.
    wanted = request.headers.get("range", "")
    if not wanted or wanted.replace(" ", "").startswith("bytes=0-"):
        audit(session, request, user, "play_recording", recording_sid, {"call_sid": call.call_sid})
        session.commit()
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "private, no-store"},
    )
