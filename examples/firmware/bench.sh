#!/usr/bin/env bash
# Numbers for BENCHMARKS.md ("On-device (Cortex-M4, QEMU)"). Run after
# run-tests.sh (it uses the ELFs and run logs in target/). Builds the QEMU
# instruction-count plugin (tools/insn_mark.c, needs the host gcc and a QEMU
# built with plugin support, as Debian's is), runs every firmware once more
# under it, and prints one JSON object per firmware (tools/analyze.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
OUT="$here/target"
mkdir -p "$OUT/tools" "$OUT/bench"
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
    -o "$OUT/tools/libinsn_mark.so" tools/insn_mark.c

for name in rust-k16 rust-k32 c-k16 c-k32; do
    elf="$OUT/elf/$name.elf"
    mark=$(arm-none-eabi-nm "$elf" | awk '$3 == "wmf_insn_mark" { print "0x" $1 }')
    timeout 300 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -semihosting-config enable=on,target=native \
        -plugin "$OUT/tools/libinsn_mark.so,mark=$mark,out=$OUT/bench/$name.marks" \
        -kernel "$elf" </dev/null >"$OUT/bench/$name.txt"
    case "$name" in
        rust-*) roots=("stage_fold_cg" "stage_") ;;
        c-*) roots=("^wmf_solve_row_cg_f32$" "^wmf_(solve_row_cg|solve_row_cholesky|whiten|solve_row_low_rank|row_normal_equations|eals_online_update|top_n_items)_f32$") ;;
    esac
    python3 tools/analyze.py "$elf" "$OUT/bench/$name.txt" "$OUT/bench/$name.marks" "${roots[@]}" \
        >"$OUT/bench/$name.json"
    echo "== $name"
    cat "$OUT/bench/$name.json"
done
