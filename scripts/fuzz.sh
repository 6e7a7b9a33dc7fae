#!/usr/bin/env bash
# Fuzzes the wire protocol (fuzz/, see fuzz/README.md) on stable rustc: builds every cargo-fuzz
# target (`--sanitizer none`, optimised with debug assertions) and runs each for
# `scripts/fuzz.sh [seconds-per-target]` seconds (10 by default; runs over a minute show
# libFuzzer's progress). `FUZZ_REPLAY=1 scripts/fuzz.sh` only replays the committed seeds and
# artifacts (regression). Exits non-zero on any crash, timeout or OOM and names the input that
# caused it (fuzz/artifacts/<target>/…). Installs cargo-fuzz (pinned) when missing. Builds in
# fuzz/target only, never in the workspace's target/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
source ../scripts/tools-path.sh

CARGO_FUZZ_VERSION=0.13.2 # the newest that builds on rustc 1.95
seconds=${1:-10}
replay=${FUZZ_REPLAY:-0}
say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }

if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target]   (FUZZ_REPLAY=1: replay seeds and artifacts only)" >&2
  exit 2
fi

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 2 minutes on 2 cores)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# The fuzz crate is its own workspace; make sure nothing redirects its build elsewhere.
export CARGO_TARGET_DIR="$PWD/target"
# Stable rustc: no sanitizer (ASan needs -Zsanitizer). No -O either: cargo-fuzz's default is the
# release profile plus debug assertions and overflow checks, which -O would turn off.
fuzz_flags=(--sanitizer none)
libfuzzer_flags=(-rss_limit_mb=1024 -timeout=5 -print_final_stats=1)

say "building the fuzz targets"
cargo fuzz build "${fuzz_flags[@]}"

mkdir -p target/logs
failed=()
for target in $(cargo fuzz list); do
  log="target/logs/$target.log"
  mkdir -p "corpus/$target" "artifacts/$target"
  if [ "$replay" = 1 ]; then
    shopt -s nullglob
    inputs=("corpus/$target"/seed-* "artifacts/$target"/*)
    shopt -u nullglob
    say "$target: replaying ${#inputs[@]} committed inputs"
    [ ${#inputs[@]} -gt 0 ] || continue
    cmd=(cargo fuzz run "${fuzz_flags[@]}" "$target" "${inputs[@]}" -- "${libfuzzer_flags[@]}" -runs=0)
  else
    say "$target: fuzzing for ${seconds}s (log: fuzz/$log)"
    cmd=(cargo fuzz run "${fuzz_flags[@]}" "$target" -- "${libfuzzer_flags[@]}" -max_total_time="$seconds")
  fi
  status=0
  if [ "$seconds" -gt 60 ] && [ "$replay" != 1 ]; then
    "${cmd[@]}" 2>&1 | tee "$log" || status=$?
  else
    "${cmd[@]}" > "$log" 2>&1 || status=$?
  fi
  if [ $status -eq 0 ] && [ "$replay" = 1 ]; then
    say "$target: ok"
    continue
  elif [ $status -eq 0 ]; then
    runs=$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
    say "$target: ok, $runs runs${rate:+, $rate exec/s}"
    continue
  fi
  failed+=("$target")
  printf '\033[31m[fuzz] %s FAILED (exit %s)\033[0m, full log: fuzz/%s\n' "$target" "$status" "$log"
  # The panic message (without its backtrace) and libFuzzer's verdict (timeout, out-of-memory…).
  awk '/panicked at/ {p = 1} p && /^(stack backtrace:|note: )/ {p = 0} p' "$log" | head -20
  { grep -a 'ERROR: libFuzzer\|^SUMMARY: ' "$log" || true; } | head -5
  artifact=$({ grep -ao 'Test unit written to [^ ]*' "$log" || true; } | tail -1 | sed 's/^Test unit written to //')
  if [ -n "$artifact" ]; then
    artifact="fuzz/artifacts/$target/$(basename "$artifact")"
    printf '\033[31m[fuzz] crashing input: %s\033[0m\n' "$artifact"
    echo "  reproduce: (cd fuzz && cargo fuzz run ${fuzz_flags[*]} $target ${artifact#fuzz/})"
    echo "  minimize:  (cd fuzz && cargo fuzz tmin ${fuzz_flags[*]} $target ${artifact#fuzz/})"
    echo "  then copy it into a regression test in src/protocol.rs (fuzz/README.md)"
  elif [ "$replay" = 1 ]; then
    { grep -a '^Running: ' "$log" || true; } | tail -1 | sed 's/^Running: /[fuzz] crashing input: fuzz\//'
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf '\033[31m[fuzz] FAILED: %s\033[0m\n' "${failed[*]}"
  exit 1
fi
say "all targets passed"
