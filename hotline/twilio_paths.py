"""Every path Twilio reaches the service on, in one table.

The web routes are declared on these paths (`api/routes/twilio_*.py`, `media_stream.py`) and the TwiML the
service sends names them (`ivr/`, `routing/survey_calls.py`): a path changed here changes both, and no page of
TwiML can point at a route that does not exist. `{…}` parts are filled with `path_for`.
"""

from __future__ import annotations

from urllib.parse import quote

VOICE = "/twilio/voice"  # a call comes in
STATUS = "/twilio/status"  # the call's status changed
RECORDING_STATUS = "/twilio/recording-status"  # a recording is ready, or absent
MEDIA_STREAM = "/twilio/media"  # the WebSocket the caller's audio is forked to

STEP = "/twilio/step/{step}"  # play a step of the flow
STEP_KEYS = "/twilio/step/{step}/keys"
STEP_SPOKEN = "/twilio/step/{step}/spoken"
STEP_CONFIRM = "/twilio/step/{step}/confirm"
STEP_CONFIRMED = "/twilio/step/{step}/confirmed"
STEP_RECORDED = "/twilio/step/{step}/recorded"
STEP_DIALLED = "/twilio/step/{step}/dialled"

ROUTE = "/twilio/route"  # route the ticket, take the caller where it goes
ROUTE_DISTRICT = "/twilio/route/district"
ROUTE_MORE = "/twilio/route/more"
ROUTE_DIALLED = "/twilio/route/dialled"
URGENT = "/twilio/urgent"  # to the supervisor, now
QUEUE_WAIT = "/twilio/queue/wait"
QUEUE_KEY = "/twilio/queue/key"
QUEUE_DONE = "/twilio/queue/done"
CALLBACK_CONFIRM = "/twilio/callback/confirm"  # the keys typed at the callback offer, or typed again
CALLBACK_CHECK = "/twilio/callback/check"  # the answer to the number read back
SEAT_BRIDGE = "/twilio/seat/bridge"
SEAT_DONE = "/twilio/seat/done"

PROMPT = "/twilio/prompts/{prompt_id}.wav"  # a recorded prompt, fetched by Twilio for <Play> (GET, public)

SURVEY_CALL = "/twilio/survey/{survey_id}/call"  # the satisfaction callback
SURVEY_KEYS = "/twilio/survey/{survey_id}/keys"
SURVEY_STATUS = "/twilio/survey/{survey_id}/status"


def path_for(path: str, **parts: object) -> str:
    """A path of the table with its `{…}` parts filled in, each quoted for a URL."""
    return path.format(**{name: quote(str(value), safe="") for name, value in parts.items()})


def is_twilio_path(path: str) -> bool:
    """Whether a request's path is one of Twilio's (signature checked, TwiML answered)."""
    return path.startswith("/twilio/")
