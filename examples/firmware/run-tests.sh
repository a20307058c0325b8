#!/usr/bin/env bash
# On-device test: builds the Rust firmware (kernel directly) and the C firmware
# (ffi no_std static library) for a Cortex-M4F, runs both under QEMU
# (mps2-an386) for k = 16 and k = 32, and compares what they print with the
# host's answer on the same model (same kernel calls in f32 on x86-64).
#
# Tolerance (wmf-fw-gen compare): every vector element and top-10 score within
# 1e-4 of that vector's max-norm, the top-10 item lists identical, and the
# model shape and new interactions identical. f32 on both sides.
#
# Model: trained by the host and exported by it: `wmf generate` (6000 users,
# 3000 items, 300k interactions), `wmf train -k K` (popularity-weighted c0, so
# the blob carries per-item weights), `wmf export --to blob`. To test other
# blobs, put them at $WMF_FW_BLOB_DIR/model-k16.wmfb and model-k32.wmfb (the
# test user needs n >= 2883); WMF_FW_SYNTHETIC=1 uses `wmf-fw-gen model`
# (random factors, no training) instead.
#
# Installs qemu-system-arm, gcc-arm-none-eabi, make and the rustup target
# thumbv7em-none-eabihf when missing. Exit status 0 only if every check passed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
N_ITEMS="${WMF_FW_N_ITEMS:-3000}"
QEMU_TIMEOUT="${WMF_FW_QEMU_TIMEOUT:-120}"
OUT="$here/target"
mkdir -p "$OUT/model" "$OUT/elf" "$OUT/run"

