"""Captions (issue 15): WebVTT per language on the Recording tab, refused unless it parses,
offered by the auto room's and the replay's players as <track>s, transcripts downloadable."""
from __future__ import annotations

import io

import pytest
from flask import current_app

from portal.core import lifecycle
from portal.extensions import db
from portal.media import captions, recordings
from tests.media.conftest import CLIP_WEBM

VTT = (b"WEBVTT\n\nNOTE made by hand\n\n1\n00:00.000 --> 00:01.500\nHello <b>everyone</b>\n\n"
       b"00:01.500 --> 00:03.000 align:start\nWelcome to the webinar\n")


@pytest.fixture
def auto(make, as_user):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, type="auto", recording_url="", recording_duration_sec=None,
                           cta_at_sec=None)
    session = as_user(owner)
    response = session.post(f"/admin/webinars/{webinar.webinar_id}/recording/upload",
                            {"recording": (io.BytesIO(CLIP_WEBM.read_bytes()), "clip.webm")},
                            content_type="multipart/form-data")
    assert response.status_code == 303
    return session, webinar


def _add(session, webinar, payload: bytes, lang: str, name: str = "subs.vtt"):
    return session.post(f"/admin/webinars/{webinar.webinar_id}/recording/captions",
                        {"captions": (io.BytesIO(payload), name), "lang": lang}, content_type="multipart/form-data")


def _vtt_files(stored) -> list[str]:
    return sorted(p.name for p in (stored / "captions").rglob("*.vtt")) if (stored / "captions").exists() else []


def test_captions_are_added_listed_served_and_removed(auto, stored):
    session, webinar = auto
    assert _add(session, webinar, VTT, "en").status_code == 303
    assert _add(session, webinar, VTT.replace(b"Hello", b"Privet"), "ru").status_code == 303
    page = session.get(f"/admin/webinars/{webinar.webinar_id}/recording").get_data(as_text=True)
    assert page.count('data-testid="caption-track"') == 2 and "English" in page and "Русский" in page
    tracks = _tracks(webinar)
    assert [t.lang for t in tracks] == ["en", "ru"]
    served = session.get(tracks[0].src)
    assert served.status_code == 200 and served.mimetype == "text/vtt" and served.data == VTT
    served.close()
    text = session.get(tracks[0].transcript)
    assert "attachment" in text.headers["Content-Disposition"]
    assert text.get_data(as_text=True) == "Hello everyone\nWelcome to the webinar\n"
    # A new file in the same language replaces the old one.
    assert _add(session, webinar, VTT.replace(b"Hello", b"Hi"), "en").status_code == 303
    assert session.get(tracks[0].transcript).get_data(as_text=True).startswith("Hi everyone")
    response = session.post(f"/admin/webinars/{webinar.webinar_id}/recording/captions/ru/remove")
    assert response.status_code == 303 and _vtt_files(stored) == ["en.vtt"]
    assert [t.lang for t in _tracks(webinar)] == ["en"]
    assert session.get(tracks[1].src).status_code == 404


def _tracks(webinar) -> list[captions.Track]:
    with current_app.test_request_context():
        return captions.tracks(recordings.current(db.session.merge(webinar)))


BAD = [
    (b"1\n00:00.000 --> 00:01.000\nHi\n", "en", "must start with the line webvtt"),
    (b"WEBVTT\n\n00:00 --> 00:01.000\nHi\n", "en", "cue timing"),
    (b"WEBVTT\n\n00:02.000 --> 00:01.000\nHi\n", "en", "end after it starts"),
    (b"WEBVTT\n\nNOTE only a note\n", "en", "no cues"),
    (b"WEBVTT\n\n00:00.000 --> 00:01.000\n\xff\xfe\n", "en", "utf-8"),
    (VTT, "english!", "language"),
    (VTT, "", "language"),
]


@pytest.mark.parametrize("payload,lang,message", BAD, ids=[m for _, _, m in BAD])
def test_bad_captions_are_refused_and_nothing_is_stored(auto, stored, payload, lang, message):
    session, webinar = auto
    response = _add(session, webinar, payload, lang)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.lower() and 'data-testid="form-errors"' in html
    assert _vtt_files(stored) == [] and _tracks(webinar) == []


def test_captions_need_a_recording(make, as_user, stored):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, type="auto", recording_url="", recording_duration_sec=None)
    response = _add(as_user(owner), webinar, VTT, "en")
    assert response.status_code == 409 and _vtt_files(stored) == []


def test_a_new_recording_drops_the_old_captions(auto, stored):
    session, webinar = auto
    _add(session, webinar, VTT, "en")
    session.post(f"/admin/webinars/{webinar.webinar_id}/recording/upload",
                 {"recording": (io.BytesIO(CLIP_WEBM.read_bytes()), "again.webm")}, content_type="multipart/form-data")
    assert _vtt_files(stored) == [] and _tracks(webinar) == []


def test_the_auto_room_offers_the_tracks_and_the_transcript(auto, attendee, make):
    session, webinar = auto
    _add(session, webinar, VTT, "en")
    webinar = db.session.merge(webinar)
    lifecycle.publish(webinar, actor=webinar.owner)  # publishable now that it has its recording
    reg = attendee(webinar)
    html = session.client.application.test_client().get(reg.url).get_data(as_text=True)
    assert '<track kind="captions" srclang="en" label="English"' in html
    assert 'data-testid="transcript-link"' in html


def test_an_unknown_key_is_not_found(auto):
    session, _ = auto
    assert session.get("/media/captions/" + "0" * 32 + "/en.vtt").status_code == 404
    assert session.get("/media/captions/../en.vtt").status_code == 404
