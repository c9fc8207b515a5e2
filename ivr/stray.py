"""Signed requests a call cannot be taken further by: a step the flow does not have (a stale URL after the flow
file changed), a callback or district answer for a call without a ticket, a lawyer not on the roster.

The caller hears a polite apology and the call ends; nothing is written, so an odd request never makes a call,
a ticket or a job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ivr.decisions import Decisions, Hangup, Say
from ivr.flow import Flow
from ivr.prompt_list import ROUTE_PROMPTS
from recordings.calls import find_call
from routing.tickets import ticket_for_call

APOLOGY_PROMPT = "cannot_continue"  # in route_prompts.yaml; a hotline's own file without it says `goodbye`


def apology(prompts: dict[str, Any]) -> Decisions:
    """An apology (route_prompts.yaml's), then hang up."""
    key = APOLOGY_PROMPT if prompts.get(APOLOGY_PROMPT) else "goodbye"
    return (Say.of(f"{ROUTE_PROMPTS}.{key}", str(prompts[key])), Hangup())


def has_ticket(session: Session, call_sid: str) -> bool:
    """True when the call is known and has its ticket (what the routing steps after the recording act on)."""
    call = find_call(session, call_sid)
    return call is not None and ticket_for_call(session, call.id) is not None


def step_takes(flow: Flow, name: str, kind: str | None = None) -> bool:
    """True when the flow has this step (and it is of `kind`: keys come to menus, recordings to record steps)."""
    step = flow.steps.get(name)
    return step is not None and (kind is None or step.kind == kind)


def plain_numbers(form: dict[str, str], *names: str) -> dict[str, str]:
    """The form without those of `names` that are not a plain number of at most 9 digits (as Twilio sends them):
    an odd value counts as absent rather than overflowing a column or failing a conversion."""
    return {k: v for k, v in form.items() if k not in names or (v.isdigit() and len(v) <= 9)}
