"""Replay sources of the interaction packages: questions with their answers, poll results."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from portal.extensions import db
from portal.polls import results as poll_results
from portal.polls.models import Poll
from portal.qa.models import Question
from portal.replay.timeline import Run, TimedItem


def questions(run: Run) -> Iterator[TimedItem]:
    """Questions everyone saw, at the second they were asked; a written or spoken answer at
    the second the host marked it answered."""
    query = select(Question).where(Question.webinar_id == run.webinar_id, Question.moderation_status == "visible")
    if run.ended_at is not None:
        query = query.where(Question.created_at <= run.ended_at)
    for q in db.session.scalars(query.order_by(Question.question_id)):
        author = q.author.display_name if q.author else "?"
        yield TimedItem(at=max(0.0, run.offset(q.created_at)), kind="feed", key=f"q-{q.question_id}",
                        template="replay/_question.html",
                        context={"id": q.question_id, "body": q.body, "author": author, "answer": None})
        if q.answered_at is not None and (run.ended_at is None or q.answered_at <= run.ended_at):
            yield TimedItem(at=max(0.0, run.offset(q.answered_at)), kind="feed", key=f"a-{q.question_id}",
                            template="replay/_question.html",
                            context={"id": q.question_id, "body": q.body, "author": author,
                                     "answer": q.answer_body or ""})


def polls(run: Run) -> Iterator[TimedItem]:
    """Each live poll's results from the second it was closed (as the room saw them then)."""
    query = select(Poll).where(Poll.webinar_id == run.webinar_id, Poll.at_sec.is_(None), Poll.closed_at.is_not(None))
    if run.ended_at is not None:
        query = query.where(Poll.closed_at <= run.ended_at)
    for poll in db.session.scalars(query.order_by(Poll.poll_id)):
        counted = poll_results.results(poll)
        # Plain values: the items are cached past this request's session (timeline.CACHE_SECONDS).
        rows = [{"label": row.option.label, "count": row.count, "percent": row.percent} for row in counted.rows]
        yield TimedItem(at=max(0.0, run.offset(poll.closed_at)), kind="state", key=f"poll-{poll.poll_id}",
                        template="replay/_poll.html",
                        context={"question": poll.question, "voters": counted.voters, "rows": rows})
