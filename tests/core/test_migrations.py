"""Migrations build the schema the models describe, on an empty database (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
from datetime import UTC

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


def _insert(conn, table: str, **values) -> None:
    """One row with `values`; every other NOT NULL column without a default gets a plain value."""
    from datetime import datetime

    from sqlalchemy import Boolean, DateTime, Integer, MetaData, Table, insert

    t = Table(table, MetaData(), autoload_with=conn)
    row = dict(values)
    for column in t.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type
        row[column.name] = (False if isinstance(kind, Boolean) else 0 if isinstance(kind, Integer)
                            else datetime.now(UTC) if isinstance(kind, DateTime) else "x")
    conn.execute(insert(t).values(**row))


def test_upgrading_a_database_with_data_keeps_every_row(empty_database):
    """Batch migrations rebuild `webinar` on SQLite: with foreign keys on, that DROP TABLE would
    cascade into `registration` (migrations/env.py turns them off while it runs)."""
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="d2b3c4e5f605")  # the schema before the rebuilding migrations
        with db.engine.begin() as conn:
            _insert(conn, "user", user_id=1, email="o@example.com", role="organizer")
            _insert(conn, "user", user_id=2, email="l@example.com", role="lead")
            _insert(conn, "webinar", webinar_id=1, slug="kept", type="live", status="draft", owner_user_id=1,
                    stream_type="obs", cta_visibility="hidden", timezone="UTC", duration_minutes=60)
            _insert(conn, "registration", registration_id=1, webinar_id=1, lead_id=2, webinar_type="live")
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM registration")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM webinar")).scalar() == 1
        db.engine.dispose()
