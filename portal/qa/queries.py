"""What each viewer of the Q&A sees: the room's list, an asker's waiting questions, the
console's queue, the report's counts and rows."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from portal.core.models import Webinar
from portal.extensions import db
from portal.qa.models import Question, QuestionVote
from portal.qa.questions import is_public

LIST_LIMIT = 100  # questions a room list shows (the most voted)
CONSOLE_LIMIT = 200  # questions the console's queue shows
PRIVATE_AUTHORS_LIMIT = 20  # askers re-sent their own view after a list push (hidden / muted ones)
REPORT_CHUNK = 500


def _ranked(query: Select[tuple[Question]]) -> Select[tuple[Question]]:
    """Most votes first, then the earlier question."""
    return query.options(selectinload(Question.author)).order_by(
        Question.votes.desc(), Question.created_at, Question.question_id)


def room_list(webinar: Webinar, *, viewer_lead_id: int | None) -> list[Question]:
    """The room's list for one viewer (None: what every attendee sees, the pushed list).

    Live: every visible question, plus the viewer's own hidden or shadowed ones (they are not
    told). Auto: only the viewer's own questions, whatever their state.
    """
    mine = Question.author_id == viewer_lead_id
    if is_public(webinar):
        seen = Question.moderation_status == "visible"
        if viewer_lead_id is not None:
            seen = or_(seen, and_(mine, Question.moderation_status.in_(("shadowed", "hidden"))))
    elif viewer_lead_id is None:
        return []
    else:
        seen = mine
    query = select(Question).where(Question.webinar_id == webinar.webinar_id, seen)
    return list(db.session.scalars(_ranked(query).limit(LIST_LIMIT)))


def waiting(webinar: Webinar, *, lead_id: int | None) -> list[Question]:
    """A live webinar's questions of this asker that wait for approval (oldest first)."""
    if lead_id is None or not is_public(webinar):
        return []
    return list(db.session.scalars(select(Question).where(
        Question.webinar_id == webinar.webinar_id, Question.author_id == lead_id,
        Question.moderation_status == "pending").order_by(Question.question_id).limit(LIST_LIMIT)))


def my_votes(webinar_id: int, lead_id: int | None) -> list[int]:
    """The questions of this webinar the attendee upvoted."""
    if lead_id is None:
        return []
    return list(db.session.scalars(select(QuestionVote.question_id).join(Question).where(
        Question.webinar_id == webinar_id, QuestionVote.lead_id == lead_id).order_by(QuestionVote.question_id)))


def private_authors(webinar: Webinar) -> list[int]:
    """Askers whose own view differs from the pushed list (a hidden or shadowed question)."""
    if not is_public(webinar):
        return []
    return list(db.session.scalars(select(Question.author_id).where(
        Question.webinar_id == webinar.webinar_id, Question.moderation_status.in_(("shadowed", "hidden")))
        .group_by(Question.author_id).order_by(Question.author_id).limit(PRIVATE_AUTHORS_LIMIT)))


def console_queue(webinar_id: int) -> list[Question]:
    """The hosts' queue: the one being answered, then those waiting for approval (oldest first),
    then the rest by votes; answered ones after, hidden ones last."""
    rank = case((Question.answer_state == "answering", 0), (Question.moderation_status == "pending", 1),
                (Question.moderation_status == "hidden", 4), (Question.answer_state == "answered", 3), else_=2)
    pending_age = case((Question.moderation_status == "pending", Question.question_id), else_=0)
    return list(db.session.scalars(select(Question).options(selectinload(Question.author)).where(
        Question.webinar_id == webinar_id).order_by(rank, pending_age, Question.votes.desc(), Question.created_at,
                                                    Question.question_id).limit(CONSOLE_LIMIT)))


def counts(webinar_id: int) -> dict[str, int]:
    """The report's numbers: questions asked, askers, approved (visible), waiting, hidden,
    answered, votes."""
    row = db.session.execute(select(
        func.count(),
        func.count(func.distinct(Question.author_id)),
        func.count().filter(Question.moderation_status == "visible"),
        func.count().filter(Question.moderation_status == "pending"),
        func.count().filter(Question.moderation_status == "hidden"),
        func.count().filter(Question.answer_state == "answered"),
        func.coalesce(func.sum(Question.votes), 0),
    ).where(Question.webinar_id == webinar_id)).one()
    keys = ("asked", "askers", "visible", "pending", "hidden", "answered", "votes")
    return {key: int(value or 0) for key, value in zip(keys, row, strict=True)}


def all_questions(webinar_id: int, *, chunk: int = REPORT_CHUNK) -> Iterator[list[Question]]:
    """Every question of the webinar in the order asked, `chunk` rows per query (the CSV)."""
    cursor = 0
    while True:
        rows = list(db.session.scalars(select(Question).options(selectinload(Question.author)).where(
            Question.webinar_id == webinar_id, Question.question_id > cursor)
            .order_by(Question.question_id).limit(chunk)))
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        cursor = rows[-1].question_id
