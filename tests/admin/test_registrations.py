"""The registrations table, its search, revoke/restore and the CSV export."""
from __future__ import annotations

import csv
import io

from portal.admin import exports
from portal.extensions import db
from portal.registration.service import register
from portal.registration.tokens import find_registration
from tests.admin import dataset

HEADER = ["Name", "Email", "Registered (UTC)", "Source", "Start (UTC)", "Attended", "Watch time", "Completed",
          "CTA clicked", "Status", "First join (UTC)", "Last leave (UTC)", "CTA clicked at (UTC)"]


def _rows_by_email(html: str) -> dict[str, str]:
    out = {}
    for chunk in html.split('data-testid="registration-row"')[1:]:
        row = chunk.split("</tr>", 1)[0]
        for email in ("anna", "boris", "eve", "dmitry"):
            if f"{email}@example.test" in row:
                out[email] = row
    return out


def _cells(row: str) -> dict[str, str]:
    import re

    cells = {}
    for key, body in re.findall(r'class="col-(\w+)">(.*?)</td>', row, re.S):
        cells[key] = re.sub(r"<[^>]+>", "", body).strip()
    return cells


def test_table_shows_facts_from_every_ledger(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    html = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/registrations").get_data(as_text=True)
    rows = {k: _cells(v) for k, v in _rows_by_email(html).items()}
    assert rows["anna"]["name"] == "Анна Иванова"
    columns = ("attended", "watch_time", "completed", "cta_clicked")
    assert tuple(rows["anna"][c] for c in columns) == ("yes", "0:40:00", "yes", "yes")
    assert tuple(rows["boris"][c] for c in columns) == ("yes", "0:10:00", "no", "no")
    assert (rows["eve"]["attended"], rows["eve"]["completed"]) == ("no", "no")
    dmitry = rows["dmitry"]
    assert (dmitry["watch_time"], dmitry["completed"], dmitry["source"]) == ("0:40:00", "yes", "newsletter")
    assert "4 registrations" in html


def test_table_columns_are_the_export_columns(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    html = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/registrations").get_data(as_text=True)
    thead = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    for column in exports.PAGE_COLUMNS:
        assert f'class="col-{column.key}">{column.label}</th>' in thead


def test_search_folds_cyrillic_case_and_swaps_the_partial(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    session = as_user(staff.owner)
    url = f"/admin/webinars/{data.webinar.webinar_id}/registrations"
    for query in ("АННА", "анна", "ANNA@EXAMPLE"):
        response = session.get(url, query_string={"q": query},
                               headers={"HX-Request": "true", "HX-Target": "registrations"})
        html = response.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="registrations"'), query
        assert set(_rows_by_email(html)) == {"anna"}, query
    assert _rows_by_email(session.get(url, query_string={"q": "100%"}).get_data(as_text=True)) == {}


def test_pagination(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    for n in range(55):
        register(webinar, name=f"Person {n:02d}", email=f"p{n:02d}@example.test")
    session = as_user(staff.owner)
    url = f"/admin/webinars/{webinar.webinar_id}/registrations"
    first = session.get(url).get_data(as_text=True)
    second = session.get(url, query_string={"page": 2}).get_data(as_text=True)
    assert first.count('data-testid="registration-row"') == 50
    assert second.count('data-testid="registration-row"') == 5
    assert "51–55 of 55" in second
    # Newest first: the last registrant opens page one.
    assert "p54@example.test" in first and "p00@example.test" in second
    beyond = session.get(url, query_string={"page": 99}).get_data(as_text=True)
    assert beyond.count('data-testid="registration-row"') == 5


def test_revoke_and_restore_keep_the_same_link(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    reg, token = data.regs["boris"], data.tokens["boris"]
    session = as_user(staff.owner)
    base = f"/admin/webinars/{data.webinar.webinar_id}/registrations/{reg.registration_id}"
    revoked = session.post(base + "/revoke", htmx=True)
    assert revoked.status_code == 200
    html = revoked.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="reg-{reg.registration_id}"') and "revoked" in html
    assert 'data-testid="registration-restore"' in html
    db.session.expire_all()
    assert reg.revoked_at is not None and find_registration(token) is None
    assert session.post(base + "/revoke", htmx=True).status_code == 200  # idempotent
    restored = session.post(base + "/restore", htmx=True)
    assert 'data-testid="registration-revoke"' in restored.get_data(as_text=True)
    db.session.expire_all()
    assert reg.revoked_at is None
    assert find_registration(token).registration_id == reg.registration_id


def test_revoke_closes_open_attendance(as_user, staff, make):
    from portal.attendance import ledger as attendance
    from portal.attendance.models import Attendance

    webinar = make.webinar(owner=staff.owner, status="live")
    outcome = register(webinar, name="Inside", email="inside@example.test")
    attendance.enter(outcome.registration, session_id="s-1", connection_id="c-1")
    db.session.commit()
    as_user(staff.owner).post(f"/admin/webinars/{webinar.webinar_id}/registrations/{outcome.registration.registration_id}/revoke")
    db.session.expire_all()
    row = db.session.query(Attendance).one()
    assert row.left_at is not None and row.leave_reason == "revoked"


def test_revoke_pushes_the_count_and_closes_the_sockets_like_a_ban(app, monkeypatch, as_user, staff, make):
    """Revoking someone present moves the room's count and the console's list at once (it did
    not before issue 8: only a ban pushed), and their sockets close with reason "revoked"."""
    from portal import realtime
    from portal.attendance import presence
    from portal.room.channels import console_channel, room_channel

    app.config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0
    published, closed = [], []
    monkeypatch.setattr(realtime, "publish", lambda channel, html: published.append((channel, html)))
    monkeypatch.setattr(realtime, "disconnect",
                        lambda channel, *, member, reason: closed.append((channel, member, reason)))
    webinar = make.webinar(owner=staff.owner, status="live")
    stays = register(webinar, name="Stays", email="stays@example.test").registration
    goes = register(webinar, name="Goes", email="goes@example.test").registration
    presence.connected(stays, connection_id="tab-1")
    presence.connected(goes, connection_id="tab-2")
    published.clear()
    url = f"/admin/webinars/{webinar.webinar_id}/registrations/{goes.registration_id}/revoke"
    assert as_user(staff.owner).post(url, headers={"HX-Request": "true"}).status_code == 200
    counts = [html for channel, html in published if channel == room_channel(webinar.webinar_id)
              and 'data-testid="attendee-count"' in html]
    assert counts and 'data-count="1"' in counts[-1], counts
    assert any(channel == console_channel(webinar.webinar_id) for channel, _ in published)
    assert closed == [(room_channel(webinar.webinar_id), goes.lead_id, "revoked")]


def test_revoke_of_another_webinars_registration_is_404(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    mine = make.webinar(owner=staff.owner)
    response = as_user(staff.owner).post(
        f"/admin/webinars/{mine.webinar_id}/registrations/{data.regs['anna'].registration_id}/revoke")
    assert response.status_code == 404
    db.session.expire_all()
    assert data.regs["anna"].revoked_at is None


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM missing"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    response = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/registrations.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="registrations-')
    assert response.is_streamed
    rows = _csv(response)
    assert rows[0] == HEADER
    by_email = {r[1]: r for r in rows[1:]}
    assert len(by_email) == 4
    anna = by_email["anna@example.test"]
    assert anna[0] == "Анна Иванова" and anna[3] == "newsletter"
    assert anna[5:11] == ["yes", "0:40:00", "yes", "yes", "registered", "2030-01-15 10:00:00"]
    assert anna[11] == "2030-01-15 10:40:00" and anna[12]  # issue 12: visit times and the click's time
    boris = by_email["boris@example.test"]
    assert boris[5:] == ["yes", "0:10:00", "no", "no", "registered", "2030-01-15 10:05:00", "2030-01-15 10:15:00", ""]
    eve = by_email["eve@example.test"]
    assert eve[0] == "'=HYPERLINK(\"http://x\")" and eve[3] == "'-1+2"
    assert eve[5:] == ["no", "0:00:00", "no", "no", "registered", "", "", ""]
    assert anna[2] == data.regs["anna"].registered_at.strftime("%Y-%m-%d %H:%M:%S")
    # Same order as the page: newest first.
    assert [r[1] for r in rows[1:]] == [
        "dmitry@example.test", "eve@example.test", "boris@example.test", "anna@example.test"]


def test_csv_export_follows_the_search(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    response = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/registrations.csv",
                                        query_string={"q": "дмит"})
    rows = _csv(response)
    assert [r[1] for r in rows[1:]] == ["dmitry@example.test"]


def test_escape_cell():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert exports.escape_cell(dangerous) == "'" + dangerous
    for safe in ("Anna", "1-1", "", "a=b", "'quoted"):
        assert exports.escape_cell(safe) == safe


def test_csv_chunks_span_many_pages(app, staff, make, monkeypatch):
    """Keyset chunks cover every row exactly once (ties on registered_at included)."""
    from portal.admin import reports
    from portal.db_types import utcnow
    from portal.registration.models import Registration

    webinar = make.webinar(owner=staff.owner, status="scheduled")
    for n in range(23):
        register(webinar, name=f"P{n}", email=f"chunk{n}@example.test")
    same = utcnow()
    db.session.query(Registration).update({Registration.registered_at: same})
    db.session.commit()
    chunks = list(reports.all_registration_rows(webinar, now=utcnow(), chunk=5))
    ids = [r.registration_id for chunk in chunks for r in chunk]
    assert len(chunks) == 5 and len(ids) == 23 and len(set(ids)) == 23
