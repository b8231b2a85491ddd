"""A closed socket is freed by reference counting; idle sockets can be frozen out of full GCs."""
from __future__ import annotations

import gc

import pytest

from portal.realtime import gcfreeze
from portal.realtime.connection import Connection
from portal.realtime.context import SocketContext
from portal.realtime.reader import FrameReader
from portal.realtime.runtime import current_hub
from portal.realtime.writer import SocketWriter
from tests.realtime.conftest import SNAPSHOT_ID, connect, make_registration, recv_close, recv_until, wait_for

OURS = (Connection, SocketContext, SocketWriter, FrameReader)


@pytest.mark.parametrize("ending", ["client closes", "server closes"])
def test_a_closed_socket_leaves_no_cyclic_garbage_of_ours(live_server, live_webinar, room_calls, ending, request):
    from portal import realtime
    from portal.room.channels import room_channel

    reg, token = make_registration(live_webinar)
    gc.collect()
    gc.disable()  # no automatic pass may hide cyclic garbage before we look
    request.addfinalizer(gc.enable)
    ws = connect(live_server, f"/ws/room/{token}")
    hub = current_hub()
    wait_for(lambda: hub.open_sockets == 1, what="the socket")
    if ending == "client closes":
        ws.close()
    else:
        realtime.disconnect(room_channel(live_webinar.webinar_id), member=reg.lead_id, reason="banned")
        recv_close(ws)
    wait_for(lambda: hub.open_sockets == 0, what="the goodbye")
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        leftovers = [type(o).__name__ for o in gc.garbage if type(o) in OURS]  # type(): proxies too
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
    assert leftovers == []


def test_the_freeze_policy_freezes_after_a_burst_and_thaws_when_empty(monkeypatch):
    monkeypatch.setattr(gcfreeze, "DEBOUNCE", 0.05)
    thresholds = gc.get_threshold()
    policy = gcfreeze.FreezePolicy(enabled=True)
    try:
        assert gc.get_threshold()[2] >= gcfreeze.FULL_PASS_EVERY
        policy.socket_opened()
        policy.socket_opened()
        wait_for(lambda: gc.get_freeze_count() > 0, what="a freeze")
        policy.socket_closed(1)
        assert gc.get_freeze_count() > 0
        policy.socket_closed(0)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_disabled_policy_never_freezes(monkeypatch):
    monkeypatch.setattr(gcfreeze, "DEBOUNCE", 0.01)
    thresholds = gc.get_threshold()
    gcfreeze.FreezePolicy(enabled=False).socket_opened()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds


def test_an_open_socket_keeps_no_handshake_objects(live_server, live_webinar, room_calls):
    """Memory per idle socket: past the handshake no wsproto WSConnection / h11 handshake
    state is kept, and simple-websocket's Server holds only a slotted no-op event."""
    from simple_websocket import Server
    from wsproto import WSConnection
    from wsproto.handshake import H11Handshake

    from portal.realtime.reader import NoEvent

    watched = (Server, WSConnection, H11Handshake)
    # An earlier test's socket may still be winding down in its server thread: only what this
    # socket made counts (held here, so no id is reused).
    gc.collect()
    earlier = [o for o in gc.get_objects() if type(o) in watched]

    def made_since() -> list:
        gc.collect()
        return [o for o in gc.get_objects() if type(o) in watched and not any(o is e for e in earlier)]

    _, token = make_registration(live_webinar)
    ws = connect(live_server, f"/ws/room/{token}")
    hub = current_hub()
    wait_for(lambda: hub.open_sockets == 1, what="the socket")
    alive = made_since()
    servers = [o for o in alive if type(o) is Server]
    assert len(servers) == 1
    assert servers[0].ws is None and type(servers[0].event) is NoEvent
    assert not [o for o in alive if type(o) in (WSConnection, H11Handshake)]
    del alive, servers
    ws.send('{"type": "hello", "last_message_id": 0}')  # still read and answered after the release
    recv_until(ws, lambda m: SNAPSHOT_ID in m)
    ws.close()
    wait_for(lambda: hub.open_sockets == 0, what="the goodbye")
