#!/usr/bin/env bash
# Property-based tests of the REST API against its own OpenAPI document (/api/openapi.json),
# with schemathesis (pinned in tools/requirements.txt; `scripts/setup.sh --test` installs it in
# tools/venv): every check, positive and negative data, the examples, coverage, fuzzing and
# stateful phases (the last follows the document's links), with a fixed seed and example count,
# so every run sends the same requests. Any finding or warning fails it. Settings beyond this
# command line, with their reasons: scripts/schemathesis.toml; who it runs as:
# scripts/schemathesis_auth.py.
#
#   scripts/schemathesis.sh        starts target/release/server (`cargo leptos build --release`)
#   scripts/schemathesis.sh URL    tests the server running at URL
set -euo pipefail
cd "$(dirname "$0")/.."

schemathesis=tools/venv/bin/schemathesis
if [ ! -x "$schemathesis" ]; then
  echo "schemathesis is not installed: run scripts/setup.sh --test" >&2
  exit 1
fi
scratch=$(mktemp -d)
source scripts/release-server.sh
trap 'stop_release_server; rm -rf "$scratch"' EXIT
if [ $# -gt 0 ]; then
  server_url=${1%/}
else
  # Web Push on, so that its routes are tested too (off, they answer 404 and go untested).
  NATTER_WEB_PUSH=true NATTER_VAPID_CONTACT=mailto:ops@example.invalid \
    start_release_server "$scratch"
fi

# One worker: two threads crash Python 3.11.7's parser now and then inside Hypothesis ("AST
# constructor recursion depth mismatch").
status=0
NATTER_URL=$server_url SCHEMATHESIS_HOOKS=scripts/schemathesis_auth.py \
  HYPOTHESIS_STORAGE_DIRECTORY="$scratch/hypothesis" \
  timeout 300 "$schemathesis" --config-file scripts/schemathesis.toml run \
  "$server_url/api/openapi.json" \
  --checks all --mode all --phases examples,coverage,fuzzing,stateful \
  --seed 14 --max-examples 50 --generation-database none \
  --workers 1 --request-timeout 10 --no-color || status=$?
if [ $status -ne 0 ] && [ -f "$scratch/server.log" ]; then
  echo "--- server log ---"; tail -50 "$scratch/server.log"
fi
exit $status
