"""Gunicorn settings, from the environment so that one image fits every host.

    gunicorn --config docker/gunicorn.conf.py site_config.wsgi:application

Here, not at the project's root, because gunicorn reads a ./gunicorn.conf.py unasked: a plain
`gunicorn site_config.wsgi` run in a checkout (a benchmark beside another site, a quick try)
gets gunicorn's own defaults, as the other site does, not the container's threads and log.

Variables (all optional): GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT, GUNICORN_BIND,
FORWARDED_ALLOW_IPS (gunicorn's own name for it) and DJANGO_LOG_LEVEL, shared with Django.
"""

import os


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def cpu_count() -> int:
    # The CPUs this process may run on (a container's cpuset), not every CPU of the host.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# The usual 2 x CPUs + 1, capped: a CPU quota is invisible here, and every worker holds its
# own database connections (DJANGO_DB_POOL_MAX each), which PostgreSQL counts against its 100.
workers = env_int("GUNICORN_WORKERS", min(2 * cpu_count() + 1, 8))
# gunicorn's threaded worker, so that slow clients cannot starve it: a connection that sends
# nothing yet (or idles between keep-alive requests) waits in the worker's poller, and one that
# trickles its request or reads its answer slowly holds one of the worker's threads, not the
# whole worker. The proxy in front should buffer requests too. Threads stay within
# DJANGO_DB_POOL_MAX (4 by default): each may hold a database connection.
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4)
timeout = env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests in flight get this long to finish: keep it under the container's stop
# grace period (docker-compose.yml gives 30 s; plain `docker stop` only 10 s).
graceful_timeout = 25

# Recycle each worker after about 10,000 requests, so a slow leak cannot grow forever; the
# jitter keeps the workers from all restarting at the same moment.
max_requests = 10000
max_requests_jitter = 1000

# The heartbeat file on a memory filesystem: on the container's overlay disk it can stall
# workers (gunicorn's docs, "Blocking os.fchmod").
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# No runtime control socket (gunicorn >= 25 puts one in $HOME/.gunicorn/): the image's home is
# read-only, and a container is resized and restarted from outside, not with gunicornc.
control_socket_disable = True

# Which peers may tell gunicorn that a request came over HTTPS (X-Forwarded-Proto): the TLS
# proxy's address in production. Keep 127.0.0.1 in it, for the image's health check.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log to stdout, errors to stderr, for the container's log driver. One key=value line
# per request; request_id is the X-Request-ID the site answered with: the proxy's own when it
# sent one (so a line matches the proxy's log), otherwise a fresh one that Django's log lines
# for the same request carry too.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("DJANGO_LOG_LEVEL", "info").lower()
access_log_format = (
    '%(t)s remote=%(h)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s '
    "duration_ms=%(M)s request_id=%({x-request-id}o)s"
)
