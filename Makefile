# Webinar portal. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

A11Y := tests/a11y/node_modules/axe-core/axe.min.js

.PHONY: install system-deps a11y-deps run serve test test-fast test-e2e lint clean demo-media translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Debian packages the browser tests need (Chromium driven by Playwright, a font to render
## with); installs only what is missing, so it costs nothing once they are there. Needs root.
system-deps:
	@need=""; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need="$$need fonts-dejavu-core"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$need; run as root or: sudo apt-get install --no-install-recommends$$need" >&2; \
	    exit 1; \
	  fi; \
	  echo "installing Debian packages:$$need"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q || true; \
	  apt-get install -y -q --no-install-recommends $$need; \
	fi

## axe-core for the accessibility checks of the browser tests: from the npm registry, pinned by
## tests/a11y/package-lock.json (npm ci verifies its integrity hash); never served to users.
a11y-deps: $(A11Y)
$(A11Y): tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
	touch $@

## ruff (lint + import order) on the whole tree, mypy on the packages listed in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## Migrate, seed the demo data and serve on http://$(HOST):$(PORT) (gunicorn + gevent, websockets).
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask portal seed-demo --base-url http://$(HOST):$(PORT)
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

## Lint, then the whole suite: unit, integration (a real SQLite file; PostgreSQL and Redis
## whenever they answer on their local ports, or PORTAL_TEST_DATABASE_URL / PORTAL_TEST_REDIS_URL), browser.
## One process by default. TEST_WORKERS=4 runs 4 pytest-xdist processes (each test file kept in
## one of them, the browser tests all in one: tests/conftest.py) in about half the time, but on
## 2 cores some timing-bound tests still fail under that load (a console missing a pushed
## question, a SQLite lock wait in a fault test), so it is not the default yet.
TEST_WORKERS ?= 0
test: lint system-deps a11y-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

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
