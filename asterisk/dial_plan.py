"""Where a number rings on Asterisk: the flow and the rosters name people by phone number (E.164, as on Twilio);
the PBX needs a dial string (`PJSIP/desk`, `PJSIP/8613900000101@carrier`). A hotline edits two things: the template
for numbers reached through its carrier trunk, and a file of numbers that ring a phone of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hotline.settings import Settings

DEFAULT_TEMPLATE = "PJSIP/{number}@carrier"


@dataclass(frozen=True)
class DialPlan:
    """A number's dial string: its own from `numbers`, else the `template` filled with it."""

    template: str = DEFAULT_TEMPLATE
    numbers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.template.format(number="+8612351", digits="8612351")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"HOTLINE_ARI_DIAL_TEMPLATE {self.template!r}: only {{number}} and {{digits}} may be filled in ({exc})"
            ) from exc

    def endpoint(self, number: str) -> str:
        """The dial string that rings `number`."""
        own = self.numbers.get(number)
        if own:
            return own
        return self.template.format(number=number, digits=number.lstrip("+"))


def load_dial_plan(settings: Settings) -> DialPlan:
    """The dial plan of the settings (HOTLINE_ARI_DIAL_TEMPLATE, HOTLINE_ARI_DIAL_FILE)."""
    return DialPlan(settings.ari_dial_template, read_numbers(settings.ari_dial_file) if settings.ari_dial_file else {})


def read_numbers(path: Path) -> dict[str, str]:
    """The `numbers:` of a dial file: number → dial string."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    numbers = data.get("numbers") if isinstance(data, dict) else None
    if not isinstance(numbers, dict) or not all(isinstance(v, str) and v for v in numbers.values()):
        raise ValueError(f"{path}: expected `numbers:` mapping each number to a dial string, e.g. PJSIP/desk")
    unquoted = [number for number in numbers if not isinstance(number, str)]
    if unquoted:  # YAML reads +8612351000 as the integer 8612351000: the + would be lost
        raise ValueError(f'{path}: quote the numbers {unquoted} ("+8612351000": PJSIP/desk)')
    return dict(numbers)
