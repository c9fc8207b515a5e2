"""Where the flow's numbers ring on Asterisk: a file of the hotline's own phones first, then the trunk's template."""

from __future__ import annotations

from pathlib import Path

import pytest

from asterisk.dial_plan import DialPlan, load_dial_plan
from hotline.settings import Settings


def test_a_number_rings_its_own_phone_or_through_the_trunk(tmp_path: Path) -> None:
    dial_file = tmp_path / "dial.yaml"
    dial_file.write_text('numbers:\n  "+8612351000": PJSIP/desk\n', encoding="utf-8")
    settings = Settings(var_dir=tmp_path, ari_dial_template="PJSIP/{digits}@carrier", ari_dial_file=dial_file)
    plan = load_dial_plan(settings)
    assert plan.endpoint("+8612351000") == "PJSIP/desk"  # the operators' desk on the PBX itself
    assert plan.endpoint("+8613900000201") == "PJSIP/8613900000201@carrier"  # the supervisor's mobile, by trunk
    assert DialPlan().endpoint("+8613900000101") == "PJSIP/+8613900000101@carrier"


def test_mistakes_in_the_dial_settings_are_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"only \{number\} and \{digits\}"):
        DialPlan("PJSIP/{phone}@carrier")
    unquoted = tmp_path / "dial.yaml"
    unquoted.write_text("numbers:\n  +8612351000: PJSIP/desk\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quote the numbers"):
        load_dial_plan(Settings(var_dir=tmp_path, ari_dial_file=unquoted))
