# Webinar portal. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: install run serve test test-fast test-e2e lint clean demo-media translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Migrate, seed the demo data and serve on http://$(HOST):$(PORT) (gunicorn + gevent, websockets).
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask portal seed-demo --base-url http://$(HOST):$(PORT)
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

## The whole suite: unit, integration (real SQLite file; PostgreSQL and Redis when configured), browser.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not e2e" -x -q $(PYTEST_ARGS)

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext $(foreach e,N_ PortalError Forbidden NotFound Conflict Invalid RateLimited _fail:2,-k $(e)) -o portal/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i portal/translations/messages.pot -d portal/translations
	$(BIN)/pybabel compile -d portal/translations

## Regenerate the bundled demo recording and HLS clip (needs ffmpeg; the results are committed).
demo-media:
	sh bench/make_demo_media.sh static/demo

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
