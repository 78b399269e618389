#!/usr/bin/env bash
# schemathesis against /api/v1/openapi.json (`make api-check`): the development server on a
# free port of 127.0.0.1, the seed content in a throwaway SQLite database, a token of a
# superuser so that imports are tried too, every standard check, API_CHECK_EXAMPLES (20)
# examples an operation. Fails on a server error or any answer the document does not
# describe. Everything it made is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=.venv/bin/python
work=$(mktemp -d /tmp/explainers-api-check.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=site_config.settings
export DATABASE_URL="sqlite:///$work/db.sqlite3" DJANGO_MEDIA_ROOT="$work/media"
# Every request comes from 127.0.0.1: at the readers' rate the throttle would answer most.
export DJANGO_API_ANON_REQUESTS_PER_MINUTE=1000000
unset REDIS_URL

"$PYTHON" manage.py migrate --no-input -v0
"$PYTHON" manage.py loaddata explainers -v0
DJANGO_SUPERUSER_PASSWORD="$(head -c 18 /dev/urandom | base64)" "$PYTHON" manage.py \
  createsuperuser --no-input --username api-check --email api-check@example.org >/dev/null
token=$("$PYTHON" manage.py api_token -v0 create --user api-check --name "make api-check")

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PYTHON" manage.py runserver "127.0.0.1:$port" --noreload >"$work/server.log" 2>&1 &
server=$!

status=0
.venv/bin/schemathesis --config-file tests/schemathesis.toml run \
  "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks all \
  --max-examples "${API_CHECK_EXAMPLES:-20}" \
  --wait-for-schema 60 \
  --header "Authorization: Bearer $token" \
  --report-dir "$work/report" \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  echo "== the server's log (last 40 lines)"
  tail -40 "$work/server.log"
fi
exit "$status"
