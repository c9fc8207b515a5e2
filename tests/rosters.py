"""Duty rosters for tests: lawyers on duty around the clock, so a test passes at any hour."""

from __future__ import annotations


def round_the_clock_roster(max_wait_s: int) -> str:
    """Two lawyers every day, 00:00-24:00, and a supervisor; callers wait up to `max_wait_s` in the queue."""
    return f"""
hours: {{start: "00:00", end: "24:00"}}
queue: {{max_waiting: 5, max_wait_s: {max_wait_s}, assumed_talk_s: 240}}
lawyers:
  - {{id: L01, name: 王律师, phone: "+8613900000101"}}
  - {{id: L02, name: 李律师, phone: "+8613900000102"}}
weekly: {{mon: [L01, L02], tue: [L01, L02], wed: [L01, L02], thu: [L01, L02], fri: [L01, L02],
         sat: [L01, L02], sun: [L01, L02]}}
supervisors:
  - {{id: S01, name: 督办员, phone: "+8613900000201"}}
"""
