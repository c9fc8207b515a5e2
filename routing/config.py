"""The routing data a hotline edits, loaded together: roster, union directory, deadlines, knowledge base.

Each file is read and checked by its own module (through `hotline.data_files`); here the files are checked
against each other: the SLA file must give deadlines for every handling class of the taxonomy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.data_files import DataFileError, Problem
from hotline.settings import Settings
from routing.classifier_model import LinearTextModel
from routing.classify import default_model, default_taxonomy
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
    deadlines = load_sla(sla, timezone)
    _check_deadlines_cover_classes(deadlines, str(sla) if sla else "routing/data/sla.yaml")
    return RoutingData(
        load_roster(roster),
        load_directory(unions),
        deadlines,
        load_knowledge(knowledge),
        timezone,
        case_window_days,
        default_model(var_dir),
    )


def routing_data_of(settings: Settings) -> RoutingData:
    """The routing files and model the hotline's settings name (what the service and the CLI both load)."""
    return load_routing_data(
        roster=settings.roster_file,
        unions=settings.unions_file,
        sla=settings.sla_file,
        knowledge=settings.knowledge_file,
        timezone=settings.timezone,
        case_window_days=settings.case_window_days,
        var_dir=settings.var_dir,
    )


def _check_deadlines_cover_classes(sla: SlaPolicy, file: str) -> None:
    """A ticket of a class without deadlines could never be accepted: refuse such an SLA file at start-up."""
    missing = [name for name in default_taxonomy().handling_classes if name not in sla.classes]
    if missing:
        raise DataFileError.about(
            file,
            [
                Problem(f"classes.{name}", "missing: the taxonomy has this handling class; give its deadlines")
                for name in missing
            ],
        )
