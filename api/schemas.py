"""Request bodies of the REST API; validation errors come back as 422 with what to fix."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from routing.lifecycle import STATES


class TransitionIn(BaseModel):
    """Move a ticket along the closed loop."""

    to: str = Field(max_length=32, description=f"one of: {', '.join(STATES)}", examples=["dispatched"])
    actor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        examples=["union:xa-yanta"],
        description="who acted, when not the signed-in user (a union reporting back)",
    )
    note: str = Field("", max_length=2000)
    recovered_amount: float | None = Field(
        None, ge=0, le=1e12, allow_inf_nan=False, description="money recovered for the workers, in yuan"
    )


class ExtensionIn(BaseModel):
    """Push the reply deadline back (延期)."""

    working_days: int = Field(ge=1, le=30)
    actor: str | None = Field(None, min_length=1, max_length=64, description="default: the signed-in user")
    reason: str = Field(min_length=2, max_length=2000)


class MergeIn(BaseModel):
    """Handle this ticket together with another one, as one case."""

    into: str = Field(max_length=64, description="the other ticket's number", examples=["12351-20261124-0001"])
    actor: str | None = Field(None, min_length=1, max_length=64, description="default: the signed-in user")
    note: str = Field("", max_length=2000)


class DispatchIn(BaseModel):
    """A dispatcher sends the ticket to a local union."""

    union_id: str = Field(max_length=64, examples=["xa-yanta"])
    actor: str | None = Field(None, min_length=1, max_length=64, description="default: the signed-in user")
    note: str = Field("", max_length=2000)


class TakeIn(BaseModel):
    """A free lawyer takes the next caller from the queue."""

    lawyer_id: str | None = Field(
        None, max_length=32, examples=["L01"], description="default: the signed-in lawyer's seat"
    )


class CorrectionIn(BaseModel):
    """A person corrects what the machine understood: any of subject, kind, urgency flags (omitted: unchanged)."""

    subject: str | None = Field(None, max_length=32, examples=["work_injury"], description="a taxonomy subject code")
    kind: str | None = Field(None, max_length=16, examples=["help"], description="consult (咨询) or help (求助)")
    urgency_flags: list[Annotated[str, Field(max_length=16)]] | None = Field(
        None,
        max_length=10,
        examples=[["danger"]],
        description="the full set of 1155 flags: danger, mass, repeat, large, hidden",
    )
    note: str = Field("", max_length=2000)


class ReviewConfirmationIn(BaseModel):
    """A person checked a ticket marked for review and found the machine right."""

    note: str = Field("", max_length=2000)


class CompletionIn(BaseModel):
    """A person completes a ticket marked for a person: what the caller said and what it is (then it is routed)."""

    summary: str = Field(
        min_length=1,
        max_length=4000,
        examples=["我在雁塔区小寨一家饭店打工，老板两个月没发工资"],
        description="来电人反映的问题",
    )
    subject: str = Field(max_length=32, examples=["wage_arrears"], description="a taxonomy subject code")
    kind: str = Field(max_length=16, examples=["help"], description="consult (咨询) or help (求助)")
    urgency_flags: list[Annotated[str, Field(max_length=16)]] = Field(
        default_factory=list,
        max_length=10,
        examples=[[]],
        description="1155 flags: danger, mass, repeat, large, hidden",
    )
    note: str = Field("", max_length=2000)


class CallbackAttemptIn(BaseModel):
    """A lawyer called the caller back: reached or not, and what happened."""

    reached: bool = Field(
        description="true: the caller answered (已接通); false: no answer, busy, switched off (未接通)"
    )
    note: str = Field("", max_length=2000, examples=["无人接听，明天上午再打"])


class CallbackReplyIn(BaseModel):
    """The lawyer's reply to the caller: closes the callback (the ticket is replied to)."""

    text: str = Field(min_length=1, max_length=4000, examples=["已告知可申请劳动仲裁，时效一年"])
