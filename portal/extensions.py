"""Flask extensions, created unbound and bound in create_app()."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import csrf as wtf_csrf
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep migrations reviewable and portable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # mypy cannot take a base class from an attribute (`class X(db.Model)`, python/mypy#8603);
    # it sees the declarative base that db.Model is built from.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()


class CSRFProtect(wtf_csrf.CSRFProtect):
    """Flask-WTF's protection, deciding by the method first. Its before-request hook looks up
    the view's and blueprint's exemptions before it looks at the method, so every GET (a 304
    poll among them, issue 14) paid for lookups whose answer it never used. Same outcome for
    every request: a safe method was never checked, exempt or not."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions=apply_exemptions)


csrf = CSRFProtect()
babel = Babel()
sock = Sock()
htmx = Htmx()
