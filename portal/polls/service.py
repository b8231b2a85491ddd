"""Polls: the host prepares, opens and closes them; attendees answer. Plain rules, one commit each.

- a poll has a question (≤ QUESTION_MAX), MIN_OPTIONS..MAX_OPTIONS options, single or
  multiple choice, and shows its results to attendees live or only once closed;
- live webinars: the host opens and closes it (draft -> open -> closed);
- auto webinars (timed interaction): it has a point of the recording (`at_sec`); once the
  host enabled it ("open") each viewer may answer from that point for `open_sec` seconds of
  their own playback; results are counted per cohort (portal.polls.timing);
- one answer per attendee, changeable while the poll takes answers (the new one replaces it).
Refusals raise PortalError subclasses and store nothing; commits announce `poll_changed` /
`poll_answered` (portal/signals.py) for the pushes.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from portal.core.models import Status, User, Webinar, WebinarType
from portal.core.permissions import Action, require
from portal.db_types import utcnow
from portal.errors import N_, Conflict, Forbidden, Invalid, NotFound
from portal.extensions import db
from portal.polls import timing
from portal.polls.models import Poll, PollOption, PollStatus, PollVote, ResultsMode
from portal.ratelimit import limiter
from portal.registration.models import Registration
from portal.room.chat import clean
from portal.signals import after_commit, poll_answered, poll_changed

log = logging.getLogger(__name__)

QUESTION_MAX = 300
OPTION_MAX = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_POLLS = 50  # per webinar
DEFAULT_OPEN_SEC, MAX_OPEN_SEC = 60, 3600
# Timed polls: a player reports its position every few seconds; answers this far either side
# of the viewer's window are still theirs.
POSITION_SLACK_SEC = 10
ANSWERS_PER_WINDOW, ANSWER_WINDOW = 10, 10  # per attendee and webinar, seconds
LIVE_OPENABLE = (Status.scheduled.value, Status.live.value, Status.paused.value)


# --- the host --------------------------------------------------------------------------------

def create(webinar: Webinar, *, actor: User, question: object, options: object, multiple: bool = False,
           results_mode: object = ResultsMode.live.value, at: object = None, open_sec: object = None) -> Poll:
    """A new draft poll. `options`: a list of labels or one label per line."""
    require(actor, Action.OPEN_CONSOLE, webinar)
    text = clean(question)
    if not text:
        raise Invalid("Type the poll's question.")
    if len(text) > QUESTION_MAX:
        raise Invalid("A poll's question is limited to %(n)s characters.", n=QUESTION_MAX)
    labels = option_labels(options)
    if results_mode not in (ResultsMode.live.value, ResultsMode.after_close.value):
        raise Invalid("Choose when attendees see the results.")
    if (db.session.scalar(select(func.count()).where(Poll.webinar_id == webinar.webinar_id)) or 0) >= MAX_POLLS:
        raise Conflict("A webinar has at most %(n)s polls.", n=MAX_POLLS)
    at_sec, duration = _timing(webinar, at, open_sec)
    poll = Poll(webinar_id=webinar.webinar_id, question=text, multiple=bool(multiple), results_mode=results_mode,
                status=PollStatus.draft.value, at_sec=at_sec, open_sec=duration, created_by=actor.user_id,
                created_at=utcnow(),
                options=[PollOption(position=i, label=label) for i, label in enumerate(labels)])
    db.session.add(poll)
    db.session.flush()
    _changed(poll, "created")
    db.session.commit()
    log.info("poll %s created in webinar %s by %s", poll.poll_id, webinar.webinar_id, actor.user_id)
    return poll


def option_labels(options: object) -> list[str]:
    """The cleaned option labels (blank lines dropped), or Invalid."""
    if isinstance(options, str):
        if len(options) > (OPTION_MAX + 2) * MAX_OPTIONS * 4:
            raise Invalid("A poll has at most %(n)s options.", n=MAX_OPTIONS)
        options = options.splitlines()
    if not isinstance(options, (list, tuple)) or len(options) > MAX_OPTIONS * 4:
        raise Invalid("A poll has at most %(n)s options.", n=MAX_OPTIONS)
    labels = [label for label in (clean(o) for o in options) if label]
    if len(labels) < MIN_OPTIONS:
        raise Invalid("A poll needs at least %(n)s options.", n=MIN_OPTIONS)
    if len(labels) > MAX_OPTIONS:
        raise Invalid("A poll has at most %(n)s options.", n=MAX_OPTIONS)
    if any(len(label) > OPTION_MAX for label in labels):
        raise Invalid("An option is limited to %(n)s characters.", n=OPTION_MAX)
    if len(set(labels)) != len(labels):
        raise Invalid("Two options have the same text.")
    return labels


def _timing(webinar: Webinar, at: object, open_sec: object) -> tuple[int | None, int | None]:
    """Auto webinars: the point of the recording ("12:30" or seconds) and how long it is open."""
    if webinar.type != WebinarType.auto.value:
        return None, None
    at_sec = _seconds(at)
    if at_sec is None:
        raise Invalid("Say at which point of the recording the poll opens (e.g. 12:30).")
    if webinar.recording_duration_sec and at_sec >= webinar.recording_duration_sec:
        raise Invalid("The recording is shorter than that.")
    duration = _seconds(open_sec) if open_sec not in (None, "") else DEFAULT_OPEN_SEC
    if duration is None or not 10 <= duration <= MAX_OPEN_SEC:
        raise Invalid("A timed poll stays open between 10 seconds and an hour.")
    return at_sec, duration


def _seconds(value: object) -> int | None:
    """'90', '1:30' or '0:01:30' as seconds (None when blank or unreadable)."""
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 12:
        return None
    try:
        parts = [int(p) for p in text.split(":")]
    except ValueError:
        return None
    if len(parts) > 3 or any(p < 0 for p in parts) or any(p >= 60 for p in parts[1:]):
        return None
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def open_poll(poll: Poll, *, actor: User) -> Poll:
    """draft -> open: attendees see it and may answer (auto: from its point of the recording)."""
    webinar = _hosted(poll, actor)
    if poll.status != PollStatus.draft.value:
        raise Conflict("Only a prepared poll can be opened.")
    if webinar.type == WebinarType.live.value and webinar.status not in LIVE_OPENABLE:
        raise Conflict("Polls open while the webinar is on.")
    return _move(poll, PollStatus.open, "opened", opened_at=utcnow())


def close_poll(poll: Poll, *, actor: User) -> Poll:
    """open -> closed: no more answers; the results are shown to everyone."""
    _hosted(poll, actor)
    if poll.status != PollStatus.open.value:
        raise Conflict("This poll is not open.")
    return _move(poll, PollStatus.closed, "closed", closed_at=utcnow())


def delete_poll(poll: Poll, *, actor: User) -> None:
    """A prepared poll nobody has seen can be deleted."""
    _hosted(poll, actor)
    if poll.status != PollStatus.draft.value:
        raise Conflict("Only a prepared poll can be deleted.")
    _changed(poll, "deleted")
    db.session.delete(poll)
    db.session.commit()


def _hosted(poll: Poll, actor: User) -> Webinar:
    webinar = db.session.get(Webinar, poll.webinar_id)
    assert webinar is not None
    require(actor, Action.OPEN_CONSOLE, webinar)
    return webinar


def _move(poll: Poll, to: PollStatus, what: str, **stamps: datetime) -> Poll:
    # Conditional, so two hosts clicking at once change it once (the loser gets a no-op).
    moved = db.session.execute(
        update(Poll).where(Poll.poll_id == poll.poll_id, Poll.status == poll.status)
        .values(status=to.value, **stamps).execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if not moved:
        db.session.rollback()
        raise Conflict("Someone else changed this poll; the page shows it as it is now.")
    _changed(poll, what)
    db.session.commit()
    db.session.refresh(poll)
    log.info("poll %s %s", poll.poll_id, what)
    return poll


def _changed(poll: Poll, what: str) -> None:
    after_commit(poll_changed, poll.poll_id, webinar_id=poll.webinar_id, change=what)


# --- attendees -------------------------------------------------------------------------------

def poll_of(reg: Registration, poll_id: object) -> Poll:
    """The poll `poll_id` of the attendee's webinar (any other: the same 404)."""
    try:
        pid = int(str(poll_id))
    except ValueError:
        pid = 0
    poll = db.session.get(Poll, pid) if 0 < pid < 2**31 else None
    if poll is None or poll.webinar_id != reg.webinar_id or poll.status == PollStatus.draft.value:
        raise NotFound("This poll does not exist.")
    return poll


