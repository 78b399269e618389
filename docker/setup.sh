#!/bin/sh
# One-shot set-up, run by the `setup` service of docker-compose.yml before `web` starts (web
# never migrates by itself, so several web replicas cannot race on migrations). Every step is
# safe to repeat, because it runs on every `docker compose up`.
set -eu

python manage.py migrate --no-input
python manage.py setup_roles

# load_initial_content rather than `loaddata explainers`: loaddata would write the fixture over
# the editors' changes to the same records on every start; this loads into an empty database
# only, and leaves one with content alone.
if [ "${DJANGO_LOAD_FIXTURES:-0}" = "1" ]; then
    python manage.py load_initial_content
else
    echo "DJANGO_LOAD_FIXTURES is not 1: no content loaded."
fi

# Renditions of images that have none yet for their file and focal point (content just
# loaded, or saved before an upgrade): queued for the worker, so that web starts at once.
python manage.py make_renditions --missing --enqueue

# The cards listings print as stored, after a deploy that changed their templates (until
# then listings render them afresh).
python manage.py render_cards
