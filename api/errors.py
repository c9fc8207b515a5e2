"""Answers for requests the API cannot take: a 422 that says what to fix, whatever the input was."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


# What a field is, in the words of the form a person filled in; a field not listed is "某一项".
FIELD_LABELS = {
    "summary": "来电人反映的问题",
    "subject": "事项",
    "kind": "性质（咨询或求助）",
    "urgency_flags": "紧急标记",
    "note": "备注",
    "text": "内容",
    "reason": "原因",
    "message": "反馈内容",
    "rectification": "整改情况",
    "items": "评分项",
    "comments": "评语",
    "at_s": "评语的时刻",
    "channel": "声道",
    "stage": "提交类型",
    "to": "目标状态",
    "actor": "经办人",
    "recovered_amount": "追回金额",
    "working_days": "延期工作日",
    "into": "合并到的工单号",
    "union_id": "工会",
    "lawyer_id": "律师座席",
    "reached": "是否接通",
    "day": "日期",
    "date": "日期",
    "start": "开始日期",
    "end": "结束日期",
    "weeks": "周数",
    "format": "格式",
    "deadline": "期限筛选",
    "username": "用户名",
    "password": "密码",
    "sample_id": "抽样编号",
    "alert_id": "提醒编号",
    "case_id": "案件编号",
    "feedback_id": "反馈编号",
    "survey_id": "回访编号",
}


def _problem(error: dict[str, Any]) -> str:
    """What is wrong with one value, in Chinese, from pydantic's error type and its limits."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "missing":
        return "未填写"
    if kind in ("string_too_long", "too_long"):
        unit = "个字" if kind.startswith("string") else "项"
        return f"太长：最多 {ctx.get('max_length', '?')} {unit}"
    if kind in ("string_too_short", "too_short"):
        unit = "个字" if kind.startswith("string") else "项"
        return f"太短：至少 {ctx.get('min_length', '?')} {unit}"
    bounds = {
        "greater_than_equal": ("不能小于", "ge"),
        "less_than_equal": ("不能大于", "le"),
        "greater_than": ("须大于", "gt"),
        "less_than": ("须小于", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {ctx.get(key, '?')}"
    if kind.startswith("int_"):
        return "须是整数"
    if kind.startswith(("float_", "finite_number", "decimal_")):
        return "须是数字"
    if kind.startswith("bool_"):
        return "须是“是”或“否”"
    if kind.startswith(("date_", "datetime_")):
        return "须是日期，如 2026-12-07"
    if kind in ("literal_error", "enum"):
        return "不是可选的值"
    if kind == "extra_forbidden":
        return "不是可以填写的项"
    if kind == "string_type":
        return "须是文字"
    return "格式不对"


def _where(error: dict[str, Any]) -> str:
    """The field a person filled in (the innermost named part of the error's location)."""
    names = [part for part in error.get("loc", ()) if isinstance(part, str) and part not in ("body", "query", "path")]
    return FIELD_LABELS.get(names[-1], "某一项") if names else "请求内容"


def validation_message(errors: Sequence[dict[str, Any]]) -> str:
    """The errors of one request as one Chinese sentence (the first three; the rest counted)."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "请求内容格式不对（须是 JSON）：请检查后重新提交"
    parts = list(dict.fromkeys(f"{_where(e)}{_problem(e)}" for e in errors))
    more = f"等 {len(parts)} 处" if len(parts) > 3 else ""
    return f"填写的内容有误：{'；'.join(parts[:3])}{more}。请改正后重新提交"


async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 422 whose `detail` says in Chinese what to fix (what the consoles show), with FastAPI's own list of
    errors (where and why, for scripts) under `errors`; never a 500 because the input was NaN or bad bytes."""
    errors = list(exc.errors())
    return JSONResponse(
        status_code=422,
        content={"detail": validation_message(errors), "code": "invalid_request", "errors": _printable(errors)},
    )


class Refusal(HTTPException):
    """A request refused with a message a person reads (Chinese) and a stable code scripts read: the answer is
    `{"detail": "…", "code": "…"}`."""

    def __init__(self, status_code: int, detail: str, code: str) -> None:
        super().__init__(status_code, detail)
        self.code = code


async def refused(_request: Request, exc: Refusal) -> JSONResponse:
    """The answer to a Refusal: its words and its code."""
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail, "code": exc.code})
