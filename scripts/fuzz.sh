#!/bin/sh
# `make fuzz`: schemathesis (--checks all) over /api/schema/ against a live local server on 127.0.0.1.
# schemathesis lives in its own venv (FUZZ_VENV), never in the project's; the server runs with a
# PostgreSQL database of its own (FUZZ_DB) holding the demo account, and DEBUG off so a 500 is a 500.
set -eu
PYTHON=${PYTHON:-python3.11}
FUZZ_VENV=${FUZZ_VENV:-.venv-fuzz}
FUZZ_DB=${FUZZ_DB:-payplan_fuzz}
FUZZ_PORT=${FUZZ_PORT:-8799}
FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-60}
FUZZ_SEED=${FUZZ_SEED:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}

test -x "$FUZZ_VENV/bin/schemathesis" || { $PYTHON -m venv "$FUZZ_VENV" && "$FUZZ_VENV/bin/pip" install -q schemathesis; }
createdb -h 127.0.0.1 -U postgres "$FUZZ_DB" 2>/dev/null || true

export DATABASE_URL="$PG/$FUZZ_DB" DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=0 \
       CELERY_BROKER_URL=memory:// PAYPLAN_DEMO=1
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py payplan_demo_load >/dev/null
TOKEN=$(.venv/bin/python manage.py payplan_token --account demo --user 1 --admin --ttl 7200 | tail -1)

.venv/bin/gunicorn config.wsgi:application -b "127.0.0.1:$FUZZ_PORT" -w 2 --timeout 60 \
  --error-logfile var/fuzz-server.log &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 3
# The schema is fetched once up front: schemathesis' own loader gives up after 10 s on a busy machine.
curl -sf --retry 5 --retry-connrefused -o var/fuzz-schema.json "http://127.0.0.1:$FUZZ_PORT/api/schema/?format=json"
"$FUZZ_VENV/bin/schemathesis" --config-file bench/schemathesis.toml run \
  var/fuzz-schema.json --url "http://127.0.0.1:$FUZZ_PORT" \
  -H "X-Auth-Token: $TOKEN" --checks all -n "$FUZZ_EXAMPLES" -w 2 --seed "$FUZZ_SEED" --request-timeout 60
