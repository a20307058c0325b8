#!/usr/bin/env bash
# Everything that proves the C library (issue 3), from a fresh Debian machine:
#   bash ffi/run-tests.sh
# 1. installs what is missing (cbindgen 0.29.4 pinned, gcc, pkg-config,
#    valgrind, binutils-arm-none-eabi, the thumbv7em rustup target);
# 2. fails if ffi/include/wmf.h differs from a fresh cbindgen generation;
# 3. runs the Rust-side ABI tests (cargo test -p wmf-ffi, with panic-test);
# 4. builds the static and shared libraries and `make install`s them into a
#    temporary PREFIX, checks every header function is exported;
# 5. builds the C99 tests with -Wall -Wextra -Wpedantic -Werror against the
#    static and against the shared library (via pkg-config) and runs them
#    plain, under ASan+UBSan (static) and under valgrind (shared);
# 6. forces a panic through the boundary (panic-test build) and expects WMF_STATUS_PANIC;
# 7. builds examples/c-foldin with its one documented command and checks its top 10;
# 8. builds the no_std thumbv7em-none-eabihf static library and checks its symbols.
# Exits non-zero on any failure; the last line sums the C tests: "N passed, M failed".
# The Rust-side ABI tests also run under Miri when a nightly toolchain with
# miri is installed (skipped, with a note, otherwise).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

