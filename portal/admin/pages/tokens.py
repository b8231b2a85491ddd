"""/admin/tokens: the signed-in user's API tokens (admins: everyone's) — issue one (its secret is
shown once, in the answer to the POST), see when each was last used, revoke."""
from __future__ import annotations

from flask import render_template, url_for

from portal.admin.forms import TokenForm
from portal.admin.pages.common import actor, back
from portal.core import tokens
from portal.core.permissions import Action, require
from portal.errors import Invalid
from portal.extensions import db


def _page(form: TokenForm, *, secret: str | None = None, created=None, status: int = 200):  # noqa: ANN001, ANN202
    user = actor()
    return render_template("admin/tokens/list.html", form=form, secret=secret,
                           created=created, items=tokens.visible_to(user), me=user, section="tokens"), status


def index():
    require(actor(), Action.MANAGE_TOKENS)
    return _page(TokenForm())


def create():
    require(actor(), Action.MANAGE_TOKENS)
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        token, secret = tokens.issue(actor(), name=form.name.data, scopes=form.scopes.data or [], actor=actor())
    except Invalid as error:
        db.session.rollback()
        form.scopes.errors = [*form.scopes.errors, error.translated()]
        return _page(form, status=422)
    db.session.commit()
    # Shown once in this answer; never flashed or stored (the session cookie is not secret).
    return _page(TokenForm(formdata=None), secret=secret, created=token, status=201)


def revoke(token_id: int):
    tokens.revoke(token_id, actor=actor())
    db.session.commit()
    return back(url_for("admin.tokens"))
