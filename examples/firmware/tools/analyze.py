#!/usr/bin/env python3
"""Numbers for BENCHMARKS.md from one firmware ELF and its QEMU runs.

    analyze.py ELF RUN_LOG MARKS_FILE ROOT_REGEX [ROOT_REGEX...]

- Sections: .text, .rodata, .data, .bss (arm-none-eabi-size -A), with the
  model blob (symbol MODEL_BLOB / wmf_model_blob..wmf_model_blob_end) taken
  out of .rodata.
- Kernel code: every function reachable (direct `bl`/`b` calls in
  arm-none-eabi-objdump -d) from the functions matching ROOT_REGEX, summed from
  `nm -S` sizes (their literal pools included, .rodata constants not).
  The first root regex is the fold-in path; all of them together give the
  whole scenario.
- Stack per stage: the firmware's `STACK <stage> <bytes>` lines (painting).
- Instructions per stage: MARKS_FILE from tools/insn_mark.c; stage i is
  mark[3 + 2i] - mark[2 + 2i] minus the calibration pair's difference.
Prints one JSON object.
"""
import json
import re
import subprocess
import sys

STAGES = ["crc", "validate", "fold10", "fold50", "fold100", "cholesky",
          "whiten", "lowrank10", "normal", "update1", "update2", "topn"]


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sections(elf):
    out = {}
    for line in run("arm-none-eabi-size", "-A", elf).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith("."):
            out[parts[0]] = int(parts[1])
    return out


def symbols(elf):
    """address -> (size, type, mangled name) for sized symbols."""
    syms = {}
    for line in run("arm-none-eabi-nm", "-S", elf).splitlines():
        m = re.match(r"([0-9a-f]+) ([0-9a-f]+) (\w) (.+)", line)
        if m:
            addr = int(m.group(1), 16) & ~1
            syms[addr] = (int(m.group(2), 16), m.group(3), m.group(4))
    return syms


def call_graph(elf):
    graph, names, cur = {}, {}, None
    head = re.compile(r"^([0-9a-f]+) <(.+)>:$")
    call = re.compile(r"\t(?:bl|b|b\.w|b\.n|beq\.w|bne\.w)\s+[0-9a-f]+ <([^+>]+)(?:\+0x[0-9a-f]+)?>")
    for line in run("arm-none-eabi-objdump", "-d", "--no-show-raw-insn", elf).splitlines():
        m = head.match(line)
        if m:
            cur = m.group(2)
            names[cur] = int(m.group(1), 16)
            graph.setdefault(cur, set())
            continue
        m = call.search(line)
        if m and cur is not None and m.group(1) != cur:
            graph[cur].add(m.group(1))
    return graph, names


def kind(name):
    """kernel: the wmf code itself (kernel, ffi wrappers, scenario stages);
    support: compiler builtins, memcpy, soft-float, core panics;
    firmware: the rest (panic handler, semihosting)."""
    if re.search(r"wmf_kernel|wmf_ffi|wmf_fw_scenario|^wmf_\w+_f32$|libm", name):
        return "kernel"
    if re.search(r"compiler_builtins|__aeabi|core.*panic|memcpy|memset|memclr", name):
        return "support"
    return "firmware"


def split_sizes(fns, size_of):
    out = {"kernel": 0, "support": 0, "firmware": 0}
    for f in fns:
        out[kind(f)] += size_of(f)
    return out


def closure(graph, roots):
    seen, todo = set(), list(roots)
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(graph.get(f, ()))
    return seen


def main():
    elf, log, marks_file = sys.argv[1:4]
    root_res = [re.compile(r) for r in sys.argv[4:]]
    sec = sections(elf)
    syms = symbols(elf)
    by_name = {}
    for addr, (size, kind, name) in syms.items():
        by_name.setdefault(name, (addr, size, kind))
    # model blob
    blob = 0
    for name, (addr, size, _) in by_name.items():
        if "MODEL_BLOB" in name:
            blob = size
    if "wmf_model_blob" in by_name or blob == 0:
        nm_plain = run("arm-none-eabi-nm", elf)
        addrs = {l.split()[2]: int(l.split()[0], 16) for l in nm_plain.splitlines() if len(l.split()) == 3}
        if "wmf_model_blob" in addrs and "wmf_model_blob_end" in addrs:
            blob = addrs["wmf_model_blob_end"] - addrs["wmf_model_blob"]
    graph, fn_addr = call_graph(elf)

    def size_of(fname):
        addr = fn_addr.get(fname)
        if addr is None:
            return 0
        s = syms.get(addr & ~1)
        return s[0] if s else 0

    def roots_for(rx):
        return [f for f in graph if rx.search(f)]

    fold_roots = roots_for(root_res[0])
    all_roots = [f for rx in root_res for f in roots_for(rx)]
    fold_fns = closure(graph, fold_roots)
    all_fns = closure(graph, all_roots)
    stack = {}
    for line in open(log):
        p = line.split()
        if len(p) == 3 and p[0] == "STACK":
            stack[p[1]] = int(p[2])
    marks = [int(l.split()[2]) for l in open(marks_file) if l.startswith("MARK ")]
    overhead = marks[1] - marks[0]
    insns = {}
    for i, s in enumerate(STAGES):
        if 3 + 2 * i < len(marks):
            insns[s] = marks[3 + 2 * i] - marks[2 + 2 * i] - overhead
    print(json.dumps({
        "elf": elf,
        "text": sec.get(".text", 0) + sec.get(".vector_table", 0),
        "rodata": sec.get(".rodata", 0),
        "model_blob": blob,
        "data": sec.get(".data", 0),
        "bss": sec.get(".bss", 0) + sec.get(".uninit", 0),
        "fold_roots": sorted(fold_roots),
        "fold_path_code": split_sizes(fold_fns, size_of),
        "fold_path_functions": sorted(fold_fns),
        "all_stages_code": split_sizes(all_fns, size_of),
        "all_stages_functions": sorted(all_fns),
        "stack": stack,
        "insns": insns,
        "mark_overhead": overhead,
    }, indent=1))


if __name__ == "__main__":
    main()
