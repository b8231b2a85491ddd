"""The organizer's poll report and CSV, reached from the webinar's pages."""
from __future__ import annotations

import csv
import io

from portal.polls import service
from tests.conftest import Auth, FreshGClient
from tests.room.conftest import register


def organizer_client(app, user):
    app.test_client_class = FreshGClient
    client = app.test_client()
    assert Auth(client).login(user.email).status_code == 302
    return client


def test_the_report_shows_results_and_the_csv_every_answer(app, make):
    owner, speaker = make.user(role="organizer"), make.user(role="speaker")
    webinar = make.webinar(owner=owner, status="live", speakers=(speaker,))
    poll = service.create(webinar, actor=speaker, question="=Best day?", options=["Mon", "Tue", "Wed"], multiple=True)
    service.create(webinar, actor=speaker, question="Never opened", options=["a", "b"])
    service.open_poll(poll, actor=speaker)
    ann, bob = register(webinar, name="Ann"), register(webinar, name="Bob")
    service.answer(ann.reg, poll.poll_id, [poll.options[0].option_id, poll.options[2].option_id])
    service.answer(bob.reg, poll.poll_id, [poll.options[2].option_id])
    client = organizer_client(app, owner)
    overview = client.get(f"/admin/webinars/{webinar.webinar_id}/analytics").get_data(as_text=True)
    assert f'href="/admin/webinars/{webinar.webinar_id}/polls"' in overview  # reachable by a tab
    page = client.get(f"/admin/webinars/{webinar.webinar_id}/polls").get_data(as_text=True)
    assert "=Best day?" in page and "Never opened" not in page
    assert "100% · 2" in page and "50% · 1" in page and "2 answers" in page
    assert f'/admin/webinars/{webinar.webinar_id}/polls.csv' in page
    response = client.get(f"/admin/webinars/{webinar.webinar_id}/polls.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Poll", "Question", "Cohort"] and len(rows) == 3
    by_name = {r[3]: r for r in rows[1:]}
    assert by_name[ann.reg.lead.display_name][5] == "Mon; Wed"
    assert by_name[bob.reg.lead.display_name][5] == "Wed"
    assert by_name[bob.reg.lead.display_name][1] == "'=Best day?"  # no formula in a spreadsheet


def test_another_organizers_report_is_refused(app, make):
    webinar = make.webinar(status="live")
    client = organizer_client(app, make.user(role="organizer"))
    assert client.get(f"/admin/webinars/{webinar.webinar_id}/polls").status_code == 403
    assert client.get(f"/admin/webinars/{webinar.webinar_id}/polls.csv").status_code == 403