def answer(reg: Registration, poll_id: object, option_ids: object, *, now: datetime | None = None) -> Poll:
    """Store the attendee's answer (replacing their previous one) and commit; or refuse."""
    now = now or utcnow()
    if not reg.has_access:
        raise Forbidden("You can no longer take part in this webinar.")
    poll = poll_of(reg, poll_id)
    webinar = db.session.get(Webinar, poll.webinar_id)
    assert webinar is not None
    if reg.lead is not None and reg.lead.is_staff:
        raise Forbidden("Team members run polls from the speaker console, not through a join link.")
    viewer = timing.viewer(reg, webinar, now=now)
    _require_answerable(poll, webinar, viewer)
    chosen = _chosen(poll, option_ids)
    limiter().hit(f"poll:{webinar.webinar_id}:{reg.lead_id}", limit=ANSWERS_PER_WINDOW, window=ANSWER_WINDOW,
                  message=N_("You are answering too fast. Wait a few seconds and try again."))
    db.session.execute(delete(PollVote).where(PollVote.poll_id == poll.poll_id, PollVote.lead_id == reg.lead_id))
    db.session.add_all(PollVote(poll_id=poll.poll_id, option_id=option_id, lead_id=reg.lead_id,
                                registration_id=reg.registration_id, cohort=viewer.cohort, answered_at=now)
                       for option_id in chosen)
    after_commit(poll_answered, poll.poll_id, webinar_id=poll.webinar_id, cohort=viewer.cohort)
    try:
        db.session.commit()
    except IntegrityError:  # the same attendee answering twice at the same instant: one wins
        db.session.rollback()
        raise Conflict("Your answer was not saved; try again.") from None
    return poll


