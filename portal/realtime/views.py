"""Socket endpoints (/ws/...) and the polling fallback (/room/<token>/state, /console/<id>/state)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_login import current_user

from portal.core.models import User
from portal.extensions import sock
from portal.realtime import access, catchup, connection, polling
from portal.realtime.channels import console_channel, room_channel
from portal.realtime.reader import InlineReader
from portal.realtime.runtime import current_hub

bp = Blueprint("realtime", __name__, url_prefix=None)


@bp.record_once
def _read_sockets_inline(state) -> None:  # noqa: ANN001 - flask.blueprints.BlueprintSetupState
    """simple-websocket starts no reader thread: each socket is read by its own request."""
    options = state.app.config.get("SOCK_SERVER_OPTIONS", {})
    state.app.config["SOCK_SERVER_OPTIONS"] = {**options, "thread_class": InlineReader}


def _staff() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None  # type: ignore[attr-defined]


@bp.before_request
def _admit_socket() -> None:
    """Refuse a socket before its handshake (403 foreign Origin, 404 bad token, 403 not staff)."""
    rule = request.url_rule
    if rule is None or not getattr(rule, "websocket", False):
        return
    access.require_origin(request.headers.get("Origin"), host=request.host,
                          base_url=current_app.config.get("BASE_URL", ""))
    assert request.view_args is not None
    if request.endpoint == "realtime.room_socket":
        reg, webinar = access.room(request.view_args["token"])
        g.realtime_access = access.room_access(reg, webinar)
    else:
        user = _staff()
        webinar = access.console(user, request.view_args["webinar_id"])
        g.realtime_access = access.console_access(user, webinar)  # type: ignore[arg-type]
    # Frames are built once per room, so no per-socket compression is negotiated.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    g.realtime_hub = current_hub()


@sock.route("/ws/room/<token>", bp=bp)
def room_socket(ws, token: str) -> None:
    connection.serve(ws, g.realtime_access, hub=g.realtime_hub)


@sock.route("/ws/console/<int:webinar_id>", bp=bp)
def console_socket(ws, webinar_id: int) -> None:
    connection.serve(ws, g.realtime_access, hub=g.realtime_hub)


@bp.get("/room/<token>/state")
def room_state(token: str):
    cached = polling.not_modified("r", token, request.headers.get("If-None-Match"), room_channel)
    if cached is not None:
        return cached
    reg, webinar = access.room(token)
    return polling.state("r", token, reg, webinar, since=catchup.since_id(request.args.get("since", "")),
                         audience="room", channel=room_channel(webinar.webinar_id))


@bp.get("/console/<int:webinar_id>/state")
def console_state(webinar_id: int):
    user = _staff()
    webinar = access.console(user, webinar_id)
    assert user is not None
    cached = polling.not_modified("c", str(user.user_id), request.headers.get("If-None-Match"), console_channel)
    if cached is not None:
        return cached
    return polling.state("c", str(user.user_id), user, webinar, since=catchup.since_id(request.args.get("since", "")),
                         audience="console", channel=console_channel(webinar.webinar_id))
