"""Poll results: answers counted per option, for one cohort or all (read-only queries)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.polls.models import Poll, PollOption, PollVote

ALL = None  # every cohort together


@dataclass(frozen=True)
class Row:
    option: PollOption
    count: int
    percent: int  # of the voters (a multiple-choice poll's add up to more than 100)


@dataclass(frozen=True)
class Results:
    poll: Poll
    cohort: str | None
    voters: int
    rows: list[Row]


def results(poll: Poll, *, cohort: str | None = ALL, cohort_prefix: str | None = None) -> Results:
    """The answers to `poll` (in `cohort`, in the cohorts starting with `cohort_prefix`, or in
    all cohorts), per option in the poll's order."""
    where = [PollVote.poll_id == poll.poll_id]
    if cohort is not None:
        where.append(PollVote.cohort == cohort)
    if cohort_prefix is not None:
        where.append(PollVote.cohort.startswith(cohort_prefix, autoescape=True))
        cohort = cohort_prefix
    counts = dict(db.session.execute(
        select(PollVote.option_id, func.count()).where(*where).group_by(PollVote.option_id)).all())
    voters = db.session.scalar(select(func.count(func.distinct(PollVote.lead_id))).where(*where)) or 0
    rows = [Row(o, counts.get(o.option_id, 0), round(100 * counts.get(o.option_id, 0) / voters) if voters else 0)
            for o in poll.options]
    return Results(poll, cohort, voters, rows)


def cohorts_of(poll: Poll) -> list[str]:
    """The cohorts that answered `poll`, in order."""
    return list(db.session.scalars(select(PollVote.cohort).where(PollVote.poll_id == poll.poll_id)
                                   .group_by(PollVote.cohort).order_by(PollVote.cohort)))


def polls_of(webinar_id: int, *, statuses: Iterable[str] | None = None) -> list[Poll]:
    """A webinar's polls, oldest first."""
    query = select(Poll).where(Poll.webinar_id == webinar_id)
    if statuses is not None:
        query = query.where(Poll.status.in_(list(statuses)))
    return list(db.session.scalars(query.order_by(Poll.poll_id)))
