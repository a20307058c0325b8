//! Bare-metal firmware for QEMU's `mps2-an386` (Cortex-M4F): runs the
//! on-device scenario of `wmf-fw-scenario` on a WMFB model blob linked into
//! flash, prints the report over semihosting, then exits through semihosting
//! (`SYS_EXIT`, status 0 on success, 1 on any error).
//!
//! Besides the report it prints, per stage, the stack the stage used,
//! measured by painting: just before a stage the free stack below the current
//! SP is filled with [`PAINT`]; just after it, the lowest overwritten word gives
//! the high-water mark. `STACK <stage> <bytes below the SP at the call>`.
//!
//! Every stage is bracketed by calls to [`wmf_insn_mark`], an empty function
//! the QEMU instruction-counting plugin (`examples/firmware/tools/insn_mark.c`)
//! watches: differences between consecutive marks are the instructions the
//! stage executed.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::ptr::{addr_of, read_volatile, write_volatile};

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hio};
use wmf_fw_scenario::{LOW_RANK_N, Probe, Ram, Stage, low_rank_scratch_len};

#[cfg(all(feature = "k16", not(feature = "k32")))]
const K: usize = 16;
#[cfg(all(feature = "k32", not(feature = "k16")))]
const K: usize = 32;
#[cfg(not(any(
    all(feature = "k16", not(feature = "k32")),
    all(feature = "k32", not(feature = "k16"))
)))]
compile_error!("enable exactly one of the features k16, k32");

/// The blob, 4-byte aligned so its payload can be viewed as `f32` in place.
#[repr(C, align(4))]
struct Aligned<B: ?Sized>(B);

/// The model (see `build.rs` for where it comes from), in flash.
static MODEL_BLOB: Aligned<[u8; include_bytes!(env!("WMF_BLOB")).len()]> =
    Aligned(*include_bytes!(env!("WMF_BLOB")));

/// Items the static buffer of the whitened model holds (`MAX_ITEMS · K`
/// floats of RAM: 512 KiB at k = 32); a larger model is reported, not cut.
const MAX_ITEMS: usize = 4096;

/// Stack paint pattern.
const PAINT: u32 = 0x5EE5_A11C;
/// How far below the current SP each stage's paint reaches (the stages use far less).
const PAINT_WINDOW: usize = 32 * 1024;

unsafe extern "C" {
    /// Lowest address of the stack region (cortex-m-rt's `link.x`).
    static _stack_end: u32;
    /// Highest address of the stack region (initial SP).
    static _stack_start: u32;
}

/// The instruction-count marker: does nothing observable, but the call is kept
/// (the `asm!` has side effects as far as the compiler knows).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn wmf_insn_mark() {
    // SAFETY: a single `nop` touches no memory or registers.
    unsafe { core::arch::asm!("nop", options(nomem, nostack, preserves_flags)) };
}

#[inline(always)]
fn sp() -> usize {
    cortex_m::register::msp::read() as usize
}

fn stack_bottom() -> usize {
    // Only the linker symbol's address is taken, never its value.
    addr_of!(_stack_end) as usize
}

fn stack_top() -> usize {
    // Only the linker symbol's address is taken, never its value.
    addr_of!(_stack_start) as usize
}

/// Paints `[low, current SP − 32)`: the stack below this frame (no interrupts
/// are enabled, so nothing else uses it). The SP is read before this function
/// pushes its own registers, hence the 32-byte margin; the margin and the bytes
/// between the stage's SP and this frame stay unpainted and count as used, so
/// the measure errs high by at most ~40 bytes.
#[inline(never)]
fn paint(low: usize) {
    let high = (sp() - 32) & !3;
    let mut p = low;
    while p < high {
        // SAFETY: `p` lies between the stack region's bottom and below the
        // current SP: free stack, word aligned, not in use by anyone.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Lowest address at or above `low` whose word is no longer the paint.
#[inline(never)]
fn high_water(low: usize, high: usize) -> usize {
    let mut p = low;
    // SAFETY: `[low, high)` is the painted, word-aligned stack range.
    while p < high && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

/// Paints before, measures after, and marks instruction counts around each stage.
struct StackProbe {
    low: usize,
    sp_at_begin: usize,
    used: [usize; Stage::ALL.len()],
    peak_from_top: usize,
}

impl Probe for StackProbe {
    #[inline(always)]
    fn begin(&mut self, _: Stage) {
        self.sp_at_begin = sp();
        self.low = self
            .sp_at_begin
            .saturating_sub(PAINT_WINDOW)
            .max(stack_bottom())
            & !3;
        paint(self.low);
        wmf_insn_mark();
    }

    #[inline(always)]
    fn end(&mut self, stage: Stage) {
        wmf_insn_mark();
        let hw = high_water(self.low, self.sp_at_begin);
        if let Some(i) = Stage::ALL.iter().position(|s| *s == stage) {
            self.used[i] = self.sp_at_begin - hw;
        }
        self.peak_from_top = self.peak_from_top.max(stack_top() - hw);
    }
}

fn fail(out: &mut Option<hio::HostStream>, what: &dyn core::fmt::Display) -> ! {
    if let Some(o) = out.as_mut() {
        let _ = writeln!(o, "ERROR {what}");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[entry]
fn main() -> ! {
    // The user's cached normal equations between online updates, the
    // whitened model and the low-rank solve's scratch: static RAM.
    static mut A: [f32; K * K] = [0.0; K * K];
    static mut B: [f32; K] = [0.0; K];
    static mut L: [f32; K * K] = [0.0; K * K];
    static mut HW: [f32; MAX_ITEMS * K] = [0.0; MAX_ITEMS * K];
    static mut LOW_RANK: [f32; low_rank_scratch_len(LOW_RANK_N, K)] =
        [0.0; low_rank_scratch_len(LOW_RANK_N, K)];

    let mut out = hio::hstdout().ok();
    // Calibration: two back-to-back marks give the marker's own overhead.
    wmf_insn_mark();
    wmf_insn_mark();

    let mut probe = StackProbe {
        low: 0,
        sp_at_begin: 0,
        used: [0; Stage::ALL.len()],
        peak_from_top: 0,
    };
    let ram = Ram {
        a: A,
        b: B,
        l: L,
        hw: HW,
        low_rank: LOW_RANK,
    };
    let res = wmf_fw_scenario::run::<K>(&MODEL_BLOB.0, ram, &mut probe);
    let outputs = match res {
        Ok(o) => o,
        Err(e) => fail(&mut out, &e),
    };
    let Some(o) = out.as_mut() else {
        fail(&mut out, &"no semihosting stdout")
    };
    if outputs.write_report(o).is_err() {
        fail(&mut out, &"write failed");
    }
    for (stage, used) in Stage::ALL.iter().zip(probe.used) {
        let _ = writeln!(o, "STACK {} {used}", stage.name());
    }
    let _ = writeln!(o, "STACKPEAK {}", probe.peak_from_top);
    let _ = writeln!(o, "DONE");
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    if let Ok(mut o) = hio::hstdout() {
        let _ = writeln!(o, "ERROR hard fault");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // The kernel and the scenario never panic; this is the last resort.
    if let Ok(mut o) = hio::hstdout() {
        let _ = writeln!(o, "ERROR panic");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
