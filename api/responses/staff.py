"""Who is signed in, the audit log and alerts, as the API answers them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.responses.base import Answer, UtcTime, code, label


class Me(Answer):
    """The signed-in staff member, and the CSRF token their scripts send."""

    username: str
    display_name: str
    role: str = Field(description="operator, lawyer, inspector, supervisor or admin")
    roster_id: str | None = Field(description="a lawyer's roster seat, e.g. L01")
    csrf: str = Field(description="send it as the X-CSRF-Token header with every POST")


class AuditRecord(Answer):
    """One entry of the audit log."""

    at: UtcTime
    actor: str = Field(description="the username (or what was typed at a failed sign-in)")
    role: str | None
    action: str = Field(description="login, login_failed, view_ticket, play_recording, ...")
    target: str | None = Field(description="a ticket number, recording sid or call sid")
    ip: str | None
    detail: dict[str, Any] | None


class AlertView(Answer):
    """One alert: codes for scripts, Chinese words for people."""

    id: int
    at: UtcTime
    kind: str = Field(description=code("the alert kind"))
    kind_label: str = Field(description=label("the alert kind"))
    sounding: bool = Field(description="true: the consoles sound it until someone acknowledges it")
    ticket_id: int | None
    ticket_number: str | None
    urgency_flags: list[str] = Field(description="the ticket's urgency flag codes")
    message: str
    text: str = Field(description="what the alert is about, in words a supervisor reads")
    acknowledged_at: UtcTime | None
    acknowledged_by: str | None


class AlertAcknowledged(AlertView):
    """The alert after acknowledging it."""

    acknowledged_now: bool = Field(description="false: someone had acknowledged it already (nothing changed)")
