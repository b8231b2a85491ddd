"""Issue 9, point 1: demo seeding never resets a password nor re-enables an account that
exists, refuses PORTAL_ENV=production unless asked, and says truthfully what it did.
Kinds covered: double actions (seeding twice), restarts (a second `make run`)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.core import users
from portal.core.demo import DEMO_USERS
from portal.core.models import User
from portal.extensions import db

EMAILS = [email for email, _, _ in DEMO_USERS]


def seed(runner, *args: str):  # noqa: ANN001, ANN201
    result = runner.invoke(args=["portal", "seed-demo", *args])
    assert result.exit_code == 0, result.output
    return result.output


def printed_password(output: str) -> str:
    match = re.search(r"Password for all demo users: (\S+)", output)
    assert match, output
    return match.group(1)


def test_a_second_run_keeps_passwords_and_says_so(runner, app):
    """A fresh machine prints a random password; a second `make run` must not print a new one
    as if it worked: the accounts keep the first one and the output says so."""
    app.config["DEMO_PASSWORD"] = ""
    first = printed_password(seed(runner))
    second = seed(runner)
    assert "Password for all demo users" not in second
    for email in EMAILS:
        assert re.search(rf"{re.escape(email)} +existed already: its password was kept", second)
        assert users.authenticate(email, first) is not None
    assert "--reset-passwords" in second


def test_changed_password_and_disabled_account_survive_a_reseed(runner, app):
    app.config["DEMO_PASSWORD"] = "demo-password-1"
    seed(runner)
    admin = users.find_by_email("admin@example.com")
    users.set_password(admin, "the admin's own password")
    speaker = users.find_by_email("speaker@example.com")
    speaker.is_disabled = True
    db.session.commit()
    output = seed(runner)
    db.session.expire_all()
    assert users.authenticate("admin@example.com", "the admin's own password") is not None
    assert users.authenticate("admin@example.com", "demo-password-1") is None
    assert db.session.get(User, speaker.user_id).is_disabled
    assert re.search(r"speaker@example.com .*disabled, left disabled", output)
    assert re.search(r"admin@example.com +existed already: its password was kept", output)
    # The organizer still has PORTAL_DEMO_PASSWORD: said so, truthfully.
    assert re.search(r"organizer@example.com +existed already, password unchanged: demo-password-1", output)


def test_reset_passwords_is_explicit_ends_sessions_and_reenables_nobody(runner, app):
    app.config["DEMO_PASSWORD"] = "demo-password-1"
    seed(runner)
    speaker = users.find_by_email("speaker@example.com")
    speaker.is_disabled = True
    db.session.commit()
    versions = {u.email: u.session_version for u in db.session.scalars(select(User))}
    app.config["DEMO_PASSWORD"] = "demo-password-2"
    output = seed(runner, "--reset-passwords")
    assert "Password for all demo users: demo-password-2" in output
    db.session.expire_all()
    for user in db.session.scalars(select(User)):
        assert users.has_password(user.email, "demo-password-2")
        assert user.session_version == versions[user.email] + 1
    assert users.find_by_email("speaker@example.com").is_disabled


def test_production_is_refused_unless_asked(runner, app):
    app.config["ENV"] = "production"
    refused = runner.invoke(args=["portal", "seed-demo"])
    assert refused.exit_code != 0
    assert "PORTAL_ENV=production" in refused.output and "--allow-production" in refused.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0  # nothing was written
    seed(runner, "--allow-production")
    assert db.session.scalar(select(func.count()).select_from(User)) == 3
