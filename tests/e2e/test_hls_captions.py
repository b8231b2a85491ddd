"""Issue 15: the live player shows captions carried by the HLS stream (a SUBTITLES rendition of
the master playlist), through hls.js's native text tracks, with the browser's own toggle."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_live_journey import register_in_browser

pytestmark = pytest.mark.e2e

WAIT = 20_000


def test_captions_carried_by_the_stream_show_in_the_live_player(browser, live_server, make):
    webinar = make.webinar(status="live", title="Captioned stream", slug="captioned",
                           stream_url="/static/demo/hls/captioned.m3u8")
    context, page = register_in_browser(browser, live_server, webinar.slug, name="Cora Captions",
                                        email="cora@example.com", viewport={"width": 1280, "height": 800})
    video = page.locator("[data-testid=player] video")
    expect(video).to_be_visible(timeout=WAIT)
    # The stream's English rendition becomes a text track of the <video>, shown by default.
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=player] video');"
        " return v && Array.from(v.textTracks).some(t => t.language === 'en' && t.mode === 'showing'); }",
        timeout=WAIT)
    # Its cues arrive from the stream's WebVTT segment.
    page.wait_for_function(
        "() => Array.from(document.querySelector('[data-testid=player] video').textTracks)"
        ".some(t => t.language === 'en' && t.cues && Array.from(t.cues).some(c => c.text.includes('inside the HLS')))",
        timeout=WAIT)
    context.close()
