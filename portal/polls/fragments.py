"""Server-rendered poll regions: `#room-polls` on the attendee page, `#console-poll-list` on the
console (the form that prepares a poll is outside it, so no push takes a half-typed poll away),
and their results parts (`#poll-results-<id>[-<cohort tag>]`, `#console-poll-results-<id>`)
that the coalesced pushes swap. Pushed renders are per language and carry nothing per viewer;
the page and the catch-up snapshot add the viewer's own choices and cohort.
"""
from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from flask import render_template

from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.polls import results as tally
from portal.polls import service, timing
from portal.polls.models import Poll, PollStatus, ResultsMode
from portal.registration.models import Registration

CLOSED_SHOWN = 5  # closed polls the room still shows (newest)


def cohort_tag(cohort: str) -> str:
    """Part of an element id naming an auto webinar's cohort ("" on live webinars)."""
    return "" if cohort == timing.LIVE_COHORT else f"-{zlib.crc32(cohort.encode()):08x}"


def results_id(poll_id: int, cohort: str) -> str:
    return f"poll-results-{poll_id}{cohort_tag(cohort)}"


def public_results(poll: Poll, viewer: timing.Viewer) -> bool:
    """May this viewer see the poll's results now?"""
    if not poll.timed:
        return poll.results_public
    if poll.is_closed or poll.results_mode == ResultsMode.live.value:
        return True
    assert poll.at_sec is not None and poll.open_sec is not None
    return viewer.position is not None and viewer.position > poll.at_sec + poll.open_sec


def room_polls(webinar_id: int) -> list[Poll]:
    """What the room shows: the open polls and the newest closed ones (auto: the open ones,
    each appearing at its point of the recording)."""
    shown = tally.polls_of(webinar_id, statuses=(PollStatus.open.value, PollStatus.closed.value))
    closed = [p for p in shown if p.is_closed and not p.timed][-CLOSED_SHOWN:]
    return [p for p in shown if p.is_open or p in closed]


def room_context(webinar: Webinar, *, reg: Registration | None = None, now: datetime | None = None) -> dict[str, Any]:
    """What templates/polls/_region.html reads; `reg` for the page and snapshot (their choices,
    their cohort's results), None for pushes."""
    polls = room_polls(webinar.webinar_id)
    viewer = timing.viewer(reg, webinar, now=now or utcnow()) if reg is not None else timing.Viewer()
    chosen = service.my_choices([p.poll_id for p in polls], reg.lead_id) if reg is not None else {}
    shown = {p.poll_id: tally.results(p, cohort=viewer.cohort if p.timed else None)
             for p in polls if public_results(p, viewer) and (reg is not None or not p.timed)}
    rids = {p.poll_id: results_id(p.poll_id, viewer.cohort if p.timed else timing.LIVE_COHORT) for p in polls}
    return {"polls": polls, "poll_chosen": chosen, "poll_results": shown, "poll_viewer": viewer, "poll_rid": rids}


def room_region(webinar: Webinar, *, reg: Registration | None = None, oob: bool = False,
                lang: str | None = None) -> str:
    return render_template("polls/_region.html", **room_context(webinar, reg=reg), oob=oob, lang=lang)


def voter_poll(reg: Registration, poll: Poll) -> str:
    """The voter's own poll after an answer (their choice, their cohort's results if shown)."""
    webinar = reg.webinar
    context = room_context(webinar, reg=reg)
    return render_template("polls/_poll.html", poll=poll, **context, oob=True, lang=None)


def refusal(poll_id: int, message: str) -> str:
    """Why an answer was refused, in place of the poll's feedback line (oob)."""
    return render_template("polls/_feedback.html", poll_id=poll_id, message=message, error=True, oob=True)


def room_results(poll: Poll, cohort: str, *, lang: str) -> str:
    """One cohort's results of a poll, as the room swaps them."""
    return render_template("polls/_results.html", r=tally.results(poll, cohort=cohort if poll.timed else None),
                           rid=results_id(poll.poll_id, cohort), oob=True, lang=lang)


def console_context(webinar: Webinar) -> dict[str, Any]:
    """What templates/polls/_console.html reads: every poll with its results (all cohorts)."""
    polls = tally.polls_of(webinar.webinar_id)
    return {"webinar": webinar, "console_polls": polls,
            "console_results": {p.poll_id: tally.results(p) for p in polls if p.status != PollStatus.draft.value},
            "poll_limits": {"options": service.MAX_OPTIONS, "question": service.QUESTION_MAX,
                            "option": service.OPTION_MAX}}


def console_region(webinar: Webinar, *, oob: bool = False, lang: str | None = None) -> str:
    """The console's list of polls (`#console-poll-list`), as actions answer and pushes swap it."""
    return render_template("polls/_console_list.html", **console_context(webinar), oob=oob, lang=lang)


def console_results(poll: Poll, *, lang: str) -> str:
    return render_template("polls/_console_results.html", poll=poll, r=tally.results(poll), oob=True, lang=lang)