step() { printf '\n==== ffi: %s\n' "$*"; }
die() { echo "ffi/run-tests.sh: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}
apt_updated=0
need_pkg() { # need_pkg COMMAND DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "installing $2 (for $1)"
    if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

step "tools"
need_pkg cc gcc
need_pkg make make
need_pkg pkg-config pkg-config
need_pkg valgrind valgrind
need_pkg arm-none-eabi-nm binutils-arm-none-eabi
if ! rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf; then
    rustup target add thumbv7em-none-eabihf ||
        die "the thumbv7em-none-eabihf target is missing and could not be installed"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/wmf-ffi.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"

c_passed=0
c_failed=0
run_c() { # run_c LABEL COMMAND...: runs a C test binary, adds its "N passed, M failed" line
    local label="$1" out rc p f
    shift
    echo "-- $label"
    set +e
    out="$("$@" 2>&1)"
    rc=$?
    set -e
    printf '%s\n' "$out" | tail -n 25
    read -r p f < <(printf '%s\n' "$out" | sed -n 's/^\([0-9]\+\) passed, \([0-9]\+\) failed$/\1 \2/p' | tail -n 1)
    if [ -z "${p:-}" ]; then
        c_failed=$((c_failed + 1))
        echo "FAIL $label: exited $rc without a summary line"
    else
        c_passed=$((c_passed + p))
        c_failed=$((c_failed + f))
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
            c_failed=$((c_failed + 1))
            echo "FAIL $label: exited $rc"
        fi
    fi
}

step "header drift (cbindgen 0.29.4)"
"$here/gen-header.sh" --check

step "Rust-side ABI tests"
cargo test -q -p wmf-ffi
cargo test -q -p wmf-ffi --features panic-test --test api --test hostile
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri test -q -p wmf-ffi --features soft-float,panic-test --test api --test hostile
else
    echo "Miri: skipped (no nightly toolchain with miri here; none can be fetched)"
fi

step "build + make install PREFIX=$prefix"
make -s -C "$here" install PREFIX="$prefix"
for f in include/wmf.h lib/libwmf.a lib/libwmf.so lib/pkgconfig/wmf.pc; do
    [ -f "$prefix/$f" ] || die "make install did not install $f"
done
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "pkg-config --cflags --libs wmf: $(pkg-config --cflags --libs wmf)"

# Every function declared in the header, exported by both libraries.
header_fns="$(sed -n 's/^[a-z_ 0-9]*[ *]\(wmf_[a-z0-9_]*\)(.*/\1/p' "$here/include/wmf.h" | sort -u)"
n_fns="$(printf '%s\n' "$header_fns" | wc -l)"
[ "$n_fns" -ge 30 ] || die "found only $n_fns functions in wmf.h"
check_exports() { # check_exports NM LIBRARY
    local defined missing
    defined="$("$1" -g --defined-only "$2" 2>/dev/null | awk '$2 == "T" {print $3}' | sort -u)"
    missing="$(comm -23 <(printf '%s\n' "$header_fns") <(printf '%s\n' "$defined"))"
    [ -z "$missing" ] || die "$2 lacks: $missing"
    if printf '%s\n' "$defined" | grep -qx wmf_test_panic; then die "$2 exports the test-only wmf_test_panic"; fi
    echo "$2: all $n_fns header functions exported"
}
check_exports nm "$prefix/lib/libwmf.a"
check_exports nm "$prefix/lib/libwmf.so"

step "fixtures from the Rust kernel"
cargo run -q --release -p wmf-ffi --example c_fixture -- "$work/fx"

step "C tests (C99, -Werror)"
cflags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1)
static_libs() { pkg-config --static --libs wmf | sed 's/-lwmf /-l:libwmf.a /'; }
tests="$here/tests/c"
# shellcheck disable=SC2046
cc "${cflags[@]}" -I"$tests" "$tests/test_wmf.c" $(pkg-config --cflags wmf) $(static_libs) -o "$work/test_static"
# shellcheck disable=SC2046
cc "${cflags[@]}" -I"$tests" "$tests/test_wmf.c" $(pkg-config --cflags --libs wmf) -lm -o "$work/test_shared"
# shellcheck disable=SC2046
cc "${cflags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -I"$tests" "$tests/test_wmf.c" $(pkg-config --cflags wmf) $(static_libs) -o "$work/test_asan"
if readelf -d "$work/test_static" | grep 'libwmf' >/dev/null; then die "test_static depends on libwmf.so"; fi
readelf -d "$work/test_shared" | grep 'NEEDED.*libwmf.so' >/dev/null || die "test_shared does not load libwmf.so"

run_c "static library" "$work/test_static" "$work/fx/fixture.txt"
run_c "shared library" env LD_LIBRARY_PATH="$prefix/lib" "$work/test_shared" "$work/fx/fixture.txt"
run_c "static library under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$work/test_asan" "$work/fx/fixture.txt"
run_c "shared library under valgrind" env LD_LIBRARY_PATH="$prefix/lib" \
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$work/test_shared" "$work/fx/fixture.txt"

step "panic boundary (panic-test build; not in the normal libraries)"
CARGO_TARGET_DIR="$target_dir/ffi-panic-test" cargo build -q --release -p wmf-ffi --features panic-test
cc "${cflags[@]}" -I"$here/include" "$tests/test_panic.c" \
    "$target_dir/ffi-panic-test/release/libwmf_ffi.a" $(pkg-config --static --libs-only-l wmf | sed 's/-lwmf //') \
    -o "$work/test_panic"
run_c "forced panic" env RUST_BACKTRACE=0 "$work/test_panic"

step "examples/c-foldin (one command, via pkg-config)"
(
    cd "$root/examples/c-foldin"
    # The documented command (README.md), output redirected into the scratch dir:
    cc -std=c99 -O2 main.c $(pkg-config --cflags --libs wmf) -o "$work/foldin"
)
LD_LIBRARY_PATH="$prefix/lib" "$work/foldin" "$work/fx/model.wmfb" | tee "$work/foldin.out"
awk 'NR > 2 {print $2}' "$work/foldin.out" > "$work/foldin.items"
if diff -u "$work/fx/foldin.expected" "$work/foldin.items"; then
    c_passed=$((c_passed + 1))
    echo "foldin: top 10 matches the kernel"
else
    c_failed=$((c_failed + 1))
    echo "FAIL foldin: top 10 differs from the kernel"
fi
# A corrupt blob is rejected with a message, not a crash.
cp "$work/fx/model.wmfb" "$work/corrupt.wmfb"
printf '\x01' | dd of="$work/corrupt.wmfb" bs=1 seek=40 conv=notrunc status=none
if LD_LIBRARY_PATH="$prefix/lib" "$work/foldin" "$work/corrupt.wmfb" 2>"$work/corrupt.err"; then
    c_failed=$((c_failed + 1)); echo "FAIL foldin accepted a corrupt blob"
else
    c_passed=$((c_passed + 1)); echo "foldin rejects a corrupt blob: $(cat "$work/corrupt.err")"
fi

step "no_std static library for thumbv7em-none-eabihf"
cargo build -q -p wmf-ffi --profile firmware --target thumbv7em-none-eabihf --no-default-features 2>&1 |
    grep -v "dropping unsupported crate type \`cdylib\`" || true
thumb="$target_dir/thumbv7em-none-eabihf/firmware/libwmf_ffi.a"
[ -f "$thumb" ] || die "no $thumb"
check_exports arm-none-eabi-nm "$thumb"
# (grep reads all of nm's output: with `grep -q` under pipefail, nm would be
# killed by SIGPIPE after an early match and the pipeline would count as false)
if arm-none-eabi-nm "$thumb" 2>/dev/null | grep '__rust_alloc\b\|__rg_alloc\|\bmalloc\b' >/dev/null; then
    die "the no_std library references an allocator"
fi
echo "$thumb: no allocator referenced"

echo
echo "ffi: C tests (4 runs of test_wmf, panic, example):"
echo "$c_passed passed, $c_failed failed"
[ "$c_failed" = 0 ]
