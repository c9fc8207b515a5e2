"""Every prompt the service can say, each with a stable id: what a hotline records its own voice for.

The ids, as the Asterisk edge plays them and as the recordings are named (`<prompt id>.wav` in HOTLINE_PROMPTS_DIR):

  `<step>.intro.<n>`        a menu's n-th greeting line (`menu.intro.1`), said before its first try
  `<step>.prompt`           a step's prompt (`menu.prompt`, `describe.prompt`, `operator.prompt`)
  `<step>.retry_prompt`     said before a menu is played again after silence
  `<step>.invalid_prompt`   said before a menu is played again after a key that is no option
  `<step>.confirm_prompt`   a menu's question whether a choice heard with little confidence is right
  `<step>.prompts.<n>`      a say step's n-th prompt
  `route_prompts.<key>`     a prompt of route_prompts.yaml (`route_prompts.lawyer_intro`)

A prompt with placeholders (`{ticket_digits}`, `{position}`) is played in pieces on Asterisk: the text between them is
prompt `<id>.1`, `<id>.2`, ... (speech.prompt_audio). Prompts that are only a placeholder (`{answer}`) have nothing
to record and are not listed. The satisfaction callback (survey.yaml) has prompts of its own, not listed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hotline import twilio_paths as paths
from ivr.flow import Flow, Step
from speech.prompt_audio import pieces

ROUTE_PROMPTS = "route_prompts"
RECORDED_SUFFIX = ".wav"  # what Twilio's <Play> and Asterisk both play
_PROMPT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # flow step names and YAML keys; never a path


@dataclass(frozen=True)
class Prompt:
    """One prompt: its stable id and its text (placeholders left in)."""

    id: str
    text: str

    @property
    def has_placeholders(self) -> bool:
        """Whether the text is filled in per call (a ticket number, a queue position)."""
        return any(piece.field is not None for piece in pieces(self.text))


def step_prompts(step: Step) -> list[Prompt]:
    """The prompts of one flow step, by the fields its kind says."""
    found: list[tuple[str, str]] = []
    if step.kind == "menu":
        found += [(f"intro.{n}", text) for n, text in enumerate(step.intro, 1)]
        found += [("prompt", step.prompt), ("retry_prompt", step.retry_prompt)]
        found += [("invalid_prompt", step.invalid_prompt), ("confirm_prompt", step.confirm_prompt)]
    elif step.kind == "say":
        found += [(f"prompts.{n}", text) for n, text in enumerate(step.prompts, 1)]
    else:  # record, dial, route
        found.append(("prompt", step.prompt))
    return [Prompt(f"{step.name}.{field}", text) for field, text in found if _has_words(text)]


def route_prompts(prompts: Mapping[str, object]) -> list[Prompt]:
    """The prompts of route_prompts.yaml as loaded (`ivr.route_calls.load_route_prompts`); its numbers left out."""
    return [
        Prompt(f"{ROUTE_PROMPTS}.{key}", value)
        for key, value in prompts.items()
        if isinstance(value, str) and _has_words(value)
    ]


def all_prompts(flow: Flow, routed: Mapping[str, object]) -> list[Prompt]:
    """Every prompt of the call flow and of routing, in the order a caller meets them in the files."""
    listed = [prompt for step in flow.steps.values() for prompt in step_prompts(step)]
    return listed + route_prompts(routed)


def _has_words(text: str) -> bool:
    return any(piece.field is None for piece in pieces(text))


def is_prompt_id(text: str) -> bool:
    """Whether `text` could be a prompt id (letters, digits, `_`, `.`, `-`; no path)."""
    return bool(_PROMPT_ID.match(text)) and ".." not in text


def recorded_file(folder: Path, prompt_id: str) -> Path | None:
    """The hotline's recording of a prompt (`<prompt id>.wav` in `folder`), if there is one."""
    if not is_prompt_id(prompt_id):
        return None
    path = folder / f"{prompt_id}{RECORDED_SUFFIX}"
    return path if path.is_file() else None


@dataclass(frozen=True)
class RecordedPrompts:
    """The recorded prompts as Twilio fetches them for `<Play>`: from `folder`, at `base_url` (our public URL)."""

    folder: Path
    base_url: str

    def url_of(self, prompt_id: str) -> str | None:
        """The absolute URL Twilio plays a prompt's recording from; None when it has no recording."""
        if recorded_file(self.folder, prompt_id) is None:
            return None
        return self.base_url.rstrip("/") + paths.path_for(paths.PROMPT, prompt_id=prompt_id)
