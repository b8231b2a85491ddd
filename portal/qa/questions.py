"""Q&A rules: asking, voting, the hosts' moderation and answers, the per-webinar setting.

- Asking follows the room's chat rules (portal.room.chat): the same cleaning and length, the
  same rate limit (its own bucket), a revoked / cancelled / banned link or a staff account
  writes nothing, and a muted attendee's question is stored `shadowed` (only they see it).
  Questions may be asked while the room is open (live, paused, a live webinar's lobby).
- Moderated webinars (QaSettings.moderated, live only): a new question is `pending` until a
  host approves it; its author sees it as waiting. Auto webinars have no public list: every
  question goes to the hosts, and the asker alone sees it and its answer.
- Voting: one upvote per attendee per question (a unique row), set or withdrawn explicitly
  (`up`), so a repeated frame changes nothing; only questions everyone sees can get votes;
  VOTES_PER_WINDOW per attendee and WINDOW; a muted attendee's vote is refused (a vote is a
  public act). A vote that changes nothing writes and announces nothing.
- Hosts: approve, hide (the author is told nothing: they keep seeing it), show again, mark
  "answering now" (one at a time: the previous one becomes answered), answered, reopen, and
  write an answer. Repeating the current state is a no-op.
Every change commits with a `question_changed` after-commit signal (portal.qa.push renders).
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from portal.core.models import User, Webinar, WebinarType
from portal.core.permissions import Action, require
from portal.db_types import utcnow
from portal.errors import N_, Conflict, Forbidden, NotFound
from portal.extensions import db
from portal.qa.models import QaSettings, Question, QuestionVote
from portal.ratelimit import limiter
from portal.registration.models import Registration
from portal.room import chat, cohorts
from portal.signals import after_commit, question_changed

log = logging.getLogger(__name__)

VOTES_PER_WINDOW = 20
WINDOW = chat.WINDOW
HOST_VERBS = ("approve", "hide", "unhide", "answering", "answered", "reopen")
NO_SUCH_QUESTION = N_("This question does not exist.")


def is_moderated(webinar: Webinar) -> bool:
    """Do new questions wait for a host's approval? (Never in auto webinars: nothing is public.)"""
    if webinar.type != WebinarType.live.value:
        return False
    return bool(db.session.scalar(select(QaSettings.moderated).where(QaSettings.webinar_id == webinar.webinar_id)))


def set_moderated(webinar: Webinar, moderated: bool, *, actor: User) -> None:
    """Turn approval of new questions on or off (questions already waiting keep waiting)."""
    require(actor, Action.MODERATE, webinar)
    settings = db.session.get(QaSettings, webinar.webinar_id)
    if settings is None:
        settings = QaSettings(webinar_id=webinar.webinar_id, moderated=False)
        db.session.add(settings)
    if settings.moderated == moderated:
        db.session.rollback()
        return
    settings.moderated = moderated
    _announce(webinar, None, action="settings", actor=actor, public=False)
    db.session.commit()
    log.info("Q&A of webinar %s %s by %s", webinar.webinar_id, "moderated" if moderated else "open", actor.user_id)


def is_public(webinar: Webinar) -> bool:
    """Does this webinar's room show a list every attendee sees? (Auto: each asker sees their own.)"""
    return webinar.type == WebinarType.live.value


# --- attendees ------------------------------------------------------------------------------

def ask(reg: Registration, body: object) -> Question:
    """An attendee's question: the chat's checks, cleaned, rate limited, stored, committed."""
    webinar = reg.webinar
    chat.require_writer(reg, Action.ENTER_ROOM)
    _require_open(reg)
    text = chat.validate(body)
    chat.rate_limit(reg, "qa")
    status = chat.stored_status(reg)
    if status == "visible" and is_moderated(webinar):
        status = "pending"
    question = Question(webinar_id=webinar.webinar_id, author_id=reg.lead_id, body=text, created_at=utcnow(),
                        moderation_status=status, answer_state="open", votes=0)
    db.session.add(question)
    db.session.flush()
    _announce(webinar, question, action="ask", public=status == "visible" and is_public(webinar))
    db.session.commit()
    log.info("question %s in webinar %s by %s (%s)", question.question_id, webinar.webinar_id, reg.lead_id, status)
    return question


def vote(reg: Registration, question_id: object, *, up: bool) -> Question:
    """Set (up) or withdraw this attendee's vote on a question everyone sees."""
    webinar = reg.webinar
    chat.require_writer(reg, Action.ENTER_ROOM)
    question = _question(webinar, question_id)
    if not is_public(webinar) or question.moderation_status != "visible":
        if is_public(webinar) and question.author_id == reg.lead_id and question.moderation_status != "pending":
            db.session.rollback()
            return question  # their own hidden or shadowed question: nothing counts, nothing tells
        raise NotFound(NO_SUCH_QUESTION)  # exactly as a forged id: nothing tells them apart
    if reg.chat_muted_at is not None:
        raise Forbidden("You cannot vote in this webinar.")
    _require_open(reg)
    limiter().hit(f"qa-vote:{webinar.webinar_id}:{reg.lead_id}", limit=VOTES_PER_WINDOW, window=WINDOW,
                  message=N_("You are voting too fast. Wait a few seconds and try again."))
    voted = db.session.scalar(select(QuestionVote.vote_id).where(
        QuestionVote.question_id == question.question_id, QuestionVote.lead_id == reg.lead_id))
    if bool(voted) == up:
        db.session.rollback()
        return question
    if up:
        db.session.add(QuestionVote(question_id=question.question_id, lead_id=reg.lead_id, created_at=utcnow()))
    else:
        db.session.execute(delete(QuestionVote).where(QuestionVote.vote_id == voted))
    try:
        db.session.flush()
    except IntegrityError:  # the same vote from another tab at the same moment: stored once
        db.session.rollback()
        return _question(webinar, question_id)
    _recount(question)
    _announce(webinar, question, action="vote", public=True)
    db.session.commit()
    return question


