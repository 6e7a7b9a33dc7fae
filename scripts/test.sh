#!/usr/bin/env bash
# `make test`: every check natter has, in order. Runs each step even when an earlier one
# failed (except where a step needs the one before), then prints a summary and exits non-zero
# if anything failed. Leaves nothing running.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/tools-path.sh

failed=()
passed=()
reasons=() # what each failed step printed about its failure, for the summary
step() { # name, command...
  local name=$1; shift
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local start=$SECONDS log
  log=$(mktemp -p "$scratch")
  if "$@" > >(tee "$log") 2>&1; then passed+=("$name ($((SECONDS - start))s)"); return 0; fi
  failed+=("$name ($((SECONDS - start))s)")
  # The summary repeats the lines that say why (a CI record may keep only the end of the
  # output), and how much disk and memory were left: a full disk fails builds in ways that
  # look like code errors.
  sleep 0.2 # let tee finish
  reasons+=("$name: $(grep -aE 'error(\[|:)|Error:|panicked|FAILED|failed|✘' "$log" | grep -av '^ *[0-9]*: ' | head -15)
    disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}'); memory: $(free -h | awk '/^Mem:/ {print $7 " available"}')")
  return 1
}

server_pid=""
scratch=$(mktemp -d)
source scripts/release-server.sh
cleanup() {
  stop_release_server
  rm -rf "$scratch"
}
trap cleanup EXIT

export NATTER_TEST_PG_URL=${NATTER_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}

step "setup" scripts/setup.sh --test || { echo "setup failed; nothing else can run"; exit 1; }
step "cargo fmt --check" cargo fmt --all --check
step "clippy (server build: natter+server+app[ssr])" \
  cargo clippy --locked -p natter -p app -p server --all-targets -- -D warnings
step "clippy (browser build: natter+app[hydrate]+frontend, wasm32)" \
  cargo clippy --locked -p natter -p app -p frontend --target wasm32-unknown-unknown -- -D warnings
# The server's tests include the cluster tests (server/tests/cluster: three nodes, a private
# redis-server, HAProxy; about 80 s, one scenario at a time).
step "rust tests (SQLite and PostgreSQL, cluster of 3 nodes)" cargo test --locked -p natter -p server
step "UI model tests (app, ssr build)" cargo test --locked -p app --features ssr
step "fuzz the frame decoder and Socket.IO mapping (10 s each)" scripts/fuzz.sh 10

run_e2e() {
  start_release_server "$scratch" || return 1
  local status=0
  (cd end2end && NATTER_BASE_URL="$server_url" npx playwright test) || status=$?
  stop_release_server
  if [ $status -ne 0 ]; then echo "--- server log ---"; tail -50 "$scratch/server.log"; fi
  return $status
}

# --precompress: brotli (quality 11) and gzip copies of the site's files, as in production.
if step "build the site (cargo leptos build --release --precompress)" \
  cargo leptos build --release --precompress; then
  step "playwright (headless Debian chromium)" run_e2e
  step "schemathesis (the REST API against its OpenAPI document)" scripts/schemathesis.sh
else
  failed+=("playwright (skipped: the site did not build)")
  failed+=("schemathesis (skipped: the site did not build)")
fi

printf '\n\033[1m==> summary\033[0m\n'
for r in "${reasons[@]}"; do printf '  \033[31mwhy\033[0m %s\n' "$r"; done
for p in "${passed[@]}"; do printf '  \033[32mpassed\033[0m %s\n' "$p"; done
for f in "${failed[@]}"; do printf '  \033[31mFAILED\033[0m %s\n' "$f"; done
[ ${#failed[@]} -eq 0 ]
