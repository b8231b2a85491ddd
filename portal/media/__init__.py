"""Recordings and players (issues 12/13): the media a webinar plays.

- `recordings`: attach an uploaded or linked recording; the duration is read from the file
  (`probe`: MP4/WebM via hachoir, HLS by summing #EXTINF), never typed; refusals store nothing.
- `storage`: uploads under RECORDINGS_DIR; `views`: serves them with byte ranges.
- `captions`: WebVTT caption files per language next to the uploads (issue 15), their transcript.
- `players`: stream types (HLS, YouTube, Vimeo embeds; Zoom/Telegram stay links), the embed
  URL of a pasted link and the CSP a page that plays them needs.
Rank 2.7 (tests/test_layers.py): imports core, attendance and foundation only.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve uploaded recordings and captions; templates list a webinar's caption tracks."""
    from portal.media import captions, recordings, views

    app.register_blueprint(views.bp)
    app.add_template_global(lambda webinar: captions.tracks(recordings.current(webinar)), "caption_tracks")
