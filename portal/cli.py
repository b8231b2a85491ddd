"""`flask --app wsgi portal ...`: seed-demo, create-user, create-token, dispatcher, mailer."""
from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.core import demo, tokens, users
from portal.core.models import Role, User
from portal.core.permissions import SYSTEM
from portal.errors import PortalError
from portal.extensions import db
from portal.mail import sender as mail_sender
from portal.webhooks import delivery as webhooks_delivery
from portal.webhooks import dispatcher as webhooks_dispatcher

portal_cli = AppGroup("portal", help="Webinar portal administration.")


@portal_cli.command("seed-demo")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Printed links start with this.")
@click.option("--reset-passwords", is_flag=True,
              help="Also set the password of demo accounts that exist already (ends their sessions).")
@click.option("--allow-production", is_flag=True, help="Seed even with PORTAL_ENV=production.")
def seed_demo(base_url: str, reset_passwords: bool, allow_production: bool) -> None:
    """Create the demo users and webinars that are missing. Safe to run again: existing accounts
    keep their password and stay disabled if they are."""
    if current_app.config.get("ENV") == "production" and not allow_production:
        raise click.ClickException("PORTAL_ENV=production: demo accounts with known emails would be created "
                                   "here. Run with --allow-production if you really want them.")
    configured = current_app.config.get("DEMO_PASSWORD") or ""
    password = configured or secrets.token_urlsafe(9)
    result = demo.seed(password=password, reset_passwords=reset_passwords)
    db.session.commit()
    base = base_url.rstrip("/")
    click.echo("")
    click.echo("Demo data ready.")
    fresh = set(result.created + result.reset)
    if fresh == set(result.emails):
        click.echo(f"  Password for all demo users: {password}")
    for email in result.emails:
        if fresh == set(result.emails):
            note = ""
        elif email in fresh:
            note = f"password: {password}"
        elif configured and users.has_password(email, configured):
            note = f"existed already, password unchanged: {configured} (PORTAL_DEMO_PASSWORD)"
        else:
            note = "existed already: its password was kept (not changed, not shown)"
        if email in result.disabled:
            note += ("; " if note else "") + "disabled, left disabled"
        click.echo(f"  {email:24} {note}".rstrip())
    if fresh != set(result.emails):
        click.echo("  (`flask portal seed-demo --reset-passwords` sets a new password on existing demo users)")
    click.echo(f"  Home:             {base}/")
    click.echo(f"  Log in:           {base}/login")
    smtp = current_app.config.get("SMTP")
    if smtp:
        click.echo(f"  Mail:             sent through {smtp['host']}:{smtp['port']}; log at {base}/admin/mail")
    else:
        click.echo(f"  Mail:             no PORTAL_SMTP_URL: nothing is sent, every mail is kept at {base}/admin/mail")
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


@portal_cli.command("create-token")
@click.option("--email", required=True, help="The staff account the token acts as.")
@click.option("--scopes", required=True, help="Comma-separated: read, control, webhooks.")
@click.option("--name", default="API token", show_default=True, help="Shown in the token list.")
def create_token(email: str, scopes: str, name: str) -> None:
    """Issue an API token; the token alone is printed on the last line (shown only once)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    try:
        token, secret = tokens.issue(user, name=name, scopes=scopes, actor=SYSTEM)
        db.session.commit()
    except PortalError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"Token {token.prefix}… for {user.email} ({user.role}), scopes: {token.scopes.replace(' ', ', ')}.")
    click.echo("Store it now; it is not shown again:")
    click.echo(secret)


@portal_cli.command("dispatcher")
@click.option("--workers", default=16, show_default=True, help="Concurrent deliveries.")
@click.option("--once", is_flag=True, help="Fan out and attempt the deliveries due now, then exit.")
def webhook_dispatcher(workers: int, once: bool) -> None:
    """Deliver webhooks from the outbox in this process (any number on PostgreSQL). With
    PORTAL_WEBHOOK_DISPATCHER=external the web processes leave the delivery to it."""
    if once:
        click.echo(f"{webhooks_delivery.deliver_due(limit=1000)} attempts")
        return
    worker = webhooks_dispatcher.external(current_app._get_current_object(), workers=workers)  # type: ignore[attr-defined]
    click.echo(f"webhook dispatcher running with {workers} workers, "
               f"web processes' own dispatchers: {webhooks_dispatcher.mode(worker.app)} (Ctrl-C stops)")
    worker.run_forever()


@portal_cli.command("mailer")
@click.option("--once", is_flag=True, help="Send the mail due now, then exit.")
def mailer(once: bool) -> None:
    """Send the mail ledger's due messages from this process (any number on PostgreSQL). With
    PORTAL_MAIL_SENDER=external the web processes leave the sending to it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        total = 0
        while handled := mail_sender.run_once(app, limit=mail_sender.BATCH):
            total += handled
        click.echo(f"{total} messages handled")
        return
    where = f"SMTP {app.config['SMTP']['host']}" if app.config.get("SMTP") else "no PORTAL_SMTP_URL: mail is kept"
    click.echo(f"mail sender running ({where}), web processes' own senders: {mail_sender.mode(app)} (Ctrl-C stops)")
    mail_sender.current(app).run_forever()


def init_app(app: Flask) -> None:
    app.cli.add_command(portal_cli)
