"""Report numbers on the scripted dataset (tests/admin/dataset.py)."""
from __future__ import annotations

import re

import pytest

from portal.admin import analytics, reports
from portal.db_types import utcnow
from tests.admin import dataset


def test_attendance_report_numbers(make, staff):
    data = dataset.live(make, staff.owner)
    overview = reports.attendance_overview(data.webinar, now=utcnow())
    assert (overview.attendees, overview.peak, overview.average_seconds) == (3, 3, 1800)
    page = reports.attendee_page(data.webinar, now=utcnow())
    assert [(a.name, a.total_seconds, a.completed, len(a.visits)) for a in page.items] == [
        ("Анна Иванова", 2400, True, 2), ("Boris", 600, False, 1), ("Дмитрий", 2400, True, 1)]  # dmitry: by event
    assert [(v.entered_at, v.left_at, v.leave_reason) for v in page.items[0].visits] == [
        (dataset.at(0), dataset.at(30), "disconnected"), (dataset.at(20), dataset.at(40), "left")]
    assert dict(reports.leave_reasons(data.webinar)) == {"left": 2, "disconnected": 1, "webinar_finished": 1}


def test_timeline_counts_distinct_people(make, staff):
    data = dataset.live(make, staff.owner)
    points = reports.attendance_overview(data.webinar, now=utcnow(), buckets=50).points
    # One bucket per minute over 10:00-10:50: 1 from :00, 2 from :05, 3 from :10, 2 from :15, 1 from :40.
    by_minute = {int((p.at - dataset.T0).total_seconds() // 60): p.count for p in points}
    assert by_minute[0] == 1 and by_minute[5] == 2 and by_minute[12] == 3
    assert by_minute[14] == 3 and by_minute[15] == 2 and by_minute[39] == 2 and by_minute[40] == 1
    assert max(p.count for p in points) == 3  # anna's two tabs count once


def test_attendance_page_renders_chart_and_numbers(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    html = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/attendance").get_data(as_text=True)
    assert re.search(r'data-testid="attendees-total">3<', html)
    assert re.search(r'data-testid="attendees-peak">3<', html)
    assert re.search(r'data-testid="attendees-average">0:30:00<', html)
    assert '<svg viewBox="0 0 1000 240"' in html and 'class="area"' in html
    assert "connection lost" in html and 'data-testid="progress-distribution"' not in html


def test_progress_distribution_for_auto(as_user, staff, make):
    data = dataset.auto(make, staff.owner)
    assert reports.progress_distribution(data.webinar) == {
        "not_started": 1, "0": 1, "25": 1, "50": 1, "75": 0, "100": 1}
    html = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/attendance").get_data(as_text=True)
    section = html.split('data-testid="progress-distribution"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-step="100">\s*<td>100 %</td>\s*<td class="num">1</td>', section)
    assert re.search(r'data-step="75">\s*<td>75 %</td>\s*<td class="num">0</td>', section)


def test_auto_registrations_read_user_meta(as_user, staff, make):
    data = dataset.auto(make, staff.owner)
    page = reports.registration_page(data.webinar, now=utcnow())
    rows = {r.email.split("@")[0]: r for r in page.items}
    full = rows["p100"]
    assert (full.completed, full.cta_clicked, full.progress, full.watch_seconds) == (True, True, 100, 120)
    assert (rows["p50"].completed, rows["p50"].cta_clicked, rows["p50"].progress) == (False, False, 50)
    assert (rows["none"].attended, rows["none"].progress) == (False, None)
    assert rows["p100"].slot_at == dataset.T0


def test_funnel_formulas_live(make, staff):
    data = dataset.live(make, staff.owner)
    funnel = analytics.funnel(data.webinar)
    assert (funnel.registered, funnel.attended, funnel.completed, funnel.cta_clicked) == (4, 3, 2, 1)
    assert funnel.attendance_rate == pytest.approx(3 / 4)
    assert funnel.completion_rate == pytest.approx(2 / 3)
    assert funnel.cta_rate == pytest.approx(1 / 3)
    assert funnel.conversion == pytest.approx(1 / 4)
    sources = {s: (f.registered, f.attended, f.completed, f.cta_clicked) for s, f in analytics.by_source(data.webinar)}
    assert sources == {"newsletter": (2, 2, 2, 1), "": (1, 1, 0, 0), "-1+2": (1, 0, 0, 0)}
    assert [s for s, _ in analytics.by_source(data.webinar)][0] == "newsletter"


def test_funnel_formulas_auto(make, staff):
    data = dataset.auto(make, staff.owner)
    funnel = analytics.funnel(data.webinar)
    assert (funnel.registered, funnel.attended, funnel.completed, funnel.cta_clicked) == (5, 4, 1, 1)
    assert funnel.completion_rate == pytest.approx(1 / 4)


def test_empty_funnel_has_no_rates(make, staff):
    webinar = make.webinar(owner=staff.owner)
    funnel = analytics.funnel(webinar)
    assert funnel == analytics.Funnel(0, 0, 0, 0)
    assert funnel.attendance_rate is None and funnel.conversion is None
    assert analytics.by_source(webinar) == []


def test_analytics_page(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    html = as_user(staff.owner).get(f"/admin/webinars/{data.webinar.webinar_id}/analytics").get_data(as_text=True)
    for key, n in (("registered", 4), ("attended", 3), ("completed", 2), ("cta_clicked", 1)):
        assert re.search(rf'data-testid="funnel-{key}">{n}<', html)
    assert re.search(r'data-testid="rate-attendance">75.0 %<', html)
    assert re.search(r'data-testid="rate-completion">66.7 %<', html)
    assert re.search(r'data-testid="rate-cta">33.3 %<', html)
    assert re.search(r'data-testid="rate-conversion">25.0 %<', html)
    assert "attended ÷ registered" in html and "completed ÷ attended" in html
    assert html.count('<rect class="step') == 4
    assert "(direct)" in html and 'data-source="newsletter"' in html


def test_dashboard_counts(as_user, staff, make):
    from portal.attendance.models import Attendance
    from portal.extensions import db

    data = dataset.live(make, staff.owner)
    make.bring_to(data.webinar, "live")
    db.session.add(Attendance(webinar_id=data.webinar.webinar_id, lead_id=data.regs["eve"].lead_id, session_id="s",
                              connection_id="c", entered_at=utcnow()))
    db.session.commit()
    upcoming = make.webinar(owner=staff.owner, status="scheduled", title="Next one")
    html = as_user(staff.owner).get("/admin/").get_data(as_text=True)
    running = html.split('data-testid="dashboard-running"', 1)[1].split("</section>", 1)[0]
    assert "Live report" in running and 'data-testid="present-count">1<' in running
    assert f'href="/console/{data.webinar.webinar_id}"' in running
    coming = html.split('data-testid="dashboard-upcoming"', 1)[1].split("</section>", 1)[0]
    assert "Next one" in coming and f'href="/w/{upcoming.slug}"' in coming
