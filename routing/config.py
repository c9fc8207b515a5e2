"""The routing data a hotline edits, loaded together: roster, union directory, deadlines, knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from routing.classifier_model import LinearTextModel
from routing.classify import default_model
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
    classifier: LinearTextModel


def load_routing_data(
    *,
    roster: Path | None,
    unions: Path | None,
    sla: Path | None,
    knowledge: Path | None,
    timezone: str,
    case_window_days: int,
    var_dir: Path | None = None,
) -> RoutingData:
    """Load every routing file (the shipped defaults where a path is None) and the classifier model
    (the hotline's own, trained into `var_dir` by `hotline classifier train`, else the shipped one)."""
    return RoutingData(
        load_roster(roster),
        load_directory(unions),
        load_sla(sla, timezone),
        load_knowledge(knowledge),
        timezone,
        case_window_days,
        default_model(var_dir),
    )
