#!/usr/bin/env bash
# Runs every test of the workspace: the README's test command, and what .ci/run runs.
# Installs missing system packages first (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."

# A full run builds every target once: incremental caches (about 2 GiB
# here) buy nothing, and line tables keep panics' backtraces readable at a
# fraction of full debug info's size. Set either variable to override.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"

start=$(date +%s)
stage() { printf '\n=== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

stage "setup"
scripts/setup.sh test

stage "format"
cargo fmt --all -- --check

stage "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p wmf-host --features mpi --all-targets --locked -- -D warnings

stage "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

stage "workspace tests"
cargo test --workspace --locked

stage "kernel on bare metal (thumbv7em-none-eabihf)"
cargo build -p wmf-kernel --release --locked --target thumbv7em-none-eabihf

stage "kernel under Miri"
# libm/force-soft-floats: Miri cannot run the inline-assembly sqrt of libm on x86_64.
# cargo-nextest (part of the machine's toolchain here) runs each test in its
# own Miri process, one per core, where `cargo miri test` interprets them
# one after another; it does not run doc-tests, so those follow.
if cargo nextest --version >/dev/null 2>&1; then
    MIRIFLAGS="${MIRIFLAGS:-}" cargo +nightly miri nextest run -p wmf-kernel --locked --features libm/force-soft-floats
    MIRIFLAGS="${MIRIFLAGS:-}" cargo +nightly miri test -p wmf-kernel --locked --features libm/force-soft-floats --doc
else
    MIRIFLAGS="${MIRIFLAGS:-}" cargo +nightly miri test -p wmf-kernel --locked --features libm/force-soft-floats
fi

for script in ffi/run-tests.sh examples/firmware/run-tests.sh host/tests/mpi/run-tests.sh fuzz/run-fuzz.sh; do
    if [ -x "$script" ]; then
        stage "$script"
        "$script"
    fi
done

stage "all tests passed"
