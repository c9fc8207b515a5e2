"""The data files a hotline edits (YAML, TSV), read and checked against a pydantic model of the file.

Whatever is wrong becomes one `DataFileError` in one format, naming the file, the key path and what to fix:

    routing/data/roster.yaml: weekly.mon: names L99, who is not in `lawyers`
    ivr/flows/survey.yaml: retries[2].tomorrow: not a key here; the keys are after_minutes, next_working_day_at

A key path is the keys from the top of the file joined by dots; in a list, `[L03]` is the entry with the id
L03 and `[3]` the third entry (when it has no id).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import time
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import ErrorDetails

MAX_PROBLEMS = 5  # more than this in one message is noise: fix these and load again


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a data file: where (a key path such as `steps.menu.options.3.next`) and what."""

    key: str
    what: str


class DataFileError(ValueError):
    """A data file cannot be used; the message names the file, the key and what to fix."""

    def __init__(self, message: str, file: str = "", problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.file = file
        self.problems = tuple(problems)

    @classmethod
    def about(cls, file: str, problems: Sequence[Problem]) -> DataFileError:
        """The error for `problems` in `file`, in the one message format."""
        return cls(describe(file, problems), file, problems)


def describe(file: str, problems: Sequence[Problem]) -> str:
    """`file: key: what; key: what` (the first few problems, and how many more)."""
    parts = [f"{p.key or '(top of the file)'}: {p.what}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        parts.append(f"and {len(problems) - MAX_PROBLEMS} more")
    return f"{file}: {'; '.join(parts)}"


class Wrong(ValueError):
    """Raised in a model's validator: `what` is wrong at `key`, a path below the value being checked."""

    def __init__(self, what: str, *key: str | int) -> None:
        super().__init__(what)
        self.what = what
        self.key = key


class DataModel(BaseModel):
    """A mapping in a data file: unknown keys are refused by name, an empty key means its default."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {f.alias or name: f for name, f in cls.model_fields.items()}
        unknown = [str(k) for k in data if k not in names]
        if unknown:
            also = f" (also {', '.join(unknown[1:])})" if unknown[1:] else ""
            raise Wrong(f"not a key here{also}; the keys are {', '.join(names)}", unknown[0])
        # `key:` with nothing after it (None) means "as usual" wherever the key has a default.
        return {k: v for k, v in data.items() if v is not None or names[k].is_required()}


def _clock(value: object, *, midnight: bool = False) -> object:
    if isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML reads 10:00 without quotes as the number 600
        raise ValueError(  # noqa: TRY004 - pydantic turns only ValueError into a validation error
            f'a time of day is written in quotes, like "09:00", not {value!r}'
        )
    try:
        hours, minutes = str(value).split(":")
        if midnight and (int(hours), int(minutes)) == (24, 0):
            return time.max
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f'must be a time of day like "09:00", not {value!r}') from None


Clock = Annotated[time, BeforeValidator(_clock)]
"""A time of day written "HH:MM"."""
ClockOrMidnight = Annotated[time, BeforeValidator(lambda v: _clock(v, midnight=True))]
"""A time of day written "HH:MM", where "24:00" is the end of the day."""


def fillable(*names: str) -> AfterValidator:
    """For text said to callers: its {placeholders} are only `names` (any other would fail the call saying it)."""

    def only_known(text: str) -> str:
        try:
            found = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
        except ValueError as exc:  # a lone { or }
            raise ValueError(f"{exc}: write {{{{ or }}}} for a brace the caller hears") from None
        unknown = [name for name in found if name not in names]
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in names) or "none"
            raise ValueError(f"{{{unknown[0]}}} is no placeholder here; the placeholders here are {known}")
        return text

    return AfterValidator(only_known)


M = TypeVar("M", bound=BaseModel)


def check(model: type[M], data: object, file: str, error: type[DataFileError] = DataFileError) -> M:
    """`data` (parsed from `file`) as a `model`, or `error` naming each key that is wrong."""
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise error.about(file, [_problem(e, data) for e in _real(exc.errors())]) from exc


def load_yaml(
    model: type[M], path: Path | None, shipped: tuple[str, str], error: type[DataFileError] = DataFileError
) -> M:
    """The YAML file at `path` (the shipped `(package, name)` when None), checked against `model`."""
    file, data = read_yaml(path, shipped, error)
    return check(model, data, file, error)


def read_yaml(
    path: Path | None, shipped: tuple[str, str], error: type[DataFileError] = DataFileError
) -> tuple[str, object]:
    """(the file's name for messages, its parsed YAML), not yet checked: for a file laid over another first."""
    file, text = read_text(path, shipped, error)
    try:
        return file, yaml.load(text, Loader=_KeysOnce)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date that is no date, such as 2026-13-01
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(top of the file)"
        what = f"not valid YAML: {getattr(exc, 'problem', None) or exc} (check indentation, colons and quotes)"
        if isinstance(exc, _KeyTwice):
            what = str(exc.problem)
        raise error.about(file, [Problem(where, what)]) from exc


class _KeyTwice(yaml.constructor.ConstructorError):
    """A key written twice in one mapping."""


class _KeysOnce(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping, where YAML would keep the last unsaid.

    Keys are compared as text, as the models read them: `1:` and `"1":` are the same key.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        first: dict[str, int] = {}  # key -> the line it is first on
        for key_node, _ in node.value:
            key = str(self.construct_object(key_node, deep=deep))
            if key in first:
                what = f"the key {key} is written twice here (first on line {first[key] + 1}): keep one"
                raise _KeyTwice(None, None, what, key_node.start_mark)
            first[key] = key_node.start_mark.line
        return mapping


def load_tsv(
    model: type[M], path: Path | None, shipped: tuple[str, str], error: type[DataFileError] = DataFileError
) -> list[M]:
    """The rows of a TSV file with a header line, each checked against `model`; a key is `line N.column`."""
    file, text = read_text(path, shipped, error)
    rows, problems = [], []
    for line, row in enumerate(csv.DictReader(io.StringIO(text), delimiter="\t"), 2):
        try:
            rows.append(model.model_validate(row))
        except ValidationError as exc:
            for found in (_problem(e, row) for e in _real(exc.errors())):
                problems.append(Problem(f"line {line}.{found.key}", found.what))
    if problems:
        raise error.about(file, problems)
    return rows


def read_text(path: Path | None, shipped: tuple[str, str], error: type[DataFileError]) -> tuple[str, str]:
    """(the file's name for messages, its text); an unreadable file is an `error` too."""
    package, name = shipped
    file = str(path) if path else f"{package.replace('.', '/')}/{name}"
    try:
        if path:
            return file, Path(path).read_text(encoding="utf-8")
        return file, resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error.about(file, [Problem("", f"cannot be read: {exc}")]) from exc


# ----- pydantic's errors in a hotline editor's words ----------------------------------------------------------


def _real(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Without pydantic's echo of a bad entry: "too short" for a list long enough but for that entry."""
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and isinstance(e.get("input"), (list, tuple))
            and len(e["input"]) >= (e.get("ctx") or {}).get("min_length", 0)
        )
    ]


def _problem(error: ErrorDetails, data: object) -> Problem:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    found = (error.get("ctx") or {}).get("error")
    if isinstance(found, Wrong):
        loc += found.key
    return Problem(_key(loc, data), _what(error, found))


def _key(loc: Sequence[str | int], data: object) -> str:
    """The key path of pydantic's `loc` in the file's words, walking the parsed `data` to name list entries."""
    key = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself", not a key of the file
            continue
        if isinstance(part, int):
            entry = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
            ident = entry.get("id") if isinstance(entry, dict) else None
            key += f"[{ident}]" if isinstance(ident, (str, int)) and str(ident) else f"[{part + 1}]"
            data = entry
        else:
            key += f".{part}" if key else str(part)
            data = data.get(part) if isinstance(data, dict) else None
    return key


def _plain(number: object) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _what(error: ErrorDetails, found: object) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if found is not None:
        return str(found.what if isinstance(found, Wrong) else found)
    wording = {
        "missing": "missing: add it",
        "int_type": f"must be a whole number, not {_shown(value)}",
        "int_parsing": f"must be a whole number, not {_shown(value)}",
        "int_from_float": f"must be a whole number, not {_shown(value)}",
        "float_type": f"must be a number, not {_shown(value)}",
        "float_parsing": f"must be a number, not {_shown(value)}",
        "string_type": f"must be text, not {_shown(value)}",
        "bool_type": f"must be true or false, not {_shown(value)}",
        "bool_parsing": f"must be true or false, not {_shown(value)}",
        "date_type": f"must be a date like 2026-10-01, not {_shown(value)}",
        "date_from_datetime_parsing": f"must be a date like 2026-10-01, not {_shown(value)}",
        "date_parsing": f"must be a date like 2026-10-01, not {_shown(value)}",
        "dict_type": f"must be a mapping (key: value lines), not {_shown(value)}",
        "model_type": f"must be a mapping (key: value lines), not {_shown(value)}",
        "list_type": f"must be a list ([a, b] or lines starting with -), not {_shown(value)}",
        "tuple_type": f"must be a list ([a, b] or lines starting with -), not {_shown(value)}",
        "literal_error": f"must be {ctx.get('expected')}, not {_shown(value)}",
        "greater_than": f"must be more than {_plain(ctx.get('gt'))}, not {_shown(value)}",
        "greater_than_equal": f"must be at least {_plain(ctx.get('ge'))}, not {_shown(value)}",
        "less_than": f"must be less than {_plain(ctx.get('lt'))}, not {_shown(value)}",
        "less_than_equal": f"must be at most {_plain(ctx.get('le'))}, not {_shown(value)}",
        "too_short": f"needs at least {ctx.get('min_length')} entry(ies)",
        "string_too_short": "must not be empty",
    }
    return wording.get(kind, str(error["msg"]))
