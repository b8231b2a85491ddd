"""English and Russian: chosen from a cookie set by the switcher, else from the browser."""
from __future__ import annotations

import os

from flask import Flask, current_app, request
from flask_babel import get_locale

from portal.extensions import babel

LANG_COOKIE = "lang"


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(os.path.dirname(__file__), "translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"LANGUAGES": app.config["LANGUAGES"], "LANGUAGE_NAMES": {"en": "English", "ru": "Русский"}}
