"""The hotline's recorded prompts, fetched by Twilio for `<Play>`: read-only, by prompt id, from HOTLINE_PROMPTS_DIR.

Public like any media Twilio fetches (Twilio sends no form to sign a GET of audio by); only a listed prompt's own
file is served, its path made from the id, never from the request.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import ServicesDep
from api.errors import Refusal
from hotline import twilio_paths as paths
from ivr.prompt_list import all_prompts, recorded_file

router = APIRouter(tags=["twilio"])  # the path: hotline/twilio_paths.py


@router.get(paths.PROMPT, summary="A recorded prompt's audio, played by Twilio")
def recorded_prompt(prompt_id: str, services: ServicesDep) -> FileResponse:
    known = {prompt.id for prompt in all_prompts(services.flow, services.route_prompts)}
    path = recorded_file(services.settings.prompts_root, prompt_id) if prompt_id in known else None
    if path is None:
        raise Refusal(
            404,
            f"没有这条提示音的录音（{prompt_id}）：`hotline prompts` 列出每条提示音和它的录音文件",
            "no_recorded_prompt",
        )
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-cache"})
