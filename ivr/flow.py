"""The call flow as data: steps loaded from YAML, checked on load, looked up by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from hotline.data_files import DataFileError, DataModel, Wrong, check, fillable, load_yaml

StepKind = Literal["menu", "record", "dial", "say", "route"]
SEAT_GROUPS = ("operators",)  # a dial step's `seats:`: whose own phones it rings before its `number`
EMERGENCY = "emergency"  # the choice code of the caller's own emergency (a key or a phrase, at any step)


class FlowError(DataFileError):
    """The flow file is not usable, or names no such step; the message says where and why."""


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
PHONE_KEYS = "0123456789*#"


def load_flow(path: Path | None = None) -> Flow:
    """Read and check a flow file; the shipped default when `path` is None."""
    return load_yaml(FlowFile, path, ("ivr.flows", DEFAULT_FLOW), FlowError).flow()


def parse_flow(data: object, where: str = "flow") -> Flow:
    """Build a Flow from parsed YAML (`where` names it in errors), refusing unknown kinds and dangling references."""
    return check(FlowFile, data, where, FlowError).flow()


# ----- the flow file as written --------------------------------------------------------------------------------


def _phone_key(value: str) -> str:
    if len(value) != 1 or value not in PHONE_KEYS:
        raise ValueError(f"a key is one of 0-9, * or # (in quotes), not {value!r}")
    return value


def _phrase(value: str) -> str:
    words = " ".join(value.split())
    if not words:
        raise ValueError("must be a word or phrase the caller may say, not empty")
    return words


PhoneKey = Annotated[str, AfterValidator(_phone_key)]
"""One key of the phone's keypad, "0"-"9", "*" or "#"."""
Phrases = tuple[Annotated[str, AfterValidator(_phrase)], ...]
"""Words or phrases a caller may say (spaces between words kept single)."""


class _Option(DataModel):
    choice: Annotated[str, Field(min_length=1)]
    label: str | None = None  # the choice's code when not given
    next: str
    phrases: Phrases = ()


Said = Annotated[str, fillable("ticket_digits")]
"""What a step says: the call's ticket number, read out, is the one placeholder (ivr.call.play)."""


class _Step(DataModel):
    kind: StepKind
    prompts: tuple[Said, ...] = ()
    prompt: Said = ""
    intro: tuple[Said, ...] = ()
    retry_prompt: Said = ""
    invalid_prompt: Said = ""
    timeout_s: Annotated[int, Field(ge=1)] = Step.timeout_s
    retries: Annotated[int, Field(ge=0)] = Step.retries
    on_fail: str | None = None
    options: dict[PhoneKey, _Option] = Field(default_factory=dict)
    max_length_s: Annotated[int, Field(ge=1)] = Step.max_length_s
    finish_on_key: str = Step.finish_on_key
    number: str = ""
    seats: str | None = None
    next: str | None = None
    confirm_prompt: Annotated[str, fillable("label")] = Step.confirm_prompt

    @model_validator(mode="after")
    def _fits_its_kind(self) -> _Step:
        if self.kind == "menu" and not self.options:
            raise Wrong('a menu step needs options, e.g. "1": {choice: legal, next: describe}', "options")
        if self.kind == "dial" and not self.number:
            raise Wrong('a dial step needs the number it rings, e.g. "+8612351000"', "number")
        if self.seats is not None and (self.kind != "dial" or self.seats not in SEAT_GROUPS):
            raise Wrong(f"only a dial step may have seats, one of: {', '.join(SEAT_GROUPS)}", "seats")
        said: dict[str, str] = {}  # phrase -> the choice it makes
        for key, option in self.options.items():
            for phrase in option.phrases:
                if said.setdefault(phrase, option.choice) != option.choice:
                    raise Wrong(
                        f"the phrase {phrase!r} is given for both {said[phrase]!r} and {option.choice!r}",
                        "options",
                        key,
                        "phrases",
                    )
        return self

    def step(self, name: str) -> Step:
        options = {
            key: MenuOption(key, o.choice, o.choice if o.label is None else o.label, o.next, o.phrases)
            for key, o in self.options.items()
        }
        fields = self.model_dump(exclude={"options"})
        return Step(name=name, options=options, **fields)


class _Voice(DataModel):
    language: str = Voice.language
    voice: str | None = None


class _Emergency(DataModel):
    key: PhoneKey
    label: str = EMERGENCY
    phrases: Phrases = ()


class FlowFile(DataModel):
    """The call flow file (ivr/flows/default.yaml) as written."""

    voice: _Voice = _Voice()
    start: str
    emergency: _Emergency | None = None
    steps: Annotated[dict[str, _Step], Field(min_length=1)]

    @model_validator(mode="after")
    def _references_name_steps(self) -> FlowFile:
        steps = ", ".join(self.steps)
        if self.start not in self.steps:
            raise Wrong(f"names no step: {self.start!r}; the steps are {steps}", "start")
        for name, step in self.steps.items():
            targets: list[tuple[str | None, tuple[str, ...]]] = [(step.next, ("next",)), (step.on_fail, ("on_fail",))]
            targets += [(o.next, ("options", key, "next")) for key, o in step.options.items()]
            for target, where in targets:
                if target is not None and target not in self.steps:
                    raise Wrong(f"{target!r} is not a step; the steps are {steps}", "steps", name, *where)
        if self.emergency is not None:
            self._emergency_means_nothing_else(self.emergency)
        return self

    def _emergency_means_nothing_else(self, emergency: _Emergency) -> None:
        """The emergency key and phrases must mean nothing else anywhere in the flow."""
        for name, step in self.steps.items():
            if emergency.key in step.options:
                raise Wrong(
                    f"{emergency.key!r} is also option {emergency.key!r} of step {name!r}: choose a key no step uses",
                    "emergency",
                    "key",
                )
            if step.kind == "record" and emergency.key in step.finish_on_key:
                raise Wrong(
                    f"{emergency.key!r} also ends the recording of step {name!r} (its finish_on_key)",
                    "emergency",
                    "key",
                )
            for option in step.options.values():
                shared = set(option.phrases) & set(emergency.phrases)
                if shared:
                    raise Wrong(
                        f"the phrase {min(shared)!r} is given for both {option.choice!r} and the emergency "
                        f"(step {name!r})",
                        "emergency",
                        "phrases",
                    )

    def flow(self) -> Flow:
        """The call flow this file describes."""
        emergency = self.emergency
        return Flow(
            start=self.start,
            voice=Voice(self.voice.language, self.voice.voice),
            steps={name: step.step(name) for name, step in self.steps.items()},
            emergency=None if emergency is None else Emergency(emergency.key, emergency.label, emergency.phrases),
        )
