"""Recordings: uploaded or linked, the duration read from the file; bad files refused with a
message and nothing stored (no row, no file, the webinar unchanged)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.media.models import Recording
from tests.media.conftest import CLIP_WEBM, DEMO_MP4


def _upload(session, webinar, payload: bytes, name: str):
    return session.post(f"/admin/webinars/{webinar.webinar_id}/recording/upload",
                        {"recording": (io.BytesIO(payload), name)}, content_type="multipart/form-data")


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Recording))


def _files(stored) -> list:
    return sorted(p.name for p in stored.glob("*")) if stored.exists() else []


@pytest.fixture
def auto(make):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, type="auto", recording_url="", recording_duration_sec=None, cta_at_sec=2)
    return owner, webinar


@pytest.mark.parametrize("path,seconds,ext", [(DEMO_MP4, 90, "mp4"), (CLIP_WEBM, 3, "webm")])
def test_upload_reads_the_duration_and_the_auto_webinar_plays_it(as_user, auto, stored, path, seconds, ext):
    owner, webinar = auto
    session = as_user(owner)
    page = session.get(f"/admin/webinars/{webinar.webinar_id}/edit").get_data(as_text=True)
    assert f"/admin/webinars/{webinar.webinar_id}/recording" in page  # reached by clicking from the edit page
    response = _upload(session, webinar, path.read_bytes(), path.name)
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    db.session.refresh(webinar)
    recording = db.session.scalar(select(Recording))
    assert recording.duration_sec == seconds and recording.source == "upload"
    assert webinar.recording_duration_sec == seconds and webinar.recording_url == recording.url
    assert _files(stored) == [recording.stored_name] and recording.stored_name.endswith("." + ext)
    served = session.get(recording.url, headers={"Range": "bytes=0-9"})
    assert served.status_code == 206 and served.data == path.read_bytes()[:10]
    served.close()
    shown = session.get(f"/admin/webinars/{webinar.webinar_id}/recording").get_data(as_text=True)
    assert 'data-testid="recording-duration"' in shown


def test_a_new_upload_replaces_the_old_file(as_user, auto, stored):
    owner, webinar = auto
    session = as_user(owner)
    _upload(session, webinar, CLIP_WEBM.read_bytes(), "a.webm")
    _upload(session, webinar, DEMO_MP4.read_bytes(), "b.mp4")
    assert _rows() == 1 and len(_files(stored)) == 1 and _files(stored)[0].endswith(".mp4")


BAD = [
    (b"%PDF-1.4 not a video at all" * 50, "slides.pdf", "not a video"),
    (b"", "empty.mp4", "empty"),
    (DEMO_MP4.read_bytes()[:32], "no-moov.mp4", "length"),  # an MP4 header without its movie box
    (b"#EXTM3U\n#EXTINF:10,\nseg.ts\n", "list.m3u8", "not a video"),
]


@pytest.mark.parametrize("payload,name,message", BAD, ids=[b[1] for b in BAD])
def test_bad_files_are_refused_and_nothing_is_stored(as_user, auto, stored, payload, name, message):
    owner, webinar = auto
    response = _upload(as_user(owner), webinar, payload, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).lower()
    db.session.refresh(webinar)
    assert _rows() == 0 and _files(stored) == [] and webinar.recording_duration_sec is None


def test_too_big_is_refused_and_nothing_is_stored(app, as_user, auto, stored):
    owner, webinar = auto
    app.config["RECORDING_MAX_BYTES"] = 100_000
    response = _upload(as_user(owner), webinar, DEMO_MP4.read_bytes(), "big.mp4")  # 320 KB
    assert response.status_code == 422
    assert "too big" in response.get_data(as_text=True)
    assert _rows() == 0 and _files(stored) == []


def test_uploads_above_the_request_limit_get_past_max_content_length(app, as_user, auto):
    """The app-wide 2 MB request limit does not apply to the upload route alone."""
    owner, webinar = auto
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    assert _upload(as_user(owner), webinar, DEMO_MP4.read_bytes(), "ok.mp4").status_code == 303
    other = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/link",
                                {"recording_url": "x" * 200_000})
    assert other.status_code == 413


@pytest.mark.parametrize("link,seconds", [("/static/demo/auto.mp4", 90), ("/static/demo/hls/index.m3u8", 90)])
def test_links_are_measured(as_user, auto, link, seconds):
    owner, webinar = auto
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/link", {"recording_url": link})
    assert response.status_code == 303
    db.session.refresh(webinar)
    assert webinar.recording_url == link and webinar.recording_duration_sec == seconds


def test_a_remote_link_is_fetched_and_measured(as_user, auto, live_server):
    owner, webinar = auto
    link = f"{live_server.url}/static/demo/hls/index.m3u8"
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/link", {"recording_url": link})
    assert response.status_code == 303
    db.session.refresh(webinar)
    assert webinar.recording_duration_sec == 90


BAD_LINKS = ["javascript:alert(1)", "/static/../portal/config.py", "/static/css/room.css", "/admin/",
             "ftp://example.com/a.mp4", "https://user:pw@example.com/a.mp4", "/static/demo/none.mp4", ""]


@pytest.mark.parametrize("link", BAD_LINKS)
def test_bad_links_are_refused(as_user, auto, link):
    owner, webinar = auto
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/link", {"recording_url": link})
    assert response.status_code == 422
    assert 'data-testid="form-errors"' in response.get_data(as_text=True)
    assert _rows() == 0


def test_a_cta_after_the_end_is_refused(as_user, make, stored):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, type="auto", cta_at_sec=60)
    response = _upload(as_user(owner), webinar, CLIP_WEBM.read_bytes(), "short.webm")
    assert response.status_code == 409 and _rows() == 0 and _files(stored) == []


def test_live_webinars_get_a_recording_only_once_ended(as_user, make, stored):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, status="scheduled")
    response = _upload(as_user(owner), webinar, CLIP_WEBM.read_bytes(), "early.webm")
    assert response.status_code == 409 and _rows() == 0 and _files(stored) == []


def test_other_organizers_are_refused(as_user, auto, make, stored):
    _, webinar = auto
    other = make.user(role="organizer")
    response = _upload(as_user(other), webinar, CLIP_WEBM.read_bytes(), "x.webm")
    assert response.status_code in (403, 404) and _rows() == 0 and _files(stored) == []
    assert as_user(None).get(f"/admin/webinars/{webinar.webinar_id}/recording").status_code == 302


def test_unknown_recording_files_are_404(client):
    assert client.get("/media/recordings/" + "0" * 32 + ".mp4").status_code == 404
    assert client.get("/media/recordings/..%2Fportal.sqlite3").status_code == 404


def test_a_live_webinar_before_its_end_offers_no_upload_yet(as_user, make):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner, status="scheduled")
    html = as_user(owner).get(f"/admin/webinars/{webinar.webinar_id}/recording").get_data(as_text=True)
    assert 'data-testid="recording-later"' in html and 'data-testid="recording-upload"' not in html


def test_production_refuses_links_to_private_addresses(app, as_user, auto, live_server):
    owner, webinar = auto
    app.config["ENV"] = "production"
    link = f"{live_server.url}/static/demo/auto.mp4"  # 127.0.0.1
    response = as_user(owner).post(f"/admin/webinars/{webinar.webinar_id}/recording/link", {"recording_url": link})
    assert response.status_code == 422 and "private" in response.get_data(as_text=True)
    assert _rows() == 0
