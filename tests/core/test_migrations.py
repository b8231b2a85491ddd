"""Migrations build the schema the models describe, on an empty database (SQLite and PostgreSQL)."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from tests.conftest import scratch_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    """A brand-new empty database: a SQLite file, and a scratch database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    with scratch_postgres_database(request.getfixturevalue("postgres_url"), "portal_migrate") as url:
        yield url


def _diff(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_matches_models_and_downgrade_empties(empty_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert _diff(app) == [], "models and migrations disagree: write a migration"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _diff(app) == []
        db.engine.dispose()


def test_single_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from portal import ROOT

    config = Config(os.path.join(ROOT, "migrations", "alembic.ini"))
    config.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
