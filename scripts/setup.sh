#!/usr/bin/env bash
# Installs whatever natter's build and tests need and is missing; skips what is there (by
# version). `scripts/setup.sh` for `make run`, `scripts/setup.sh --test` adds what `make test`
# needs (Debian's chromium, a reachable PostgreSQL, redis-server and haproxy for the cluster
# tests, schemathesis). Downloads come only from the
# Rust, npm, PyPI and Debian registries: cargo-leptos would fetch wasm-opt etc. from GitHub, so
# they go on PATH first.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. The wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. cargo-leptos, pinned: 0.3.11 needs a newer rustc than this machine's.
if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# 3. The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version"
  # no --locked: its lockfile wants a webpki-roots this registry lacks
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

# 4. npm helpers: wasm-opt (binaryen) for release builds; Playwright and socket.io-client for tests.
npm_install() { # dir
  if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    say "installing npm packages in $1"
    (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}
npm_install tools
if $want_test; then
  npm_install end2end
fi

if $want_test; then
  # 5. cargo-fuzz for the fuzz targets (scripts/fuzz.sh); 0.13.2 builds on rustc 1.95 and
  # fuzzes on stable with `--sanitizer none`.
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "0.13.2" ]; then
    say "installing cargo-fuzz 0.13.2 (about 2 minutes)"
    cargo install cargo-fuzz --version 0.13.2 --locked
  fi
  # 6. Debian's chromium for Playwright (never a downloaded browser).
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
  # 7. PostgreSQL for the storage tests: start it, or install it where there is none.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      say "installing Debian's postgresql"
      as_root apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
    fi
    version=$(ls /etc/postgresql | sort -V | tail -1)
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
  fi
  # The tests connect as `postgres` over TCP with trust auth (as on these machines).
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    say "PostgreSQL at 127.0.0.1:5432 does not let user postgres in; set NATTER_TEST_PG_URL to a superuser URL" >&2
  fi
  # 8. Debian's redis-server and haproxy for the cluster tests (server/tests/cluster): each
  # scenario starts a private Redis of its own, and one goes through HAProxy with a config
  # generated like deploy/haproxy.cfg. Neither runs as a service here.
  if ! command -v redis-server >/dev/null; then
    say "installing Debian's redis-server"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
  fi
  if ! command -v haproxy >/dev/null; then
    say "installing Debian's haproxy"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy
  fi
  # 9. schemathesis (scripts/schemathesis.sh) in a venv of its own, every package pinned in
  # tools/requirements.txt; reinstalled when that file changes.
  if ! cmp -s tools/requirements.txt tools/venv/requirements.txt; then
    say "installing schemathesis (tools/requirements.txt) in tools/venv"
    if ! python3 -m venv --clear tools/venv; then
      as_root apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
      python3 -m venv --clear tools/venv
    fi
    tools/venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
    cp tools/requirements.txt tools/venv/requirements.txt
  fi
fi
say "ready"
