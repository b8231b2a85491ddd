"""gunicorn settings for `make run` and production; PORTAL_WORKERS > 1 needs PORTAL_REDIS_URL."""
import os

worker_class = "gevent"
workers = int(os.environ.get("PORTAL_WORKERS", "1"))
worker_connections = int(os.environ.get("PORTAL_WORKER_CONNECTIONS", "20000"))
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("PORTAL_ACCESS_LOG", "-")


# --- join tokens never reach the access log (rooms helper, issue 9 point 6) ---------------
# A join link is a password: /room/<token>/..., /ws/room/<token> and any header carrying such
# a URL (Referer) are logged with the token cut to its first 4 characters.
import re  # noqa: E402

from gunicorn.glogging import Logger  # noqa: E402

_JOIN_TOKEN = re.compile(r"(/(?:ws/)?room/)([A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]*")


def mask_join_tokens(text):  # noqa: ANN001, ANN201
    """`text` with every join token in a room path cut to its first 4 characters + '***'."""
    return _JOIN_TOKEN.sub(r"\1\2***", text) if isinstance(text, str) else text


class TokenMaskingLogger(Logger):
    """gunicorn's logger whose access-log atoms carry no join token."""

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201
        return {key: mask_join_tokens(value) for key, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = TokenMaskingLogger
