"""Attaching a recording to a webinar: uploaded or linked, its duration read from the file.

Auto webinars play it (`webinar.recording_url` / `recording_duration_sec`, which the
AutoWebinar runtime reads); a finished live webinar gets it as its replay (portal.replay
reads the run it records). Every refusal leaves nothing stored: the file is measured before
the row is written, and deleted if the transaction fails.
"""
from __future__ import annotations

import logging
from typing import IO

from flask import url_for
from sqlalchemy import select

from portal import signals
from portal.attendance.models import LiveSession
from portal.core.models import Status, User, Webinar, WebinarType
from portal.core.permissions import Action, require
from portal.errors import Conflict
from portal.extensions import db
from portal.media import captions, links, storage
from portal.media.models import Recording

log = logging.getLogger(__name__)

ENDED = (Status.finished.value, Status.archived.value)


def current(webinar: Webinar) -> Recording | None:
    return db.session.scalar(select(Recording).where(Recording.webinar_id == webinar.webinar_id))


def attach_upload(webinar: Webinar, stream: IO[bytes], *, filename: str, actor: User) -> Recording:
    """Store an uploaded video as the webinar's recording."""
    _check(webinar, actor)
    name, duration, size = storage.save(stream)
    try:
        return _replace(webinar, actor=actor, source="upload", url=url_for("media.recording_file", name=name),
                        stored_name=name, original_name=(filename or "")[:255], duration=duration, size=size)
    except BaseException:
        db.session.rollback()
        storage.remove(name)
        raise


def attach_link(webinar: Webinar, url: str, *, actor: User) -> Recording:
    """Link a recording (a video file or HLS playlist); its duration is read from it."""
    _check(webinar, actor)
    url = (url or "").strip()
    duration = links.duration(url)
    return _replace(webinar, actor=actor, source="link", url=url, stored_name=None, original_name="",
                    duration=duration, size=None)


def set_public_replay(webinar: Webinar, public: bool, *, actor: User) -> Recording:
    """Let anyone with the registration page watch the replay (or registrants only)."""
    require(actor, Action.EDIT, webinar)
    recording = current(webinar)
    if recording is None or webinar.type != WebinarType.live.value:
        raise Conflict("Add the recording of the webinar first.")
    recording.public_replay = bool(public)
    db.session.commit()
    log.info("webinar %s replay public=%s by user %s", webinar.webinar_id, public, actor.user_id)
    return recording


def _check(webinar: Webinar, actor: User) -> None:
    require(actor, Action.EDIT, webinar)
    if webinar.status == Status.archived.value and webinar.type == WebinarType.auto.value:
        raise Conflict("The webinar is archived; it can no longer be edited.")
    if webinar.type == WebinarType.live.value and webinar.status not in ENDED:
        raise Conflict("A live webinar gets its recording once it has ended.")


def _replace(webinar: Webinar, *, actor: User, source: str, url: str, stored_name: str | None,
             original_name: str, duration: int, size: int | None) -> Recording:
    if webinar.type == WebinarType.auto.value and webinar.cta_at_sec is not None and webinar.cta_at_sec > duration:
        raise Conflict("The call-to-action is set to appear after this recording ends; move it first.")
    old = current(webinar)
    old_file = old.stored_name if old is not None else None
    old_captions = captions.key_of(old) if old is not None else None
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    recording = Recording(webinar_id=webinar.webinar_id, session_id=_run_of(webinar), source=source, url=url,
                          stored_name=stored_name, original_name=original_name, duration_sec=duration,
                          size_bytes=size, public_replay=bool(old and old.public_replay), created_by=actor.user_id)
    db.session.add(recording)
    db.session.flush()
    signals.after_commit(signals.recording_attached, webinar.webinar_id, recording_id=recording.recording_id,
                         replay=webinar.type == WebinarType.live.value)
    if webinar.type == WebinarType.auto.value:
        webinar.recording_url, webinar.recording_duration_sec = url, duration
        signals.after_commit(signals.webinar_edited, webinar.webinar_id,
                             fields=("recording_url", "recording_duration_sec"))
    db.session.commit()
    if old_file and old_file != stored_name:
        storage.remove(old_file)
    if old_captions:
        captions.drop_all(old_captions)  # they were timed to the old video
    log.info("webinar %s recording %s (%s, %ss) by user %s", webinar.webinar_id, recording.recording_id, source,
             duration, actor.user_id)
    return recording


def _run_of(webinar: Webinar) -> str | None:
    """The live run a replay records: the webinar's last ended session."""
    if webinar.type != WebinarType.live.value:
        return None
    return db.session.scalar(
        select(LiveSession.session_id).where(LiveSession.webinar_id == webinar.webinar_id,
                                             LiveSession.session_type == "live")
        .order_by(LiveSession.ended_at.desc().nulls_last(), LiveSession.started_at.desc()).limit(1))
