"""Security tests: a browser-like HTTP client with its own cookie jar, and the realtime tests'
socket helpers (their autouse fixture closes every socket a test opened)."""
from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request

from tests import factories
from tests.conftest import csrf_token_from
from tests.realtime.conftest import USER_AGENT, _close_sockets_and_hub  # noqa: F401 - autouse fixture


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


class Browser:
    """One browser over real HTTP: cookies kept, redirects not followed (we check where they go)."""

    def __init__(self, server) -> None:  # noqa: ANN001
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def request(self, path: str, data: dict | None = None, *, cookie: str | None = None) -> tuple[int, str, str]:
        """(status, Location, body) of GET `path`, or of POST `data` when given."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.server.url + path, data=body)
        if cookie:  # a replayed cookie, sent as is (the jar is bypassed)
            req.add_unredirected_header("Cookie", cookie)
        opener = self.opener
        if cookie is not None:
            opener = urllib.request.build_opener(_NoRedirect)
            opener.addheaders = [("User-Agent", USER_AGENT)]
        try:
            with opener.open(req) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def login(self, email: str, password: str = factories.PASSWORD) -> None:
        token = csrf_token_from(self.request("/login")[2])
        status, _, body = self.request("/login", {"email": email, "password": password, "csrf_token": token})
        assert status == 302, body[:500]

    def post(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        token = csrf_token_from(self.request("/")[2])
        return self.request(path, {"csrf_token": token, **(data or {})})

    @property
    def cookie(self) -> str:
        """The session cookie as a Cookie header (what a socket or a replay sends)."""
        cookies = {c.name: c.value for c in self.jar}
        assert "session" in cookies, "no session cookie"
        return f"session={cookies['session']}"
