"""Call events are of declared kinds (recordings/call_events.py), each with the words people read."""

from __future__ import annotations

import re

from recordings.call_events import CallEventKind, call_event_label


def test_every_call_event_kind_has_chinese_words():
    labels = {kind: call_event_label(kind) for kind in CallEventKind}
    assert all(re.fullmatch(r"[\u4e00-\u9fff（）/]+", label) for label in labels.values()), labels
    assert len(set(labels.values())) == len(labels)  # no two kinds read alike
    assert call_event_label("from_an_older_version") == "记录（from_an_older_version）"