# ---- prerequisites ----------------------------------------------------------
need_apt=()
command -v qemu-system-arm >/dev/null || need_apt+=(qemu-system-arm)
command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi)
command -v make >/dev/null || need_apt+=(make)
if ((${#need_apt[@]})); then
    echo "== installing ${need_apt[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
    echo "== rustup target add thumbv7em-none-eabihf"
    rustup target add thumbv7em-none-eabihf
fi

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# ---- host side: generator, reference, comparer ------------------------------
echo "== host: wmf-fw-gen (unit tests, then release build)"
if cargo test -q --manifest-path gen/Cargo.toml 2>&1 | tail -n 3; then
    pass "wmf-fw-gen unit tests"
else
    fail "wmf-fw-gen unit tests"
fi
cargo build -q --release --manifest-path gen/Cargo.toml
GEN="$here/gen/target/release/wmf-fw-gen"

if [ -z "${WMF_FW_BLOB_DIR:-}" ] && [ -z "${WMF_FW_SYNTHETIC:-}" ]; then
    echo "== host: wmf generate, train (k = 16, 32), export --to blob"
    # The dev build: scripts/test.sh's workspace tests have compiled its
    # dependencies already (the host itself compiles again, about 30 s:
    # the tests' features differ), where a release build compiles
    # everything again (about 5 of CI's minutes on 2 cores). Unoptimised,
    # generating and training take about 50 s instead of 1 s; what is
    # compared below is the firmware against the host on the exported
    # blob, whichever build trained it.
    (cd "$root" && cargo build -q -p wmf-host --bin wmf)
    WMF="$root/target/debug/wmf"
    "$WMF" generate --users 6000 --items 3000 --interactions 300000 --seed 7 -o "$OUT/model/interactions.csv"
    WMF_FW_BLOB_DIR="$OUT/model/exported"
    mkdir -p "$WMF_FW_BLOB_DIR"
    for k in 16 32; do
        "$WMF" train "$OUT/model/interactions.csv" -k "$k" --iterations 8 --lambda 1 --alpha 1 \
            --c0 3000 --popularity-beta 0.5 --threads 2 --quiet -o "$OUT/model/k$k.wmf"
        "$WMF" export -m "$OUT/model/k$k.wmf" --to blob -o "$WMF_FW_BLOB_DIR/model-k$k.wmfb"
    done
    pass "host model trained and exported with wmf (k = 16, 32)"
fi

for k in 16 32; do
    dir="$OUT/model/k$k"
    mkdir -p "$dir"
    if [ -n "${WMF_FW_BLOB_DIR:-}" ]; then
        cp "$WMF_FW_BLOB_DIR/model-k$k.wmfb" "$dir/model.wmfb"
    else
        "$GEN" model --n "$N_ITEMS" --k "$k" --out "$dir/model.wmfb"
    fi
    "$GEN" expect --blob "$dir/model.wmfb" --out "$dir/expected.txt"
    "$GEN" header --blob "$dir/model.wmfb" --out "$dir/user.h"
done

# ---- device side: build ------------------------------------------------------
echo "== build: Rust firmware (k = 16, 32)"
for k in 16 32; do
    # (from inside rust/: its .cargo/config.toml sets the target and linker script)
    (cd rust && WMF_BLOB="$OUT/model/k$k/model.wmfb" cargo build -q --release --features "k$k")
    cp rust/target/thumbv7em-none-eabihf/release/wmf-firmware "$OUT/elf/rust-k$k.elf"
done

echo "== build: ffi static library (no_std, thumbv7em-none-eabihf) and C firmware"
(cd "$root" && cargo build -q -p wmf-ffi --profile firmware --no-default-features \
    --target thumbv7em-none-eabihf 2>&1 | grep -v "dropping unsupported crate type" || true)
LIBWMF="$root/target/thumbv7em-none-eabihf/firmware/libwmf_ffi.a"
[ -f "$LIBWMF" ] || { echo "missing $LIBWMF"; exit 1; }
for k in 16 32; do
    make -s -C c K="$k" BLOB="$OUT/model/k$k/model.wmfb" USER_H_DIR="$OUT/model/k$k" \
        LIBWMF="$LIBWMF" WMF_INC="$root/ffi/include" OUT="$OUT/c" >/dev/null
    cp "$OUT/c/wmf-firmware-c-k$k.elf" "$OUT/elf/c-k$k.elf"
done

# ---- device side: run and compare -------------------------------------------
qemu() {
    timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -semihosting-config enable=on,target=native -kernel "$@" </dev/null
}

for fw in rust c; do
    for k in 16 32; do
        name="$fw-k$k"
        log="$OUT/run/$name.txt"
        start=$(date +%s%N)
        if qemu "$OUT/elf/$name.elf" >"$log" 2>"$OUT/run/$name.stderr"; then rc=0; else rc=$?; fi
        ms=$((($(date +%s%N) - start) / 1000000))
        if [ "$rc" -ne 0 ] || ! grep -qx DONE "$log"; then
            fail "$name: QEMU exit status $rc (log $log)"
            grep '^ERROR' "$log" || true
            continue
        fi
        grep '^STACK fold100 ' "$log" | sed "s/^/    $name: /"
        if "$GEN" compare "$OUT/model/k$k/expected.txt" "$log"; then
            pass "$name: output matches the host (${ms} ms in QEMU)"
        else
            fail "$name: output differs from the host"
        fi
    done
done

# ---- the items in the eigenbasis of their Gramian (wmf export --eigenbasis) ---
# G0 is then diagonal and the kernel's CG takes its products in O(k): both
# firmwares (k = 16) on such a blob must still print the host's answer.
if [ -n "${WMF:-}" ]; then
    echo "== eigenbasis blob (k = 16)"
    eig="$OUT/model/k16-eigen"
    mkdir -p "$eig"
    "$WMF" export -m "$OUT/model/k16.wmf" --to blob --eigenbasis -o "$eig/model.wmfb" 2>/dev/null
    "$GEN" expect --blob "$eig/model.wmfb" --out "$eig/expected.txt"
    "$GEN" header --blob "$eig/model.wmfb" --out "$eig/user.h"
    make -s -C c K=16 BLOB="$eig/model.wmfb" USER_H_DIR="$eig" LIBWMF="$LIBWMF" \
        WMF_INC="$root/ffi/include" OUT="$eig" >/dev/null
    (cd rust && WMF_BLOB="$eig/model.wmfb" cargo build -q --release --features k16)
    cp rust/target/thumbv7em-none-eabihf/release/wmf-firmware "$eig/rust-k16.elf"
    for elf in "$eig/rust-k16.elf" "$eig/wmf-firmware-c-k16.elf"; do
        if qemu "$elf" >"$eig/out.txt" 2>&1 && grep -qx DONE "$eig/out.txt" \
            && "$GEN" compare "$eig/expected.txt" "$eig/out.txt"; then
            pass "$(basename "$elf"): eigenbasis blob, output matches the host"
        else
            fail "$(basename "$elf"): eigenbasis blob (log $eig/out.txt)"
        fi
    done
fi

# ---- negative test: a corrupted blob must be rejected on the device ----------
echo "== corrupted blob (one flipped bit in the item factors)"
bad="$OUT/model/k16-corrupt"
mkdir -p "$bad"
cp "$OUT/model/k16/model.wmfb" "$bad/model.wmfb"
cp "$OUT/model/k16/user.h" "$bad/user.h"
byte=$(od -An -tu1 -j1000 -N1 "$bad/model.wmfb" | tr -d ' ')
printf "\\x$(printf %02x $((byte ^ 1)))" | dd of="$bad/model.wmfb" bs=1 seek=1000 conv=notrunc status=none
cmp -s "$bad/model.wmfb" "$OUT/model/k16/model.wmfb" && { echo "corruption failed"; exit 1; }
make -s -C c K=16 BLOB="$bad/model.wmfb" USER_H_DIR="$bad" LIBWMF="$LIBWMF" \
    WMF_INC="$root/ffi/include" OUT="$bad" >/dev/null
(cd rust && WMF_BLOB="$bad/model.wmfb" cargo build -q --release --features k16)
cp rust/target/thumbv7em-none-eabihf/release/wmf-firmware "$bad/rust-k16.elf"
for elf in "$bad/rust-k16.elf" "$bad/wmf-firmware-c-k16.elf"; do
    if qemu "$elf" >"$bad/out.txt" 2>&1; then rc=0; else rc=$?; fi
    if [ "$rc" -eq 1 ] && grep -q '^ERROR model blob' "$bad/out.txt"; then
        pass "$(basename "$elf"): corrupted blob rejected ($(grep '^ERROR' "$bad/out.txt"))"
    else
        fail "$(basename "$elf"): corrupted blob not rejected (status $rc)"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
