"""The Twilio edge's renderer: the flow engine's decisions (ivr.decisions) as a TwiML document.

What comes next (`Next`) becomes the webhook path of its handler, with its values in the query, so that
Twilio's next request asks the engine the right question.
"""

from __future__ import annotations

from typing import TypeAlias
from urllib.parse import quote

from twilio.twiml.voice_response import Gather, Start, Stop, VoiceResponse

from hotline import twilio_paths as paths
from ivr.decisions import (
    STEP_ACTIONS,
    Decision,
    Decisions,
    Dial,
    Digits,
    Enqueue,
    Hangup,
    LeaveQueue,
    Next,
    Pause,
    PromptValue,
    QueryValue,
    Record,
    Redirect,
    Say,
    StartCallRecording,
    StartStream,
    StopStream,
    To,
)
from ivr.decisions import Gather as GatherDecision
from ivr.flow import Flow, Step, Voice
from ivr.prompt_list import Prompt, RecordedPrompts
from ivr.steps import confirm_decisions, menu_outcome, step_decisions, urgent_redirect

__all__ = ["menu_outcome"]  # where the engine's menu answer was decided before ivr.steps (kept for its callers)

# What a `<Say>` can go into: the whole response, or a `<Gather>` (so the caller can key in over the prompt).
SayParent: TypeAlias = VoiceResponse | Gather

# Digits as read over a phone line in Mandarin: 1 is 幺 (yāo) so it cannot be heard as 7 (qī).
_SPOKEN_DIGITS = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))


def spoken_digits(number: str) -> str:
    """A ticket number as the caller should hear it: digit by digit, a pause at each dash."""
    groups = [" ".join(_SPOKEN_DIGITS[d] for d in group if d.isdigit()) for group in number.split("-")]
    return "，".join(g for g in groups if g)


_PATHS = {
    To.STEP: paths.STEP,
    To.KEYS: paths.STEP_KEYS,
    To.SPOKEN: paths.STEP_SPOKEN,
    To.CONFIRM: paths.STEP_CONFIRM,
    To.CONFIRMED: paths.STEP_CONFIRMED,
    To.RECORDED: paths.STEP_RECORDED,
    To.DIALLED: paths.STEP_DIALLED,
    To.ROUTE: paths.ROUTE,
    To.ROUTE_DISTRICT: paths.ROUTE_DISTRICT,
    To.ROUTE_MORE: paths.ROUTE_MORE,
    To.ROUTE_DIALLED: paths.ROUTE_DIALLED,
    To.URGENT: paths.URGENT,
    To.QUEUE_WAIT: paths.QUEUE_WAIT,
    To.QUEUE_KEY: paths.QUEUE_KEY,
    To.QUEUE_DONE: paths.QUEUE_DONE,
    To.CALLBACK_CONFIRM: paths.CALLBACK_CONFIRM,
    To.CALLBACK_CHECK: paths.CALLBACK_CHECK,
    To.SEAT_DONE: paths.SEAT_DONE,
}


def next_url(then: Next) -> str:
    """The service path of what comes next: the handler's webhook, with its values in the query."""
    path = paths.path_for(_PATHS[then.to], step=then.step) if then.to in STEP_ACTIONS else _PATHS[then.to]
    if then.query:
        path += "?" + "&".join(f"{k}={quote(str(v))}" for k, v in then.query)
    return path


def step_url(step: str, action: str | None = None, **query: QueryValue) -> str:
    """The service path that serves a step, or one of its callbacks (`keys`, `recorded`, `dialled` …)."""
    return next_url(Next.of(To(action or To.STEP), step, **query))


def media_stream_url(base_url: str) -> str:
    """Our Media Streams WebSocket as Twilio reaches it: wss:// behind https, ws:// behind http."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + paths.MEDIA_STREAM


def start_call_recording(response: VoiceResponse) -> None:
    """<Start><Recording>: record the whole call from its first word, the caller and the staff each on their own
    channel. Twilio starts it before anything else in the document, so the greeting's recording notice is on it
    (the inspectors score that notice); started later over REST it missed the call's first seconds."""
    start = Start()
    start.recording(
        channels="dual",
        track="both",
        trim="do-not-trim",
        recording_status_callback=paths.RECORDING_STATUS,
        recording_status_callback_event="completed absent",
        recording_status_callback_method="POST",
    )
    response.append(start)


def start_stream(response: VoiceResponse, url: str, *, name: str, step: str, mode: str) -> None:
    """<Start><Stream>: fork the caller's side of the call to `url`; `step` and `mode` tell our receiver what
    to listen for (a menu's grammar, or free speech to transcribe)."""
    start = Start()
    stream = start.stream(url=url, name=name, track="inbound_track")
    stream.parameter(name="step", value=step)
    stream.parameter(name="mode", value=mode)
    response.append(start)


def end_stream(response: VoiceResponse, name: str) -> None:
    """<Stop><Stream>: end the stream of that name (the call has left the step that listened)."""
    stop = Stop()
    stop.stream(name=name)
    response.append(stop)


def urgent_url(why: str, at: str) -> str:
    """Where a call goes to reach the supervisor now: `why` one of the codes of ivr.steps, `at` the step it was at."""
    return next_url(Next.of(To.URGENT, why=why, at=at))


def render(
    decisions: Decisions, voice: Voice, recorded: RecordedPrompts | None = None, media_url: str | None = None
) -> str:
    """The TwiML document that carries out `decisions`: prompts in the flow's `voice` (the hotline's `recorded`
    prompts played where there is one), live streams to `media_url` (our Media Streams WebSocket)."""
    response = VoiceResponse()
    for decision in decisions:
        _render_one(response, decision, voice, recorded, media_url)
    return str(response)


