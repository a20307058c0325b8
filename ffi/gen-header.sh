#!/usr/bin/env bash
# Regenerates ffi/include/wmf.h from the Rust source with the pinned cbindgen.
#   ffi/gen-header.sh          write the header
#   ffi/gen-header.sh --check  fail (exit 1, with a diff) if the committed header is stale
set -euo pipefail
CBINDGEN_VERSION=0.29.4
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v cbindgen >/dev/null 2>&1 || [ "$(cbindgen --version | awk '{print $2}')" != "$CBINDGEN_VERSION" ]; then
    echo "installing cbindgen $CBINDGEN_VERSION" >&2
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --force >&2
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
(cd "$here" && cbindgen --quiet --config cbindgen.toml --crate wmf-ffi --output "$tmp" .)

if [ "${1:-}" = "--check" ]; then
    if ! diff -u "$here/include/wmf.h" "$tmp"; then
        echo "error: ffi/include/wmf.h is stale; run ffi/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "header: ffi/include/wmf.h matches a fresh cbindgen $CBINDGEN_VERSION generation"
else
    cp "$tmp" "$here/include/wmf.h"
    echo "wrote $here/include/wmf.h"
fi
