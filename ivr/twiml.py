"""Rendering one flow step as a TwiML document, and what a caller's keys lead to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote

from twilio.twiml.voice_response import Gather, Start, Stop, VoiceResponse

from hotline import twilio_paths as paths
from ivr.flow import Flow, Step, Voice
from ivr.prompt_list import Prompt, RecordedPrompts

# What a `<Say>` can go into: the whole response, or a `<Gather>` (so the caller can key in over the prompt).
SayParent: TypeAlias = VoiceResponse | Gather

# Digits as read over a phone line in Mandarin: 1 is 幺 (yāo) so it cannot be heard as 7 (qī).
_SPOKEN_DIGITS = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))


def spoken_digits(number: str) -> str:
    """A ticket number as the caller should hear it: digit by digit, a pause at each dash."""
    groups = [" ".join(_SPOKEN_DIGITS[d] for d in group if d.isdigit()) for group in number.split("-")]
    return "，".join(g for g in groups if g)


_STEP_PATHS = {
    None: paths.STEP,
    "keys": paths.STEP_KEYS,
    "spoken": paths.STEP_SPOKEN,
    "confirm": paths.STEP_CONFIRM,
    "confirmed": paths.STEP_CONFIRMED,
    "recorded": paths.STEP_RECORDED,
    "dialled": paths.STEP_DIALLED,
}


def step_url(step: str, action: str | None = None, **query: object) -> str:
    """The service path that serves a step, or one of its callbacks (`keys`, `recorded`, `dialled` …)."""
    path = paths.path_for(_STEP_PATHS[action], step=step)
    if query:
        path += "?" + "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
    return path


def media_stream_url(base_url: str) -> str:
    """Our Media Streams WebSocket as Twilio reaches it: wss:// behind https, ws:// behind http."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + paths.MEDIA_STREAM


def listens(step: Step, flow: Flow | None = None) -> bool:
    """Whether a step forks the caller's audio to us: menus with spoken phrases (the emergency's count), and the
    problem recording."""
    phrases = flow.spoken_options(step) if flow is not None else step.phrases
    return (step.kind == "menu" and bool(phrases)) or step.kind == "record"


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


def _start_stream(response: VoiceResponse, step: Step, url: str) -> None:
    start_stream(response, url, name=step.name, step=step.name, mode="menu" if step.kind == "menu" else "transcribe")


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


# Why a call goes to the supervisor out of turn (`why` of the urgent URL; stable codes, kept on the call events).
CALLER_KEY, CALLER_VOICE, URGENT_FLAG = "caller_key", "caller_voice", "urgent_flag"


def urgent_url(why: str, at: str) -> str:
    """Where a call goes to reach the supervisor now: `why` one of the codes above, `at` the step it was at."""
    return f"{paths.URGENT}?why={quote(why)}&at={quote(at)}"


def render_urgent_redirect(why: str, at: str, *, stop_stream: str | None = None) -> str:
    """Continue the call at the supervisor (the caller pressed or said the emergency), ending `stop_stream`."""
    response = VoiceResponse()
    if stop_stream:
        end_stream(response, stop_stream)
    response.redirect(urgent_url(why, at), method="POST")
    return str(response)


@dataclass(frozen=True)
class MenuOutcome:
    """Where a menu answer leads: the next step, the choice made (if any), and whether to ask again."""

    next_step: str
    choice: str | None
    retry: bool


