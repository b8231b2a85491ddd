"""The organizer's poll report: results per poll (and per cohort on auto webinars) and every
attendee's answer, for /admin/webinars/<id>/polls and its CSV (portal.admin.pages.polls)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.core.models import User, Webinar
from portal.extensions import db
from portal.polls import results as tally
from portal.polls import timing
from portal.polls.models import Poll, PollOption, PollStatus, PollVote

ANSWER_CHUNK = 1000  # answers per query of the CSV


@dataclass(frozen=True)
class PollReport:
    poll: Poll
    total: tally.Results
    cohorts: list[tally.Results]  # auto webinars: one per chosen start, the watch-now viewers together


def summary(webinar: Webinar) -> list[PollReport]:
    """Every poll shown to attendees (not the drafts), oldest first."""
    out = []
    for poll in tally.polls_of(webinar.webinar_id, statuses=(PollStatus.open.value, PollStatus.closed.value)):
        cohorts = []
        if poll.timed:
            named = tally.cohorts_of(poll)
            cohorts = [tally.results(poll, cohort=c) for c in named if not c.startswith(timing.WATCH_NOW)]
            if any(c.startswith(timing.WATCH_NOW) for c in named):
                cohorts.append(tally.results(poll, cohort_prefix=timing.WATCH_NOW))
        out.append(PollReport(poll, tally.results(poll), cohorts))
    return out


@dataclass(frozen=True)
class Answer:
    poll_id: int
    question: str
    cohort: str
    name: str
    email: str
    options: str  # the chosen labels, "; " between
    answered_at: datetime


def answers(webinar: Webinar) -> Iterator[Answer]:
    """One row per poll and attendee (by poll, then attendee), ANSWER_CHUNK attendees per query."""
    for poll in tally.polls_of(webinar.webinar_id):
        after = 0
        while True:
            leads = list(db.session.scalars(
                select(PollVote.lead_id).where(PollVote.poll_id == poll.poll_id, PollVote.lead_id > after)
                .group_by(PollVote.lead_id).order_by(PollVote.lead_id).limit(ANSWER_CHUNK)))
            if not leads:
                break
            rows = db.session.execute(
                select(PollVote.lead_id, PollVote.cohort, PollVote.answered_at, User.display_name, User.email,
                       PollOption.label)
                .join(PollOption, PollOption.option_id == PollVote.option_id)
                .join(User, User.user_id == PollVote.lead_id)
                .where(PollVote.poll_id == poll.poll_id, PollVote.lead_id.in_(leads))
                .order_by(PollVote.lead_id, PollOption.position)).all()
            grouped: dict[int, list] = {}
            for row in rows:
                grouped.setdefault(row.lead_id, []).append(row)
            for group in grouped.values():
                first = group[0]
                yield Answer(poll.poll_id, poll.question, first.cohort, first.display_name or "", first.email or "",
                             "; ".join(r.label for r in group), first.answered_at)
            after = leads[-1]


def cohort_start(cohort: str | None) -> datetime | None:
    """The scheduled start a cohort names (None: live, or the watch-now viewers)."""
    if not cohort or cohort.startswith(timing.WATCH_NOW):
        return None
    try:
        return datetime.fromisoformat(cohort.replace("Z", "+00:00"))
    except ValueError:
        return None
