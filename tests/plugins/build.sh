#!/usr/bin/env bash
# Builds every test fixture plugin (tests/plugins/*) and example plugin (examples/plugins/*)
# as a wasm32-wasip2 component, in release, with one cargo invocation, then prints the
# directory holding the components (`<crate_name_with_underscores>.wasm`).
#
#   bash tests/plugins/build.sh            # extra args go to cargo, e.g. --locked
#
# The last line of stdout is the output directory, so scripts can do
#   dir="$(bash tests/plugins/build.sh | tail -n1)"
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2 >&2
fi

pkgs=()
for manifest in tests/plugins/*/Cargo.toml examples/plugins/*/Cargo.toml; do
  [[ -f "$manifest" ]] || continue
  pkgs+=(-p "$(basename "$(dirname "$manifest")")")
done

cargo build --release --target wasm32-wasip2 "${pkgs[@]}" "$@" >&2

target_dir="$(cargo metadata --format-version 1 --no-deps \
  | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
out="$target_dir/wasm32-wasip2/release"
for ((i = 1; i < ${#pkgs[@]}; i += 2)); do
  wasm="$out/${pkgs[i]//-/_}.wasm"
  [[ -f "$wasm" ]] || { echo "missing component: $wasm" >&2; exit 1; }
  # A component starts with "\0asm" and the component-model version/layer 0d 00 01 00
  # (a core module has 01 00 00 00).
  if [[ "$(head -c 8 "$wasm" | od -An -tx1 | tr -d ' \n')" != 0061736d0d000100 ]]; then
    echo "not a component: $wasm" >&2
    exit 1
  fi
  echo "  $(basename "$wasm")" >&2
done
echo "$out"