def _recount(question: Question) -> None:
    """The vote count from the rows themselves (concurrent voters cannot lose an increment)."""
    count = select(func.count()).select_from(QuestionVote).where(
        QuestionVote.question_id == question.question_id).scalar_subquery()
    db.session.execute(update(Question).where(Question.question_id == question.question_id).values(votes=count)
                       .execution_options(synchronize_session=False))
    db.session.refresh(question, ["votes"])


def _require_open(reg: Registration) -> None:
    """Questions follow the asker's own run (a live webinar with several start times)."""
    webinar = reg.webinar
    phase = chat.room_phase(webinar, starts_at=cohorts.of(reg).starts_at)
    if phase == "not_yet":
        raise Conflict("Questions open %(n)s minutes before the start.", n=webinar.chat_lobby_minutes)
    if phase != "open":
        raise Conflict("Questions are closed.")


# --- hosts ----------------------------------------------------------------------------------

def moderate(webinar: Webinar, question_id: object, verb: str, *, actor: User) -> Question:
    """A host's action on a question (HOST_VERBS); repeating the current state changes nothing."""
    require(actor, Action.MODERATE, webinar)
    question = _question(webinar, question_id)
    was_public = question.moderation_status == "visible"
    if verb == "approve":
        changed = _set(question, moderation_status="visible") if question.moderation_status in (
            "pending", "shadowed") else False
    elif verb == "hide":
        changed = _set(question, moderation_status="hidden")
    elif verb == "unhide":
        changed = _set(question, moderation_status="visible") if question.moderation_status == "hidden" else False
    elif verb in ("answering", "answered", "reopen"):
        if question.moderation_status == "pending":
            raise Conflict("Approve the question first.")
        if verb == "answering":
            _finish_current(webinar, but=question)
        changed = _set(question, answer_state={"reopen": "open"}.get(verb, verb),
                       answered_at=utcnow() if verb == "answered" else question.answered_at)
    else:
        raise NotFound("This action does not exist.")
    if not changed:
        db.session.rollback()
        return question
    public = is_public(webinar) and (was_public or question.moderation_status == "visible")
    _announce(webinar, question, action=verb, actor=actor, public=public)
    db.session.commit()
    log.info("question %s of webinar %s: %s by %s", question.question_id, webinar.webinar_id, verb, actor.user_id)
    return question


def answer(webinar: Webinar, question_id: object, body: object, *, actor: User) -> Question:
    """A host's written answer (marks the question answered); in auto webinars only the asker sees it."""
    require(actor, Action.MODERATE, webinar)
    question = _question(webinar, question_id)
    if question.moderation_status == "pending":
        raise Conflict("Approve the question first.")
    text = chat.validate(body)
    _set(question, answer_body=text, answer_state="answered", answered_at=question.answered_at or utcnow())
    _announce(webinar, question, action="answer", actor=actor,
              public=is_public(webinar) and question.moderation_status == "visible")
    db.session.commit()
    log.info("question %s of webinar %s answered in writing by %s", question.question_id, webinar.webinar_id,
             actor.user_id)
    return question


def _finish_current(webinar: Webinar, *, but: Question) -> None:
    """Only one question is "answering now": the previous one counts as answered."""
    for other in db.session.scalars(select(Question).where(
            Question.webinar_id == webinar.webinar_id, Question.answer_state == "answering",
            Question.question_id != but.question_id)):
        other.answer_state = "answered"
        other.answered_at = other.answered_at or utcnow()
        _announce(webinar, other, action="answered", public=is_public(webinar) and other.moderation_status == "visible")


def _set(question: Question, **values: object) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(question, name) != value:
            setattr(question, name, value)
            changed = True
    return changed


def _question(webinar: Webinar, question_id: object) -> Question:
    """The webinar's question by id; a forged or foreign id is the same 404."""
    if isinstance(question_id, bool) or not isinstance(question_id, (int, str)) \
            or not str(question_id).isdigit() or len(str(question_id)) > 12:
        raise NotFound(NO_SUCH_QUESTION)
    question = db.session.get(Question, int(question_id))
    if question is None or question.webinar_id != webinar.webinar_id:
        raise NotFound(NO_SUCH_QUESTION)
    return question


def _announce(webinar: Webinar, question: Question | None, *, action: str, public: bool,
              actor: User | None = None) -> None:
    after_commit(question_changed, webinar.webinar_id, question_id=question.question_id if question else None,
                 author_id=question.author_id if question else None, public=public, action=action,
                 actor_id=actor.user_id if actor else None)
