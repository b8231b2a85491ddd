"""Demo data of SPEC §9. Idempotent: users and webinars are created when missing, and a
not-yet-started `demo-live` is moved to start 10 minutes from now. Accounts that exist already
keep their password and their disabled flag (unless the operator asks for a password reset):
a re-seed never reopens an account someone closed or changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from portal.core import lifecycle, users
from portal.core.models import Role, Status, User, Webinar, WebinarSpeaker
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db

DEMO_USERS = (
    ("admin@example.com", Role.admin.value, "Ada Admin"),
    ("organizer@example.com", Role.organizer.value, "Olga Organizer"),
    ("speaker@example.com", Role.speaker.value, "Sam Speaker"),
)
DEMO_RECORDING_SEC = 90


@dataclass
class SeedResult:
    emails: list[str] = field(default_factory=list)
    #: Demo accounts made now (they have the seeding password).
    created: list[str] = field(default_factory=list)
    #: Demo accounts whose password was set now by an explicit reset.
    reset: list[str] = field(default_factory=list)
    #: Demo accounts found disabled and left so.
    disabled: list[str] = field(default_factory=list)
    webinars: dict[str, int] = field(default_factory=dict)


def _user(email: str, role: str, name: str, password: str, *, reset_password: bool, result: SeedResult) -> User:
    user = users.find_by_email(email)
    if user is None:
        user = users.create_user(email, role=role, password=password, display_name=name)
        result.created.append(email)
        return user
    if reset_password:
        users.set_password(user, password)
        users.end_sessions(user, reason="password_reset")
        result.reset.append(email)
    if user.is_disabled:
        result.disabled.append(email)
    return user


def _webinar(slug: str, **fields: object) -> tuple[Webinar, bool]:
    webinar = db.session.scalar(select(Webinar).where(Webinar.slug == slug))
    if webinar is not None:
        return webinar, False
    webinar = Webinar(slug=slug, **fields)
    db.session.add(webinar)
    return webinar, True


def _assign(webinar: Webinar, speaker: User) -> None:
    if not any(s.user_id == speaker.user_id for s in webinar.speakers):
        webinar.speakers.append(WebinarSpeaker(user_id=speaker.user_id, display_name=speaker.display_name))


def seed(*, password: str, reset_passwords: bool = False) -> SeedResult:
    """Create what is missing; `reset_passwords` sets `password` on existing demo accounts too
    (ending their sessions), never re-enabling one."""
    result = SeedResult()
    accounts = {role: _user(email, role, name, password, reset_password=reset_passwords, result=result)
                for email, role, name in DEMO_USERS}
    result.emails = [email for email, _, _ in DEMO_USERS]
    db.session.flush()
    organizer, speaker = accounts[Role.organizer.value], accounts[Role.speaker.value]

    live, _ = _webinar(
        "demo-live",
        type="live",
        title="Demo: Launching your first webinar",
        description="A live walkthrough: registration, the waiting room, chat and a call-to-action.",
        scheduled_at=utcnow() + timedelta(minutes=10),
        timezone="Europe/Berlin",
        duration_minutes=45,
        stream_type="obs",
        stream_url="/static/demo/hls/index.m3u8",
        cta_text="Get the free checklist",
        cta_url="https://example.com/checklist",
        chat_lobby_minutes=15,
        owner_user_id=organizer.user_id,
    )
    if live.status in (Status.draft.value, Status.scheduled.value):
        live.scheduled_at = utcnow() + timedelta(minutes=10)
    auto, _ = _webinar(
        "demo-auto",
        type="auto",
        title="Demo: Evergreen product tour",
        description="A recorded tour played as if live. Start now or pick a time that suits you.",
        timezone="Europe/Berlin",
        duration_minutes=2,
        stream_type="obs",
        recording_url="/static/demo/auto.mp4",
        recording_duration_sec=DEMO_RECORDING_SEC,
        auto_schedule={"watch_now": True, "kind": "every", "every_minutes": 15, "horizon": 4,
                       "timezone": "Europe/Berlin"},
        cta_text="Book a demo call",
        cta_url="https://example.com/book",
        cta_at_sec=30,
        owner_user_id=organizer.user_id,
    )
    for webinar in (live, auto):
        _assign(webinar, speaker)
    db.session.commit()

    for webinar in (live, auto):
        if webinar.status == Status.draft.value:
            lifecycle.publish(webinar, actor=SYSTEM)
    if auto.status == Status.scheduled.value:
        lifecycle.core_webinar_set_status(auto, "start", actor=SYSTEM)
    lifecycle.core_webinar_set_cta_visibility(auto, "visible", actor=SYSTEM)
    result.webinars = {live.slug: live.webinar_id, auto.slug: auto.webinar_id}
    return result
