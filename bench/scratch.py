"""A throw-away database for one bench run: a SQLite file in the run's work directory, or a
database created on the given PostgreSQL server and dropped afterwards."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path


def database(url: str | None, workdir: Path, prefix: str) -> tuple[str, Callable[[], None]]:
    """(the URL to use, a function that drops it)."""
    if not url:
        return f"sqlite:///{workdir / f'{prefix}.sqlite3'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from portal.config import normalise_database_url

    admin_url = normalise_database_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop
