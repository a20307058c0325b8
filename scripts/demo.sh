#!/usr/bin/env bash
# The README's main job: installs OpenBLAS when missing, then runs `wmf demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
exec cargo run --release --locked -p wmf-host --bin wmf -- demo "$@"
