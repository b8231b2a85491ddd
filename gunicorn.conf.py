"""gunicorn settings for `make run` and production; PORTAL_WORKERS > 1 needs PORTAL_REDIS_URL.

The worker check runs here, in the master, on the worker count gunicorn really uses (so
`-w 4` on the command line is caught too), before any worker starts; create_app refuses the
same PORTAL_WORKERS setting for any other launcher (portal.config.check_workers). This file
does not import the portal: the master must not import gevent-sensitive modules before the
workers patch them.
"""
import os
import sys

worker_class = "gevent"
workers = int(os.environ.get("PORTAL_WORKERS", "1"))
worker_connections = int(os.environ.get("PORTAL_WORKER_CONNECTIONS", "20000"))
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("PORTAL_ACCESS_LOG", "-")


def on_starting(server):  # noqa: ANN001 - gunicorn's Arbiter
    """Refuse several workers without Redis: each would have its own broker and rate limits."""
    count = server.cfg.workers
    if count > 1 and not os.environ.get("PORTAL_REDIS_URL"):
        sys.stderr.write(
            f"error: {count} workers need PORTAL_REDIS_URL: without Redis each worker has its own broker "
            "and rate limits, so pushes and limits would not reach the other workers. "
            "Set PORTAL_REDIS_URL=redis://... or PORTAL_WORKERS=1.\n")
        sys.exit(1)


# --- join tokens never reach the access log (rooms helper, issue 9 point 6) ---------------
# A join link is a password: /room/<token>/..., /ws/room/<token> and any header carrying such
# a URL (Referer) are logged with the token cut to its first 4 characters.
import re  # noqa: E402

from gunicorn.glogging import Logger, SafeAtoms  # noqa: E402

_JOIN_TOKEN = re.compile(r"(/(?:ws/)?room/)([A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]*")


def mask_join_tokens(text):  # noqa: ANN001, ANN201
    """`text` with every join token in a room path cut to its first 4 characters + '***'."""
    # The substring test first: it is what every match contains, and most of a request's ~40
    # atoms have no room path; the regex on each of them was 8 % of a 304 poll (issue 14).
    return _JOIN_TOKEN.sub(r"\1\2***", text) if isinstance(text, str) and "room/" in text else text


class MaskedAtoms(SafeAtoms):
    """The atoms as the log line reads them: each one the access-log format names is masked
    when it is read (`format % atoms` reads only those), so a request pays for the ~8 atoms in
    the line, not for the ~40 gunicorn builds (every request header and environ value) —
    and an atom added to the format later is masked all the same (issue 14)."""

    def __getitem__(self, key):  # noqa: ANN001, ANN204
        return mask_join_tokens(super().__getitem__(key))


class TokenMaskingLogger(Logger):
    """gunicorn's logger whose access-log lines carry no join token."""

    atoms_wrapper_class = MaskedAtoms


logger_class = TokenMaskingLogger
