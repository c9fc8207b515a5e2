"""Recordings played in the browser: only to those allowed, with HTTP range requests, each playback audited."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from api.access import Allowed, may_read_call, reach
from api.deps import ServicesDep, SessionDep
from api.staff_auth import audit
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
        raise HTTPException(404, f"no recording {recording_sid}")
    recording, call = found
    if not may_read_call(session, user, reach(request), call):
        raise HTTPException(
            403, "recordings are for supervisors, inspectors (sampled calls), and whoever handled the call"
        )
    if recording.path is None:
        raise HTTPException(
            409,
            f"recording {recording_sid} is {recording.status}: its audio is not stored"
            + (f" ({recording.error})" if recording.error else ""),
        )
    path = services.settings.recordings_root / recording.path
    if not path.is_file():
        raise HTTPException(410, f"the audio file of {recording_sid} is missing from the recordings folder")
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
