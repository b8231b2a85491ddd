"""The registration POST's SQL statements (SPEC §10 registration burst, issue 14): a budget
that fails when the hot path grows a statement (count them with SQLAlchemy's cursor event)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, func, select

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail.models import MailMessage

#: A new registration of a new lead: load the webinar (with its slots), the questions, the
#: lead + registration lookup, insert the lead, insert the registration, insert the outbox
#: event, insert the confirmation mail and the reminders (one statement), bump the event
#: counter and stamp the event.
BUDGET = 9


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_registration_post_stays_within_its_statement_budget(visitor, make):
    # Two days ahead with both reminders on: the confirmation and two reminders are queued.
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(days=2), remind_24h=True,
                           remind_1h=True)
    visitor.open(f"/w/{webinar.slug}")
    with statements() as seen:
        response = visitor.register(webinar.slug, email="budget@example.com", open_first=False)
    assert response.status_code == 303
    assert len(seen) <= BUDGET, "\n".join(seen)
    mails = db.session.scalars(select(MailMessage.kind).order_by(MailMessage.message_id)).all()
    assert mails == ["confirmation", "remind_24h", "remind_1h"]
    assert sum("mail_message" in s for s in seen) == 1
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 3