def menu_outcome(step: Step, digits: str, attempt: int) -> MenuOutcome:
    """Decide on a menu answer: a known key moves on, anything else asks again, then `on_fail`."""
    option = step.options.get(digits[:1]) if digits else None
    if option is not None:
        return MenuOutcome(option.next, option.choice, retry=False)
    if attempt <= step.retries:
        return MenuOutcome(step.name, None, retry=True)
    if step.on_fail is None:
        return MenuOutcome(step.name, None, retry=False)
    return MenuOutcome(step.on_fail, None, retry=False)


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
    """The TwiML document that plays `step` (the `attempt`-th time, for menus).

    `stop_stream` ends the stream of the step the call leaves; `listen_url` starts this step's stream there
    (for a step that `listens`). `wrong_key`: the menu is played again because the caller pressed a key that is
    no option (its `invalid_prompt` then, rather than the `retry_prompt` said after silence). `record_call`:
    the call's first document, which starts the whole-call recording. `recorded`: the hotline's recorded prompts,
    played instead of `<Say>` where there is one.
    """
    response = VoiceResponse()
    if record_call:
        start_call_recording(response)
    if stop_stream:
        end_stream(response, stop_stream)
    if listen_url and listens(step, flow):
        _start_stream(response, step, listen_url)
    say = _sayer(flow, step, context or {}, recorded)
    if step.kind == "menu":
        gather = Gather(
            input="dtmf",
            num_digits=1,
            timeout=step.timeout_s,
            action=step_url(step.name, "keys", attempt=attempt),
            method="POST",
            action_on_empty_result=True,
        )
        if attempt == 1:
            lines = [(f"intro.{n}", line) for n, line in enumerate(step.intro, 1)]
        else:
            lines = [_retry_line(step, wrong_key)]
        for field, line in (*lines, ("prompt", step.prompt)):
            say(gather, field, line)
        response.append(gather)
        # Should Twilio fall through the Gather anyway, the same handler decides.
        response.redirect(step_url(step.name, "keys", attempt=attempt), method="POST")
    elif step.kind == "record":
        say(response, "prompt", step.prompt)
        response.record(
            action=step_url(step.name, "recorded"),
            method="POST",
            max_length=step.max_length_s,
            timeout=step.timeout_s,
            # The emergency key also ends the recording; its action then takes the caller to the supervisor.
            finish_on_key=step.finish_on_key + (flow.emergency.key if flow.emergency else ""),
            play_beep=True,
            trim="do-not-trim",  # a silent recording is still evidence for the inspectors
            recording_status_callback=paths.RECORDING_STATUS,
            recording_status_callback_event="completed absent",
            recording_status_callback_method="POST",
        )
        # Twilio skips the action when nothing was recorded: the ticket is made all the same.
        response.redirect(step_url(step.name, "recorded"), method="POST")
    elif step.kind == "dial":
        say(response, "prompt", step.prompt)
        dial = response.dial(action=step_url(step.name, "dialled"), method="POST", timeout=step.timeout_s)
        dial.number(step.number)
    elif step.kind == "route":
        # The ticket is routed by /twilio/route once the caller's words are in (see ivr.route_calls).
        say(response, "prompt", step.prompt)
        response.redirect(paths.ROUTE, method="POST")
    else:  # say
        for n, line in enumerate(step.prompts, 1):
            say(response, f"prompts.{n}", line)
        if step.next:
            response.redirect(step_url(step.next), method="POST")
        else:
            response.hangup()
    return str(response)


def _retry_line(step: Step, wrong_key: bool) -> tuple[str, str]:
    """What is said before a menu played again, why it is played again (empty: nothing), with its field."""
    if wrong_key and step.invalid_prompt:
        return "invalid_prompt", step.invalid_prompt
    return "retry_prompt", step.retry_prompt


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
    label = flow.label_of(step, choice)
    response = VoiceResponse()
    if stop_stream:
        end_stream(response, stop_stream)
    action = step_url(step.name, "confirmed", choice=choice, attempt=attempt)
    gather = Gather(
        input="dtmf", num_digits=1, timeout=step.timeout_s, action=action, method="POST", action_on_empty_result=True
    )
    _sayer(flow, step, {"label": label}, recorded)(gather, "confirm_prompt", step.confirm_prompt)
    response.append(gather)
    response.redirect(action, method="POST")
    return str(response)


def render_hangup() -> str:
    """An empty ending: used when the call is already over (Twilio ignores it) or must end."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


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


def _sayer(
    flow: Flow, step: Step, context: dict[str, str], recorded: RecordedPrompts | None
) -> Callable[[SayParent, str, str], None]:
    """Say one of the step's prompts, named by its field (`prompt`, `intro.1`: ivr.prompt_list's ids)."""

    def say(parent: SayParent, field: str, text: str) -> None:
        if text:
            say_prompt(parent, flow.voice, Prompt(f"{step.name}.{field}", text), recorded, **context)

    return say
