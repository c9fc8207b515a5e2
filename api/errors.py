"""Answers for requests the API cannot take: a 422 that says what to fix, whatever the input was."""

from __future__ import annotations

import math

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _printable(value):
    """The value as JSON can carry it: NaN and infinities as text, bytes decoded, anything else as its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(key): _printable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 (each error with where and why), but never a 500 because the input was NaN or bad bytes."""
    return JSONResponse(status_code=422, content={"detail": _printable(exc.errors())})


class Refusal(HTTPException):
    """A request refused with a message a person reads (Chinese) and a stable code scripts read: the answer is
    `{"detail": "…", "code": "…"}`."""

    def __init__(self, status_code: int, detail: str, code: str) -> None:
        super().__init__(status_code, detail)
        self.code = code


async def refused(_request: Request, exc: Refusal) -> JSONResponse:
    """The answer to a Refusal: its words and its code."""
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail, "code": exc.code})
