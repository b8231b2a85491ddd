"""The organizer's view of a webinar's Q&A: counts for the report and the rows of the CSV."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from portal.qa import queries


@dataclass(frozen=True)
class QuestionRow:
    """One question as the CSV lists it."""

    asked_at: datetime
    name: str
    email: str
    body: str
    status: str  # pending | visible | shadowed | hidden
    answer_state: str  # open | answering | answered
    votes: int
    answered_at: datetime | None
    answer: str


def counts(webinar_id: int) -> dict[str, int]:
    """asked, askers, visible, pending, hidden, answered, votes."""
    return queries.counts(webinar_id)


def rows(webinar_id: int, *, limit: int = queries.REPORT_CHUNK) -> Iterator[list[QuestionRow]]:
    """Every question in the order asked, `limit` per chunk."""
    for chunk in queries.all_questions(webinar_id, chunk=limit):
        yield [QuestionRow(q.created_at, q.author.display_name if q.author else "", q.author.email if q.author else "",
                           q.body, q.moderation_status, q.answer_state, q.votes, q.answered_at, q.answer_body or "")
               for q in chunk]
