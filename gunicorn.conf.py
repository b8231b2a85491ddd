"""gunicorn settings for `make run` and production; PORTAL_WORKERS > 1 needs PORTAL_REDIS_URL."""
import os

worker_class = "gevent"
workers = int(os.environ.get("PORTAL_WORKERS", "1"))
worker_connections = int(os.environ.get("PORTAL_WORKER_CONNECTIONS", "20000"))
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("PORTAL_ACCESS_LOG", "-")
