"""The call flow as data: steps loaded from YAML, checked on load, looked up by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

StepKind = Literal["menu", "record", "dial", "say", "route"]
SEAT_GROUPS = ("operators",)  # a dial step's `seats:`: whose own phones it rings before its `number`
EMERGENCY = "emergency"  # the choice code of the caller's own emergency (a key or a phrase, at any step)


class FlowError(ValueError):
    """The flow file is not usable; the message says where and why."""


@dataclass(frozen=True)
class MenuOption:
    """What pressing one key means."""

    key: str
    choice: str
    label: str
    next: str
    phrases: tuple[str, ...] = ()  # spoken synonyms ("法律咨询", "律师") for voice navigation


@dataclass(frozen=True)
class Step:
    """One step of the call; which fields matter depends on `kind`."""

    name: str
    kind: StepKind
    prompts: tuple[str, ...] = ()
    prompt: str = ""
    intro: tuple[str, ...] = ()
    retry_prompt: str = ""  # said before the menu again after silence (and after a wrong key, if no invalid_prompt)
    invalid_prompt: str = ""  # said before the menu again after a key that is no option
    timeout_s: int = 6
    retries: int = 1
    on_fail: str | None = None
    options: dict[str, MenuOption] = field(default_factory=dict)
    max_length_s: int = 180
    finish_on_key: str = "#"
    number: str = ""
    seats: str | None = None  # "operators": ring the free operator idle longest, `number` when none is free
    next: str | None = None
    confirm_prompt: str = "您是要{label}吗？确认请按1，重新选择请按2。"

    @property
    def phrases(self) -> dict[str, tuple[str, ...]]:
        """Spoken synonyms by choice, for the menu's speech grammar (empty: keys only)."""
        return {o.choice: o.phrases for o in self.options.values() if o.phrases}

    def option_for(self, choice: str) -> MenuOption | None:
        """The option that makes `choice`."""
        return next((o for o in self.options.values() if o.choice == choice), None)


@dataclass(frozen=True)
class Emergency:
    """The caller's own emergency: a key and spoken phrases heard at every step, that take the call to a supervisor."""

    key: str
    label: str
    phrases: tuple[str, ...] = ()

    def pressed(self, digits: str | None) -> bool:
        """True when the keys a step collected hold the emergency key (one key, or a number being typed)."""
        if not digits:
            return False
        return self.key in digits

    def said_in(self, text: str) -> str | None:
        """The emergency phrase in free speech (spaces ignored), unless negated (不紧急, 没有危险); else None."""
        squashed = "".join(text.split())
        for phrase in self.phrases:
            key = "".join(phrase.split())
            start = squashed.find(key)
            while start >= 0:
                if not _negated(squashed, start):
                    return phrase
                start = squashed.find(key, start + 1)
        return None


_NEGATIONS = ("不", "没", "无", "别", "没有", "并不", "不是")


def _negated(text: str, start: int) -> bool:
    return any(text[:start].endswith(n) for n in _NEGATIONS)


@dataclass(frozen=True)
class Voice:
    """How `<Say>` speaks."""

    language: str = "zh-CN"
    voice: str | None = None


@dataclass(frozen=True)
class Flow:
    """A whole call flow: where it starts, how it speaks, and its steps."""

    start: str
    voice: Voice
    steps: dict[str, Step]
    emergency: Emergency | None = None

    def spoken_options(self, step: Step) -> dict[str, tuple[str, ...]]:
        """What a caller may say at a menu, by choice: its options' phrases and the emergency phrases."""
        options = dict(step.phrases)
        if self.emergency is not None and self.emergency.phrases:
            options[EMERGENCY] = self.emergency.phrases
        return options

    def label_of(self, step: Step, choice: str) -> str:
        """The words for a choice of a step (for the confirmation question)."""
        if choice == EMERGENCY and self.emergency is not None:
            return self.emergency.label
        option = step.option_for(choice)
        return option.label if option else choice

    def step(self, name: str) -> Step:
        try:
            return self.steps[name]
        except KeyError:
            raise FlowError(f"the flow has no step {name!r}") from None

    def step_of_kind(self, kind: StepKind) -> Step:
        """The first step of a kind (the record step, say), for handlers that need one."""
        for step in self.steps.values():
            if step.kind == kind:
                return step
        raise FlowError(f"the flow has no {kind!r} step")


DEFAULT_FLOW = "default.yaml"


def load_flow(path: Path | None = None) -> Flow:
    """Read and check a flow file; the shipped default when `path` is None."""
    if path is None:
        text = resources.files("ivr.flows").joinpath(DEFAULT_FLOW).read_text(encoding="utf-8")
        where = f"ivr/flows/{DEFAULT_FLOW}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise FlowError(f"cannot read the flow file {path}: {exc.strerror}") from exc
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FlowError(f"{where} is not valid YAML: {exc}") from exc
    return parse_flow(data, where)


