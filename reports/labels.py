"""The words people read for the codes of a report's breakdowns: subjects and handling classes (the taxonomy's
labels) and districts; the codes themselves stay in the report's JSON."""

from __future__ import annotations

from typing import Any

from routing.classify import Taxonomy

UNKNOWN_DISTRICT = "区县不明"  # tickets whose district is not known yet (the code `unknown`)
UNCLASSIFIED = "未分类"  # a ticket with no subject yet


def subject_label(taxonomy: Taxonomy, code: str | None) -> str:
    """A subject as staff read it (欠薪 for wage_arrears)."""
    if not code or code in ("null", "None"):
        return UNCLASSIFIED
    return taxonomy.label(code)


def class_label(taxonomy: Taxonomy, code: str | None) -> str:
    """A handling class as staff read it (一般求助 for assist)."""
    return taxonomy.handling_classes.get(code or "", code or UNCLASSIFIED)


def district_label(name: str | None) -> str:
    """A district as staff read it: its name, or 区县不明 when none is known yet."""
    return UNKNOWN_DISTRICT if not name or name == "unknown" else name


def breakdown_labels(report: dict[str, Any], taxonomy: Taxonomy) -> dict[str, dict[str, str]]:
    """Code → label for every code in the report's breakdowns (by_subject, by_class, by_district)."""
    return {
        "subjects": {code: subject_label(taxonomy, code) for code in report.get("by_subject", {})},
        "classes": {code: class_label(taxonomy, code) for code in report.get("by_class", {})},
        "districts": {name: district_label(name) for name in report.get("by_district", {})},
    }
