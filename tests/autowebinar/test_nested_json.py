"""JSON nested deeper than the decoder goes is bad input (422), never a 500, and writes nothing."""
from __future__ import annotations

import pytest

from portal.autowebinar import heartbeats
from tests.autowebinar.test_bad_input import snapshot


@pytest.fixture
def watching(clock, auto_webinar, attendee):
    """An attendee 20 s into a watch-now session, everything flushed."""
    a = attendee(auto_webinar())
    assert a.beat(0).status_code == 200
    clock.advance(20)
    assert a.beat(20).status_code == 200
    heartbeats.flush()
    return a


def test_a_deeply_nested_heartbeat_is_refused_as_bad_input(watching):
    before = snapshot()
    body = "[" * 5000 + "]" * 5000  # 10 KB: far below MAX_CONTENT_LENGTH, far above the recursion limit
    response = watching.client.post(watching.url, data=body, content_type="application/json",
                                    headers={"X-CSRFToken": watching.csrf, "Accept": "application/json"})
    assert response.status_code == 422
    assert response.json["error"]["message"] == "Send a JSON object."
    heartbeats.flush()
    assert snapshot() == before
    # The same page goes on beating normally afterwards.
    assert watching.beat(20).status_code == 200
