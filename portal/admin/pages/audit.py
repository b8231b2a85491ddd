"""/admin/webinars/<id>/audit: the webinar's audit record (refusals, moderation, status, CTA,
join links), newest first, filtered by kind, paginated; never cached (personal data)."""
from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from portal.admin.access import webinar_for
from portal.admin.pages.common import actor
from portal.admin.pagination import PER_PAGE, Page, clamp, page_number
from portal.audit import KINDS, AuditEntry
from portal.core.models import User
from portal.core.permissions import Action
from portal.extensions import db
from portal.htmx import page_or_fragment


def page(webinar_id: int):
    webinar = webinar_for(webinar_id, Action.VIEW_REPORTS, actor=actor())
    kind = request.args.get("kind", "")
    kind = kind if kind in KINDS else ""
    query = select(AuditEntry).where(AuditEntry.webinar_id == webinar.webinar_id)
    if kind:
        query = query.where(AuditEntry.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = clamp(page_number(request.args.get("page")), total=total, per_page=PER_PAGE)
    entries = list(db.session.scalars(query.order_by(AuditEntry.audit_id.desc())
                                      .limit(PER_PAGE).offset((number - 1) * PER_PAGE)))
    ids = {e.actor_user_id for e in entries} | {e.lead_id for e in entries}
    ids.discard(None)
    rows = db.session.execute(select(User.user_id, User.display_name).where(User.user_id.in_(ids))) if ids else []
    names = {user_id: name for user_id, name in rows}
    response = page_or_fragment("admin/audit/page.html", "admin/audit/_table.html", "audit",
                                webinar=webinar, page=Page(entries, number, PER_PAGE, total), kind=kind,
                                kinds=KINDS, names=names, section="webinars", tab="audit")
    response.headers["Cache-Control"] = "no-store"
    return response
