"""GET /: the upcoming webinars, each linking to its registration page."""
from __future__ import annotations

import re


def test_index_lists_open_webinars_with_badges_and_local_times(app, make, client):
    speaker = make.user(role="speaker", display_name="Sam Speaker")
    live = make.webinar(status="live", title="On air", speakers=(speaker,))
    soon = make.webinar(status="scheduled", title="Later <i>today</i>", timezone="Asia/Tokyo")
    auto = make.webinar(type="auto", status="live", title="Evergreen")
    make.webinar(status="draft", title="Secret draft")
    make.webinar(status="finished", title="Over")
    html = client.get("/").get_data(as_text=True)
    for w in (live, soon, auto):
        assert f'href="/w/{w.slug}"' in html
    assert "Secret draft" not in html and "Over" not in html
    assert "Later &lt;i&gt;today&lt;/i&gt;" in html
    assert "Live now" in html and "On demand" in html and "Scheduled" in html
    assert re.search(rf'<time datetime="{re.escape(soon.scheduled_at.isoformat())}" data-local-time', html)
    assert "Asia/Tokyo" in html and "Sam Speaker" in html
    assert html.index("On air") < html.index("Later")  # live first


def test_index_empty(app, client):
    assert "No webinars are open for registration" in client.get("/").get_data(as_text=True)
