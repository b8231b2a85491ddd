"""AutoWebinar runtime (seed 004): schedules, live-effect math, the user_meta store, heartbeats.

It plugs into the layers below through their registries: its start times into registration,
its room (player stage, per-viewer CTA, first click, page context) into the room, its
heartbeat frame into realtime.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask

from portal.autowebinar import heartbeats, polls, room, runtime, schedule
from portal.autowebinar.views import bp
from portal.core.models import Webinar, WebinarType
from portal.polls import timing
from portal.registration import choices
from portal.room import kinds

AUTO_ROOM = kinds.RoomKind(
    # The player owns the stage; pushed CTA regions carry Core's visibility and
    # autowebinar.js adds the per-viewer timing (cta_at_sec) on the page.
    regions=("status", "cta", "compose"),
    stage_template="autowebinar/_player.html",
    first_click=runtime.record_cta_click,
    cta_visible=runtime.cta_visible,
    page_context=room.context,
    # A watch-now viewer chats alone with the hosts; a scheduled start is a shared cohort.
    watch_now=lambda reg: schedule.is_watch_now_start(reg.starts_at),
)


def _offered(webinar: Webinar, now: datetime) -> list[choices.Choice]:
    return [choices.Choice(o.value, o.starts_at, o.label_kind) for o in schedule.offered_starts(webinar, now=now)]


def _resolve(webinar: Webinar, value: str, now: datetime) -> datetime:
    return schedule.resolve_start(webinar, value, now=now)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    heartbeats.init_app(app)
    kinds.register(app, WebinarType.auto.value, AUTO_ROOM)
    timing.register(app, WebinarType.auto.value, polls.viewer)  # timed polls, results per cohort
    choices.register_starts(app, WebinarType.auto.value, choices.Starts(offered=_offered, resolve=_resolve))
