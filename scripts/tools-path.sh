# Sourced by the Makefile's scripts: puts the project's helper binaries (npm's wasm-opt) first
# on PATH, ahead of any Debian binaryen, whose old wasm-opt breaks hydration.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
