"""The room's panel registry (portal.room.panels): higher layers add panels; a name is taken once."""
from __future__ import annotations

import pytest

from portal.room import panels


def test_qa_is_a_registered_panel_and_a_name_is_taken_once(app):
    [qa] = [p for p in panels.registered() if p.template == "qa/_panel.html"]
    panels.register(app, "qa", qa)  # the same panel again: fine (idempotent)
    other = panels.Panel(template="other.html", context=lambda reg, w, token: {}, snapshot=lambda reg, w: "")
    with pytest.raises(ValueError, match="already registered"):
        panels.register(app, "qa", other)
