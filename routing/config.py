"""The routing data a hotline edits, loaded together: roster, union directory, deadlines, knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from routing.directory import UnionDirectory, load_directory
from routing.knowledge import KnowledgeBase, load_knowledge
from routing.roster import DutyRoster, load_roster
from routing.sla import SlaPolicy, load_sla


@dataclass(frozen=True)
class RoutingData:
    """Everything routing decisions read, checked when the service starts."""

    roster: DutyRoster
    directory: UnionDirectory
    sla: SlaPolicy
    knowledge: KnowledgeBase
    timezone: str
    case_window_days: int


def load_routing_data(*, roster: Path | None, unions: Path | None, sla: Path | None, knowledge: Path | None,
                      timezone: str, case_window_days: int) -> RoutingData:
    """Load every routing file (the shipped defaults where a path is None)."""
    return RoutingData(load_roster(roster), load_directory(unions), load_sla(sla, timezone), load_knowledge(knowledge),
                       timezone, case_window_days)
