# The explainers site as one image: gunicorn serving site_config.wsgi, static files built in.
# docker-compose.yml runs it with PostgreSQL and Redis; `setup` there migrates before `web`.

# ---- builder: the dependencies in a virtualenv, so the final stage gets them without pip's
# caches and build leftovers. Every pin in requirements.txt ships a manylinux wheel (amd64 and
# arm64), so no compiler is installed; a future pin without one fails here, loudly.
FROM python:3.11.17-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A virtualenv is not relocatable: it must live at the same path in both stages.
RUN python -m venv /opt/venv

# Only requirements.txt here, so editing code does not reinstall the dependencies.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt


# ---- final: the slim base, the virtualenv, the code; runs as an unprivileged user.
FROM python:3.11.17-slim-bookworm AS final

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=site_config.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/app/media

# A fixed uid/gid so a bind-mounted or pre-made media volume can be given to it.
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root, so the running site cannot rewrite it.
COPY . .

# Settings refuse DEBUG off without a secret key and hosts; these throwaway values exist only
# for this RUN (they are not in any ENV layer) and are never used to serve a request.
# media/ belongs to the app user: a new named volume mounted there copies that ownership.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY=build-time-collectstatic-only-not-a-secret \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input --verbosity 0 \
    && mkdir -p /app/media \
    && chown app:app /app/media

# Numeric, so Kubernetes' runAsNonRoot (and hadolint) can tell it is not root.
USER 1000:1000

EXPOSE 8000

# No curl in the slim image: a few lines of urllib ask gunicorn for /healthz (see the script).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# Exec form, so gunicorn is PID 1 and gets docker's SIGTERM for a graceful stop.
CMD ["gunicorn", "--config", "/app/docker/gunicorn.conf.py", "site_config.wsgi:application"]
