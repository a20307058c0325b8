#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and fails on any
# crash, panic, leak, timeout or out-of-memory.
#
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_TARGETS   space-separated subset of targets (default: all)
#   FUZZ_RSS_MB    libFuzzer -rss_limit_mb (default 2048)
#   FUZZ_TIMEOUT   libFuzzer -timeout, seconds per input (default 10)
#
# The committed seeds in fuzz/corpus/<target> are read-only inputs; new
# inputs go to fuzz/work/<target> (ignored by git). A failing input is saved
# under fuzz/artifacts/<target>/ and the script exits 1. Installs cargo-fuzz
# (pinned, --locked), the nightly toolchain and OpenBLAS when missing.
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.1
SECONDS_PER_TARGET=${FUZZ_SECONDS:-20}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
# (grep reads all of ldconfig's output: `grep -q` would exit at the first
# match, ldconfig would die of SIGPIPE, and pipefail would make it "missing")
if ! ldconfig -p 2>/dev/null | grep libopenblas >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update && apt-get install -y libopenblas-dev
    else
        echo "run-fuzz: libopenblas-dev is missing (apt-get install -y libopenblas-dev as root)" >&2
        exit 1
    fi
fi

# AddressSanitizer checks memory accesses through calls rather than inline
# branches. Inline, each check splits its block; the host's and kernel's
# unrolled loops became functions of so many blocks that LLVM's register
# allocator and the coverage PC tables' updates (both superlinear in a
# function's blocks: the profile of the build showed little else) took 18
# of a 2-core Zen 3's minutes; through calls the same build takes 8-10, and
# the targets run as many inputs. (libFuzzer's `cov` counts about half as
# many blocks since: the inline checks' own are gone.) `--cfg fuzzing` also
# drops the solvers' AVX2 / AVX-512 copies, which no target reaches
# (`isa_dispatch!` in host/src/als.rs): 9m14s -> 4m38s for our crates.
export RUSTFLAGS="${RUSTFLAGS:-} -Cllvm-args=-asan-instrumentation-with-call-threshold=0"
cargo +nightly fuzz build -O
# The loader targets also read each input back from a file, in pieces
# (fuzz_targets/common.rs): those files go to this run's own directory, on
# tmpfs when there is one, removed when the script exits.
scratch=$(mktemp -d -p /dev/shm wmf-fuzz.XXXXXX 2>/dev/null || mktemp -d -t wmf-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}

passed=0
failed=0
summary=""
start=$(date +%s)
for t in $targets; do
    mkdir -p "work/$t" "corpus/$t"
    log="work/$t.log"
    if cargo +nightly fuzz run -O "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" \
        -timeout="$TIMEOUT" -max_len=16384 -print_final_stats=1 >"$log" 2>&1; then
        status=ok
        passed=$((passed + 1))
    else
        status=FAILED
        failed=$((failed + 1))
        tail -n 40 "$log" >&2
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || true)
    line=$(printf '%-16s %-6s execs %-10s cov %s' "$t" "$status" "${execs:-?}" "${cov:-?}")
    echo "run-fuzz: $line"
    summary+="$line"$'\n'
done
echo
printf '%s' "$summary"
echo "run-fuzz: $passed passed, $failed failed ($(( $(date +%s) - start )) s, ${SECONDS_PER_TARGET} s per target)"
[ "$failed" -eq 0 ]
