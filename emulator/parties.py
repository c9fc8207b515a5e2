"""The other people on a call: who answers a <Dial>, and what happens to a caller waiting in a queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class QueueOutcome:
    """How a stay in a queue ends: `result` is Twilio's QueueResult (hangup, bridged, leave, …)."""

    result: str
    wait_seconds: float = 0.0
    talk_seconds: float = 0.0


class QueueBehaviour(Protocol):
    """Decides what happens after the wait document has played once."""

    def outcome(self, queue: str, call_sid: str, waited: float) -> QueueOutcome:
        """`waited` is the virtual time already spent in the queue."""


@dataclass
class CallerGivesUp:
    """Nobody picks up: the caller hangs up after `after` virtual seconds in the queue (the default)."""

    after: float = 30.0

    def outcome(self, queue: str, call_sid: str, waited: float) -> QueueOutcome:
        """QueueResult=hangup."""
        return QueueOutcome("hangup", wait_seconds=max(0.0, self.after - waited))


@dataclass
class AgentAnswers:
    """An agent dequeues the caller after `after` seconds, talks `talk` seconds, then hangs up."""

    after: float = 10.0
    talk: float = 60.0

    def outcome(self, queue: str, call_sid: str, waited: float) -> QueueOutcome:
        """QueueResult=bridged."""
        return QueueOutcome("bridged", wait_seconds=max(0.0, self.after - waited), talk_seconds=self.talk)


@dataclass
class DialBehaviour:
    """The dialled party: answers after `ring_seconds` and hangs up after `talk_seconds`, or never answers."""

    answer: bool = True
    ring_seconds: float = 5.0
    talk_seconds: float = 30.0
    unanswered_status: str = "no-answer"
    unanswered_numbers: tuple[str, ...] = ()  # these never answer, even when `answer` is true

    def answers(self, numbers: list[str]) -> bool:
        """Whether a <Dial> to these numbers is answered."""
        return self.answer and not any(n in self.unanswered_numbers for n in numbers)