def _require_answerable(poll: Poll, webinar: Webinar, viewer: timing.Viewer) -> None:
    if poll.is_closed:
        raise Conflict("This poll is closed.")
    if webinar.status in (Status.finished.value, Status.archived.value):
        raise Conflict("This poll is closed.")
    if poll.timed:
        assert poll.at_sec is not None and poll.open_sec is not None
        if viewer.position is None or viewer.position < poll.at_sec - POSITION_SLACK_SEC:
            raise Conflict("This poll is not open yet.")
        if viewer.position > poll.at_sec + poll.open_sec + POSITION_SLACK_SEC:
            raise Conflict("This poll is closed.")


def _chosen(poll: Poll, option_ids: object) -> list[int]:
    """The poll's options the answer names (each once), or Invalid."""
    if isinstance(option_ids, (str, int)):
        option_ids = [option_ids]
    if not isinstance(option_ids, (list, tuple)) or len(option_ids) > MAX_OPTIONS:
        raise Invalid("Choose one of the poll's options.")
    try:
        wanted = {int(str(o)) for o in option_ids}
    except ValueError:
        raise Invalid("Choose one of the poll's options.") from None
    known = {o.option_id for o in poll.options}
    if not wanted:
        raise Invalid("Choose an option first.")
    if not wanted <= known:
        raise Invalid("Choose one of the poll's options.")
    if len(wanted) > 1 and not poll.multiple:
        raise Invalid("This poll takes one option.")
    return sorted(wanted)


def my_choices(poll_ids: Iterable[int], lead_id: int) -> dict[int, set[int]]:
    """poll_id -> the options the lead chose."""
    ids = list(poll_ids)
    out: dict[int, set[int]] = {pid: set() for pid in ids}
    if ids:
        for pid, oid in db.session.execute(select(PollVote.poll_id, PollVote.option_id)
                                           .where(PollVote.poll_id.in_(ids), PollVote.lead_id == lead_id)):
            out[pid].add(oid)
    return out
