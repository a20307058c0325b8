#!/usr/bin/env bash
# Everything that proves wmf-kernel, in the order CI should run it.
# Installs the toolchain pieces it needs when missing (rustup only).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "fmt";    cargo fmt -p wmf-kernel -p wmf-benches -- --check
step "clippy"; cargo clippy -p wmf-kernel -p wmf-benches --all-targets -- -D warnings
step "doc";    RUSTDOCFLAGS="-D warnings" cargo doc -p wmf-kernel --no-deps
step "test";   cargo test -p wmf-kernel

step "thumbv7em build"
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf
cargo build -p wmf-kernel --target thumbv7em-none-eabihf --release

step "miri"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup +nightly component list --installed | grep -q '^miri' || rustup +nightly component add miri rust-src
cargo +nightly miri setup >/dev/null
cargo +nightly miri test -p wmf-kernel

step "benches compile (not run: timings live in BENCHMARKS.md)"
cargo bench -p wmf-benches --bench kernel --no-run
