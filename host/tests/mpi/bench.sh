#!/usr/bin/env bash
# Distributed training benchmark: time per iteration and logical bytes sent
# per rank per iteration for P = 1, 2, 4 on this machine (one rank per
# process, --threads 1 each, oversubscribed when P exceeds the cores).
# Usage: host/tests/mpi/bench.sh [users items interactions k iterations]
# Prints one JSON line per run ({"P":..,"stats":{..}}) on stdout.
set -euo pipefail
cd "$(dirname "$0")/../../.."
U=${1:-20000}; I=${2:-10000}; NNZ=${3:-500000}; K=${4:-64}; IT=${5:-2}
cargo build --release -q -p wmf-host --features mpi --bin wmf
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cp target/release/wmf "$T/wmf"
"$T/wmf" generate --users "$U" --items "$I" --interactions "$NNZ" --seed 1 -o "$T/data.csv"
for p in ${PS:-1 2 4}; do
    out=$(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$p" "$T/wmf" train "$T/data.csv" \
        --distributed -k "$K" --iterations "$IT" --solver cholesky --threads 1 --json -o "$T/m$p.wmf" | tail -n 1)
    echo "{\"P\":$p,\"k\":$K,\"result\":$out}"
done
