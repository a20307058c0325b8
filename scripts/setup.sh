#!/usr/bin/env bash
# Installs what wmf needs beyond the Rust toolchain, only when missing.
#   scripts/setup.sh demo   OpenBLAS (for `wmf demo`)
#   scripts/setup.sh test   everything the test suite uses
# Debian packages (apt-get, as root or via sudo), rustup components, and a
# pinned cbindgen. Idempotent: a second run installs nothing.
set -euo pipefail

what=${1:-test}
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

apt_need() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

apt_need libopenblas-dev pkg-config gcc
[ "$what" = demo ] && exit 0

apt_need valgrind gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi qemu-system-arm \
    openmpi-bin libopenmpi-dev libclang-dev python3

if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
    rustup target add thumbv7em-none-eabihf
fi
if ! rustup +nightly component list --installed 2>/dev/null | grep -q '^miri'; then
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
if ! rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup +nightly component add rust-src
fi
CBINDGEN_VERSION=0.29.4
if ! cbindgen --version 2>/dev/null | grep -q "$CBINDGEN_VERSION"; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi
