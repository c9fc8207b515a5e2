"""Learning from the hotline's own tickets: the tickets people corrected or confirmed become labelled examples,
merged with the shipped ones; a seeded part is held back to judge whether a newly trained model beats the current one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from routing.classifier_model import Example, LinearTextModel, read_examples, shipped_training_paths
from routing.classify import Taxonomy, classify
from routing.normalise import is_chinese
from routing.tables import Ticket, TicketCorrection, TicketEvent

HELD_BACK_SHARE = 0.2
SEED = 12351


@dataclass(frozen=True)
class TicketExample:
    """A ticket a person checked: its words, the menu key the caller pressed, and the subject and kind it really has."""

    number: str
    text: str
    menu_choice: str | None
    subject: str
    kind: str

    def example(self) -> Example:
        return Example(self.text, self.subject, self.kind)


@dataclass(frozen=True)
class Score:
    """How a model does on held-back tickets: subject accuracy and consult/help accuracy."""

    n: int
    accuracy: float
    kind_accuracy: float


def shipped_examples() -> list[Example]:
    """The project's own caller-style examples, from all the shipped training files."""
    return [ex for path in shipped_training_paths() for ex in read_examples(path)]


def checked_tickets(session: Session, taxonomy: Taxonomy) -> list[TicketExample]:
    """Tickets whose subject or kind a person corrected, or whose doubted reading a person confirmed, with words
    to learn from; labelled with the ticket's subject and kind as they stand now."""
    corrected = select(TicketCorrection.ticket_id).where(TicketCorrection.field.in_(("subject", "kind")))
    confirmed = select(TicketEvent.ticket_id).where(TicketEvent.kind == "review_confirmed")
    tickets = session.scalars(
        select(Ticket).where(or_(Ticket.id.in_(corrected), Ticket.id.in_(confirmed))).order_by(Ticket.id)
    )
    return [
        TicketExample(t.number, t.summary.strip(), t.menu_choice, t.subject, t.kind or "help")
        for t in tickets
        if t.summary
        and is_chinese(t.summary)
        and t.subject in taxonomy.subjects
        and (t.kind or "help") in ("consult", "help")
    ]


def hold_back(
    tickets: Sequence[TicketExample], share: float = HELD_BACK_SHARE, seed: int = SEED
) -> tuple[list[TicketExample], list[TicketExample]]:
    """(to train on, held back): a seeded share of the tickets (at least one when there are two or more)."""
    order = sorted(tickets, key=lambda t: t.number)
    random.Random(seed).shuffle(order)
    n = min(len(order) - 1, max(1, math.ceil(share * len(order)))) if len(order) > 1 else 0
    return order[n:], order[:n]


def score(model: LinearTextModel, tickets: Sequence[TicketExample], taxonomy: Taxonomy) -> Score:
    """The model as the service runs it (routing.classify, with the caller's menu key) on these tickets."""
    if not tickets:
        return Score(0, 0.0, 0.0)
    right = right_kind = 0
    for t in tickets:
        result = classify(t.menu_choice, t.text, taxonomy, model)
        right += result.subject == t.subject
        right_kind += result.kind == t.kind
    return Score(len(tickets), right / len(tickets), right_kind / len(tickets))


def verdict(new: Score, old: Score) -> tuple[bool, str]:
    """Whether the new model is better on the held-back tickets, and why (or why not)."""
    if new.accuracy > old.accuracy and new.kind_accuracy >= old.kind_accuracy:
        return True, "subject accuracy higher, consult/help not lower"
    if new.accuracy == old.accuracy and new.kind_accuracy > old.kind_accuracy:
        return True, "subject accuracy the same, consult/help higher"
    if new.accuracy < old.accuracy:
        return False, "subject accuracy lower than the current model's"
    if new.kind_accuracy < old.kind_accuracy:
        return False, "consult/help accuracy lower than the current model's"
    return False, "no better than the current model on the held-back tickets"