def parse_flow(data: object, where: str = "flow") -> Flow:
    """Build a Flow from parsed YAML, refusing unknown kinds and dangling references."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        raise FlowError(f"{where}: expected a mapping with a `steps:` section")
    voice_data = data.get("voice") or {}
    voice = Voice(language=str(voice_data.get("language", "zh-CN")), voice=voice_data.get("voice"))
    steps = {name: _parse_step(str(name), raw, where) for name, raw in data["steps"].items()}
    emergency = _parse_emergency(data.get("emergency"), steps, where)
    flow = Flow(start=str(data.get("start", "")), voice=voice, steps=steps, emergency=emergency)
    _check_references(flow, where)
    return flow


def _parse_emergency(raw: object, steps: dict[str, Step], where: str) -> Emergency | None:
    """The `emergency:` section; its key and phrases must mean nothing else anywhere in the flow."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or "key" not in raw:
        raise FlowError(f"{where}: `emergency` needs a `key` (and `label`, `phrases`)")
    key = str(raw["key"])
    if key not in "0123456789*#" or len(key) != 1:
        raise FlowError(f"{where}: the emergency key {key!r} must be one phone key")
    emergency = Emergency(key, str(raw.get("label", EMERGENCY)), _phrases(raw.get("phrases"), f"{where}: emergency"))
    for step in steps.values():
        if key in step.options:
            raise FlowError(
                f"{where}: the emergency key {key!r} is also option {key!r} of step {step.name!r}: "
                "choose a key no step uses"
            )
        if step.kind == "record" and key in step.finish_on_key:
            raise FlowError(f"{where}: the emergency key {key!r} also ends the recording of step {step.name!r}")
        for option in step.options.values():
            shared = set(option.phrases) & set(emergency.phrases)
            if shared:
                raise FlowError(
                    f"{where}: step {step.name!r}: the phrase {min(shared)!r} is given for both "
                    f"{option.choice!r} and the emergency"
                )
    return emergency


def _parse_step(name: str, raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise FlowError(f"{where}: step {name!r} must be a mapping")
    kind = raw.get("kind")
    if kind not in ("menu", "record", "dial", "say", "route"):
        raise FlowError(f"{where}: step {name!r} has kind {kind!r}; use menu, record, dial, say or route")
    options = {}
    for raw_key, opt in (raw.get("options") or {}).items():
        key = str(raw_key)
        if key not in "0123456789*#" or len(key) != 1:
            raise FlowError(f"{where}: step {name!r} option {key!r} must be one phone key")
        if not isinstance(opt, dict) or "choice" not in opt or "next" not in opt:
            raise FlowError(f"{where}: step {name!r} option {key!r} needs `choice` and `next`")
        options[key] = MenuOption(
            key,
            str(opt["choice"]),
            str(opt.get("label", opt["choice"])),
            str(opt["next"]),
            _phrases(opt.get("phrases"), f"{where}: step {name!r} option {key!r}"),
        )
    _check_phrases(name, options, where)
    fields = {
        k: raw[k]
        for k in (
            "prompt",
            "retry_prompt",
            "invalid_prompt",
            "timeout_s",
            "retries",
            "on_fail",
            "max_length_s",
            "finish_on_key",
            "number",
            "seats",
            "next",
            "confirm_prompt",
        )
        if k in raw
    }
    return Step(
        name=name,
        kind=kind,
        prompts=tuple(raw.get("prompts") or ()),
        intro=tuple(raw.get("intro") or ()),
        options=options,
        **fields,
    )


def _phrases(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise FlowError(f"{where}: `phrases` must be a list of words or phrases the caller may say")
    return tuple(" ".join(p.split()) for p in raw)


def _check_phrases(name: str, options: dict[str, MenuOption], where: str) -> None:
    seen: dict[str, str] = {}
    for option in options.values():
        for phrase in option.phrases:
            if seen.get(phrase, option.choice) != option.choice:
                raise FlowError(
                    f"{where}: step {name!r}: the phrase {phrase!r} is given for both "
                    f"{seen[phrase]!r} and {option.choice!r}"
                )
            seen[phrase] = option.choice


def _check_references(flow: Flow, where: str) -> None:
    if flow.start not in flow.steps:
        raise FlowError(f"{where}: `start: {flow.start}` names no step")
    for step in flow.steps.values():
        targets = [step.next, step.on_fail, *(o.next for o in step.options.values())]
        for target in targets:
            if target is not None and target not in flow.steps:
                raise FlowError(f"{where}: step {step.name!r} leads to {target!r}, which is not a step")
        if step.kind == "menu" and not step.options:
            raise FlowError(f"{where}: menu step {step.name!r} has no options")
        if step.kind == "dial" and not step.number:
            raise FlowError(f"{where}: dial step {step.name!r} needs a `number`")
        if step.seats is not None and (step.kind != "dial" or step.seats not in SEAT_GROUPS):
            raise FlowError(
                f"{where}: step {step.name!r} has `seats: {step.seats}`; only a dial step may have "
                f"seats, one of: {', '.join(SEAT_GROUPS)}"
            )
