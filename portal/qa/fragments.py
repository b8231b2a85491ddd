"""Server-rendered Q&A regions, as the pages include them and as pushes swap them.

Room: `#qa-list` (the list; live: the same for everyone, plus an asker's own hidden or
shadowed questions in their own renders), `#qa-waiting` (an asker's questions waiting for
approval), `#qa-votes` (which questions this viewer upvoted: static/js/qa.js presses their
buttons, so the pushed list stays the same for everyone) and `#qa-feedback`. Console:
`#console-qa`, the hosts' queue. Pushed variants are rendered per language (data-lang).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template, url_for

from portal.core.models import Status, Webinar
from portal.qa import queries
from portal.qa.questions import is_moderated, is_public
from portal.registration.models import Registration

CLOSED = (Status.finished.value, Status.archived.value)


def room_list(webinar: Webinar, *, viewer_lead_id: int | None, oob: bool = False, lang: str | None = None) -> str:
    """`#qa-list` for one viewer (None: the list every attendee is pushed)."""
    questions = queries.room_list(webinar, viewer_lead_id=viewer_lead_id)
    return render_template("qa/_list.html", questions=questions, public=is_public(webinar), oob=oob, lang=lang)


def waiting(webinar: Webinar, *, lead_id: int | None, oob: bool = False, lang: str | None = None) -> str:
    """`#qa-waiting`: the asker's questions a host has not approved yet."""
    return render_template("qa/_waiting.html", waiting=queries.waiting(webinar, lead_id=lead_id), oob=oob, lang=lang)


def votes(webinar: Webinar, *, lead_id: int | None, oob: bool = True) -> str:
    """`#qa-votes`: the ids this viewer upvoted (language-neutral)."""
    return render_template("qa/_votes.html", voted=queries.my_votes(webinar.webinar_id, lead_id), oob=oob)


def feedback(message: str = "", *, error: bool = False) -> str:
    """The ask form's feedback line (oob)."""
    return render_template("qa/_feedback.html", message=message, error=error, oob=True)


def own_view(webinar: Webinar, *, lead_id: int, lang: str | None = None) -> str:
    """What only this asker sees, as oob fragments: their list and their waiting questions."""
    return room_list(webinar, viewer_lead_id=lead_id, oob=True, lang=lang) + waiting(
        webinar, lead_id=lead_id, oob=True, lang=lang)


def room_snapshot(reg: Registration, webinar: Webinar) -> str:
    """Catch-up and polling for one attendee: every Q&A region (the room's panel snapshot)."""
    return own_view(webinar, lead_id=reg.lead_id) + votes(webinar, lead_id=reg.lead_id)


def panel_context(reg: Registration, webinar: Webinar, token: str) -> Mapping[str, Any]:
    """The room panel's context (templates/qa/_panel.html reads it as `panel`)."""
    return {
        "public": is_public(webinar),
        "moderated": is_moderated(webinar),
        "closed": webinar.status in CLOSED,
        "questions": queries.room_list(webinar, viewer_lead_id=reg.lead_id),
        "waiting": queries.waiting(webinar, lead_id=reg.lead_id),
        "voted": queries.my_votes(webinar.webinar_id, reg.lead_id),
        "ask_url": url_for("qa.ask", token=token),
        "vote_url": url_for("qa.vote", token=token),
    }


# --- console --------------------------------------------------------------------------------

def console_context(webinar: Webinar) -> dict[str, Any]:
    questions = queries.console_queue(webinar.webinar_id)
    return {
        "webinar": webinar,
        "questions": questions,
        "public": is_public(webinar),
        "moderated": is_moderated(webinar),
        "pending": sum(1 for q in questions if q.moderation_status == "pending"),
    }


def console_region(webinar: Webinar, *, oob: bool = False, lang: str | None = None) -> str:
    """`#console-qa`: the hosts' queue with its buttons and the moderation switch."""
    return render_template("qa/_console.html", qa=console_context(webinar), oob=oob, lang=lang)
