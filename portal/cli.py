"""`flask --app wsgi portal ...`: seed-demo, create-user."""
from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.core import demo, users
from portal.core.models import Role
from portal.errors import PortalError
from portal.extensions import db

portal_cli = AppGroup("portal", help="Webinar portal administration.")


@portal_cli.command("seed-demo")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Printed links start with this.")
def seed_demo(base_url: str) -> None:
    """Create (or refresh) the demo users and webinars. Safe to run again."""
    password = current_app.config.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
    result = demo.seed(password=password)
    db.session.commit()
    base = base_url.rstrip("/")
    click.echo("")
    click.echo("Demo data ready.")
    click.echo(f"  Password for all demo users: {password}")
    for email in result.emails:
        click.echo(f"  {email}")
    click.echo(f"  Home:             {base}/")
    click.echo(f"  Log in:           {base}/login")
    for slug, webinar_id in result.webinars.items():
        click.echo(f"  {slug + ':':17} {base}/w/{slug}   console: {base}/console/{webinar_id}")
    click.echo("")


@portal_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role if r is not Role.lead]))
@click.option("--name", "display_name", default=None)
@click.option("--password", default=None, help="Prompted for when omitted.")
def create_user(email: str, role: str, display_name: str | None, password: str | None) -> None:
    """Create a staff account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(email, role=role, password=password, display_name=display_name)
        db.session.commit()
    except PortalError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error  # English: a terminal has no request locale
    click.echo(f"Created {user.role} {user.email} (id {user.user_id}).")


def init_app(app: Flask) -> None:
    app.cli.add_command(portal_cli)
