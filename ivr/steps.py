"""One flow step as decisions (ivr.decisions), and what a caller's keys at a menu lead to: the engine's part of
playing a step, the same on every carrier."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivr.decisions import (
    Decision,
    Decisions,
    Digits,
    Gather,
    Hangup,
    Next,
    PromptValue,
    Record,
    Redirect,
    Say,
    StartCallRecording,
    StartStream,
    StopStream,
    To,
)
from ivr.decisions import Dial as DialDecision
from ivr.flow import Flow, Step

# Why a call goes to the supervisor out of turn (`why` of the urgent handler; stable codes, kept on the call events).
CALLER_KEY, CALLER_VOICE, URGENT_FLAG = "caller_key", "caller_voice", "urgent_flag"


def listens(step: Step, flow: Flow | None = None) -> bool:
    """Whether a step forks the caller's audio to us: menus with spoken phrases (the emergency's count), and the
    problem recording."""
    phrases = flow.spoken_options(step) if flow is not None else step.phrases
    return (step.kind == "menu" and bool(phrases)) or step.kind == "record"


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


def step_decisions(
    flow: Flow,
    step: Step,
    *,
    attempt: int = 1,
    context: Mapping[str, PromptValue] | None = None,
    listen: bool = False,
    stop_stream: str | None = None,
    wrong_key: bool = False,
    record_call: bool = False,
) -> Decisions:
    """What playing `step` (the `attempt`-th time, for menus) decides.

    `stop_stream` ends the stream of the step the call leaves; `listen` starts this step's stream (for a step
    that `listens`). `wrong_key`: the menu is played again because the caller pressed a key that is no option
    (its `invalid_prompt` then, rather than the `retry_prompt` said after silence). `record_call`: the call's
    first decisions, which start the whole-call recording.
    """
    out: list[Decision] = []
    if record_call:
        out.append(StartCallRecording())
    if stop_stream:
        out.append(StopStream(stop_stream))
    if listen and listens(step, flow):
        out.append(StartStream(step.name, step.name, "menu" if step.kind == "menu" else "transcribe"))
    say = _sayer(step, context or {})
    if step.kind == "menu":
        keys = Next.of(To.KEYS, step.name, attempt=attempt)
        if attempt == 1:
            lines = [(f"intro.{n}", line) for n, line in enumerate(step.intro, 1)]
        else:
            lines = [_retry_line(step, wrong_key)]
        prompts = [said for field, line in (*lines, ("prompt", step.prompt)) for said in say(field, line)]
        out.append(Gather(tuple(prompts), keys, timeout_s=step.timeout_s, num_digits=1, on_empty=True))
        # Should the carrier fall through the question anyway, the same handler decides.
        out.append(Redirect(keys))
    elif step.kind == "record":
        recorded = Next.of(To.RECORDED, step.name)
        out += say("prompt", step.prompt)
        # The emergency key also ends the recording; its handler then takes the caller to the supervisor.
        finish = step.finish_on_key + (flow.emergency.key if flow.emergency else "")
        out.append(Record(recorded, max_length_s=step.max_length_s, timeout_s=step.timeout_s, finish_on_key=finish))
        # Twilio skips the action when nothing was recorded: the ticket is made all the same.
        out.append(Redirect(recorded))
    elif step.kind == "dial":
        out += say("prompt", step.prompt)
        out.append(DialDecision(step.number, Next.of(To.DIALLED, step.name), timeout_s=step.timeout_s))
    elif step.kind == "route":
        # The ticket is routed once the caller's words are in (see ivr.route_calls).
        out += say("prompt", step.prompt)
        out.append(Redirect(Next.of(To.ROUTE)))
    else:  # say
        for n, line in enumerate(step.prompts, 1):
            out += say(f"prompts.{n}", line)
        out.append(Redirect(Next.of(To.STEP, step.next)) if step.next else Hangup())
    return tuple(out)


def _retry_line(step: Step, wrong_key: bool) -> tuple[str, str]:
    """What is said before a menu played again, why it is played again (empty: nothing), with its field."""
    if wrong_key and step.invalid_prompt:
        return "invalid_prompt", step.invalid_prompt
    return "retry_prompt", step.retry_prompt


def confirm_decisions(
    flow: Flow, step: Step, choice: str, attempt: int, *, stop_stream: str | None = None
) -> Decisions:
    """Ask whether a choice heard with little confidence is right: 1 confirms, anything else goes back."""
    label = flow.label_of(step, choice)
    answer = Next.of(To.CONFIRMED, step.name, choice=choice, attempt=attempt)
    out: list[Decision] = [StopStream(stop_stream)] if stop_stream else []
    prompts = _sayer(step, {"label": label})("confirm_prompt", step.confirm_prompt)
    out.append(Gather(tuple(prompts), answer, timeout_s=step.timeout_s, num_digits=1, on_empty=True))
    out.append(Redirect(answer))
    return tuple(out)


def urgent_redirect(why: str, at: str, *, stop_stream: str | None = None) -> Decisions:
    """Continue the call at the supervisor (`why` one of the codes above, `at` the step it was at), ending
    `stop_stream`."""
    stop: Decisions = (StopStream(stop_stream),) if stop_stream else ()
    return (*stop, Redirect(Next.of(To.URGENT, why=why, at=at)))


def hangup() -> Decisions:
    """End the call (also the answer when it is already over)."""
    return (Hangup(),)


def _sayer(step: Step, context: Mapping[str, PromptValue]) -> Callable[[str, str], list[Say]]:
    """Say one of the step's prompts, named by its field (`prompt`, `intro.1`: ivr.prompt_list's ids); an
    empty one says nothing."""

    def say(field: str, text: str) -> list[Say]:
        return [Say.of(f"{step.name}.{field}", text, context)] if text else []

    return say


def ticket_digits(number: str | None) -> Digits:
    """A ticket number as prompts read it out (none yet: nothing)."""
    return Digits(number or "")