def _render_one(
    response: VoiceResponse,
    decision: Decision,
    voice: Voice,
    recorded: RecordedPrompts | None,
    media_url: str | None,
) -> None:
    match decision:
        case Say() | Pause():
            _prompt(response, decision, voice, recorded)
        case GatherDecision():
            response.append(_gather(decision, voice, recorded))
        case Record():
            response.record(
                action=next_url(decision.next),
                method="POST",
                max_length=decision.max_length_s,
                timeout=decision.timeout_s,
                finish_on_key=decision.finish_on_key,
                play_beep=decision.beep,
                trim="do-not-trim",  # a silent recording is still evidence for the inspectors
                recording_status_callback=paths.RECORDING_STATUS,
                recording_status_callback_event="completed absent",
                recording_status_callback_method="POST",
            )
        case Dial():
            dial = response.dial(action=next_url(decision.next), method="POST", timeout=decision.timeout_s)
            dial.number(decision.number)
        case Enqueue():
            response.enqueue(
                decision.name,
                action=next_url(decision.next),
                method="POST",
                wait_url=next_url(decision.wait),
                wait_url_method="POST",
            )
        case LeaveQueue():
            response.leave()
        case StartCallRecording():
            start_call_recording(response)
        case StartStream():
            if media_url is None:
                raise ValueError(f"stream {decision.name}: no Media Streams URL to stream to")
            start_stream(response, media_url, name=decision.name, step=decision.step, mode=decision.mode)
        case StopStream():
            end_stream(response, decision.name)
        case Redirect():
            response.redirect(next_url(decision.next), method="POST")
        case Hangup():
            response.hangup()


def _gather(decision: GatherDecision, voice: Voice, recorded: RecordedPrompts | None) -> Gather:
    options: dict[str, object] = {"input": "dtmf speech" if decision.speech else "dtmf"}
    if decision.num_digits is not None:
        options["num_digits"] = decision.num_digits
    options["timeout"] = decision.timeout_s
    if decision.finish_on_key is not None:
        options["finish_on_key"] = decision.finish_on_key
    options |= {"action": next_url(decision.next), "method": "POST"}
    if decision.on_empty:
        options["action_on_empty_result"] = True
    gather = Gather(**options)
    for prompt in decision.prompts:
        _prompt(gather, prompt, voice, recorded)
    return gather


def _prompt(parent: SayParent, prompt: Say | Pause, voice: Voice, recorded: RecordedPrompts | None) -> None:
    if isinstance(prompt, Pause):
        parent.pause(length=prompt.seconds)
        return
    say_prompt(parent, voice, Prompt(prompt.prompt_id, prompt.template), recorded, **said_values(prompt))


def said_values(say: Say) -> dict[str, str | int]:
    """A prompt's values as `<Say>` reads them: numbers read digit by digit become their spoken digits."""
    return {name: _said(value) for name, value in say.values}


def _said(value: PromptValue) -> str | int:
    return spoken_digits(value.number) if isinstance(value, Digits) else value


def render_step(
    flow: Flow,
    step: Step,
    *,
    attempt: int = 1,
    context: dict[str, str] | None = None,
    listen_url: str | None = None,
    stop_stream: str | None = None,
    wrong_key: bool = False,
    record_call: bool = False,
    recorded: RecordedPrompts | None = None,
) -> str:
    """The TwiML document that plays `step` (ivr.steps.step_decisions; `listen_url`: the stream's URL)."""
    decisions = step_decisions(
        flow,
        step,
        attempt=attempt,
        context=context,
        listen=listen_url is not None,
        stop_stream=stop_stream,
        wrong_key=wrong_key,
        record_call=record_call,
    )
    return render(decisions, flow.voice, recorded, listen_url)


def render_confirm(
    flow: Flow,
    step: Step,
    choice: str,
    attempt: int,
    *,
    stop_stream: str | None = None,
    recorded: RecordedPrompts | None = None,
) -> str:
    """Ask whether a choice heard with little confidence is right: 1 confirms, anything else goes back."""
    return render(confirm_decisions(flow, step, choice, attempt, stop_stream=stop_stream), flow.voice, recorded)


def render_urgent_redirect(why: str, at: str, *, stop_stream: str | None = None) -> str:
    """Continue the call at the supervisor (the caller pressed or said the emergency), ending `stop_stream`."""
    return render(urgent_redirect(why, at, stop_stream=stop_stream), Voice())


def render_hangup() -> str:
    """An empty ending: used when the call is already over (Twilio ignores it) or must end."""
    return render((Hangup(),), Voice())


def say_in_voice(parent: SayParent, voice: Voice, text: str) -> None:
    """Add a `<Say>` in the flow's language and voice."""
    kwargs = {"language": voice.language}
    if voice.voice:
        kwargs["voice"] = voice.voice
    parent.say(text, **kwargs)


def say_prompt(
    parent: SayParent, voice: Voice, prompt: Prompt, recorded: RecordedPrompts | None, **values: object
) -> None:
    """Add a prompt: `<Play>` of the hotline's recording of it when there is one, else `<Say>` of its text filled
    with `values`. A prompt with placeholders is always said (its pieces are not put together on Twilio)."""
    url = None if recorded is None or prompt.has_placeholders else recorded.url_of(prompt.id)
    if url is not None:
        parent.play(url)
    else:
        say_in_voice(parent, voice, prompt.text.format(**values))
