"""GET /admin/ — running and upcoming webinars with counts."""
from __future__ import annotations

from flask import render_template

from portal.admin import listing
from portal.admin.pages.common import actor
from portal.db_types import utcnow


def show():
    data = listing.dashboard(actor(), now=utcnow())
    return render_template("admin/dashboard.html", data=data, section="dashboard")
