"""The ground of every response model: the field kinds that recur (UTC times, codes, Chinese labels)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """A JSON answer of the API; keys it does not declare still pass through unchanged (never dropped), and the
    tests check that every key a real answer has is declared."""

    model_config = ConfigDict(extra="allow")


# A moment, as JSON keeps it: UTC, ISO 8601 with its offset (pages show the hotline's local time).
UtcTime = Annotated[str, Field(description="UTC, ISO 8601 with offset, e.g. 2026-11-24T02:15:00+00:00")]
# A local day of the hotline (Asia/Shanghai).
LocalDay = Annotated[str, Field(description="a local day (the hotline's time zone), YYYY-MM-DD")]
# A whole or fractional number exactly as stored (JSON points such as 5 stay 5, never 5.0).
Number = int | float


def code(what: str) -> str:
    """The description of a stable code field (scripts compare it; a `*_label` beside it, if any, is for people)."""
    return f"{what}: a stable code for scripts, not words for people"


def label(what: str) -> str:
    """The description of a Chinese label field."""
    return f"{what}, in the Chinese words staff read (from the hotline's data files)"
