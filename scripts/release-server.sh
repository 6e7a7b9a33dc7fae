# Sourced by scripts/test.sh and scripts/schemathesis.sh. `start_release_server DIR` starts
# target/release/server (built by `cargo leptos build --release --precompress`) on a free loopback port, with
# a fresh SQLite database and its log in DIR, and waits until it answers; it sets server_pid and
# server_url. `stop_release_server` stops it (and does nothing when none runs).
#
# Every client of this server signs people up from one address: the sign-up and
# new-conversation limits (tested on their own in server/tests/api/abuse.rs) are off.
start_release_server() { # dir
  local dir=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  LEPTOS_OUTPUT_NAME=natter LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD LEPTOS_HASH_FILES=true \
    NATTER_SIGNUP_RATE=0 NATTER_SIGNUP_TOTAL_RATE=0 NATTER_CONVERSATION_RATE=0 \
    NATTER_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/natter.db" NATTER_DATA_DIR="$dir" \
    RUST_LOG=warn ./target/release/server > "$dir/server.log" 2>&1 &
  server_pid=$!
  server_url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf "$server_url/healthz" >/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if ! curl -sf "$server_url/healthz" >/dev/null; then
    echo "the server did not come up:"; cat "$dir/server.log"; return 1
  fi
}

stop_release_server() {
  if [ -n "${server_pid:-}" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  server_pid=""
}
