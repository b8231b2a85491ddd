"""/admin/users (admins): staff accounts, roles, disable/enable, password reset."""
from __future__ import annotations

from flask import render_template, request, url_for

from portal.admin import search, staff
from portal.admin.forms import ActionForm, RoleForm, UserForm
from portal.admin.pages.common import actor, back
from portal.admin.pagination import page_number
from portal.core.models import User
from portal.core.permissions import Action, require
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.htmx import is_htmx, page_or_fragment


def _list_context(**extra):  # noqa: ANN003, ANN202
    q = search.normalise(request.args.get("q"))
    role = request.args.get("role", "")
    page = staff.page(actor=actor(), q=q, role=role, number=page_number(request.args.get("page")))
    role = role if role in staff.STAFF else ""
    filter_args = {k: v for k, v in (("q", q), ("role", role)) if v}
    return dict(page=page, q=q, role=role, filter_args=filter_args, action_form=ActionForm(), section="users", **extra)


def index():
    return page_or_fragment("admin/users/list.html", "admin/users/_table.html", "users-table", **_list_context())


def new():
    require(actor(), Action.MANAGE_USERS)
    form = UserForm()
    if form.validate_on_submit():
        try:
            user, password = staff.create(email=form.email.data, display_name=form.display_name.data,
                                          role=form.role.data, actor=actor())
        except Invalid as error:
            db.session.rollback()
            form.email.errors = [*form.email.errors, error.translated()]
        else:
            # Shown once in this response; never flashed (the session cookie is not secret).
            return render_template("admin/users/created.html", user=user, password=password, section="users"), 201
    return render_template("admin/users/form.html", form=form, section="users"), 422 if form.errors else 200


def _row(user: User, *, password: str | None = None, error: str | None = None, status: int = 200):
    if not is_htmx():
        if password or error:  # the one-time password must be shown, not redirected away
            return render_template("admin/users/list.html", new_password=password, password_user=user,
                                   error=error, **_list_context()), status
        return back(url_for("admin.users"))
    return render_template("admin/users/_row.html", user=user, new_password=password, error=error,
                           action_form=ActionForm()), status


def _change(user_id: int, change):  # noqa: ANN001, ANN202
    require(actor(), Action.MANAGE_USERS)
    user = staff.get(user_id)
    try:
        change(user)
    except (Conflict, Invalid) as error:
        db.session.rollback()
        return _row(user, error=error.translated(), status=error.status_code)
    return _row(user)


def set_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        require(actor(), Action.MANAGE_USERS)
        return _row(staff.get(user_id), error=", ".join(form.role.errors), status=422)
    return _change(user_id, lambda u: staff.set_role(u, form.role.data, actor=actor()))


def disable(user_id: int):
    return _change(user_id, lambda u: staff.set_disabled(u, True, actor=actor()))


def enable(user_id: int):
    return _change(user_id, lambda u: staff.set_disabled(u, False, actor=actor()))


def reset_password(user_id: int):
    require(actor(), Action.MANAGE_USERS)
    user = staff.get(user_id)
    password = staff.reset_password(user, actor=actor())
    return _row(user, password=password)
