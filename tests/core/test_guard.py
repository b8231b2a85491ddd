"""Nothing outside Core can write status or cta_visibility: every route there fails loudly."""
from __future__ import annotations

import pytest
from sqlalchemy import text, update

from portal.core.guard import GuardedFieldWrite
from portal.core.models import Webinar
from portal.extensions import db


@pytest.mark.parametrize("field,value", [("status", "live"), ("cta_visibility", "visible")])
def test_attribute_write_raises(make, field, value):
    webinar = make.webinar(status="scheduled")
    with pytest.raises(GuardedFieldWrite):
        setattr(webinar, field, value)


@pytest.mark.parametrize("field,value", [("status", "live"), ("cta_visibility", "visible")])
def test_bulk_orm_update_raises(make, field, value):
    webinar = make.webinar(status="scheduled")
    with pytest.raises(GuardedFieldWrite):
        db.session.execute(update(Webinar).where(Webinar.webinar_id == webinar.webinar_id).values({field: value}))
    db.session.rollback()
    assert db.session.get(Webinar, webinar.webinar_id).status == "scheduled"


@pytest.mark.parametrize("sql", [
    "UPDATE webinar SET status = 'live'",
    'update "webinar" set title = title, cta_visibility = \'visible\'',
])
def test_raw_sql_update_through_the_session_raises(make, sql):
    make.webinar(status="scheduled")
    with pytest.raises(GuardedFieldWrite):
        db.session.execute(text(sql))


def test_new_webinars_start_as_draft_with_hidden_cta(make):
    owner = make.user()
    with pytest.raises(GuardedFieldWrite):
        Webinar(title="x", slug="x", owner_user_id=owner.user_id, status="live")
    with pytest.raises(GuardedFieldWrite):
        Webinar(title="x", slug="y", owner_user_id=owner.user_id, cta_visibility="visible")
    fine = Webinar(title="x", slug="z", owner_user_id=owner.user_id, status="draft", cta_visibility="hidden")
    db.session.add(fine)
    db.session.commit()
    assert (fine.status, fine.cta_visibility) == ("draft", "hidden")


def test_other_columns_stay_writable(make):
    webinar = make.webinar(status="live")
    webinar.title = "Renamed"
    db.session.execute(update(Webinar).where(Webinar.webinar_id == webinar.webinar_id).values(description="d"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).title == "Renamed"
