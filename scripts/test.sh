#!/usr/bin/env bash
# Runs every test of the workspace: the README's test command, and what .ci/run runs.
# Installs missing system packages first (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."

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
MIRIFLAGS="${MIRIFLAGS:-}" cargo +nightly miri test -p wmf-kernel --locked --features libm/force-soft-floats

for script in ffi/run-tests.sh examples/firmware/run-tests.sh host/tests/mpi/run-tests.sh fuzz/run-fuzz.sh; do
    if [ -x "$script" ]; then
        stage "$script"
        "$script"
    fi
done

stage "all tests passed"
