//! The one panic boundary: no Rust panic ever unwinds into C.
//!
//! With the `std` feature every entry point runs inside `catch_unwind` and a
//! panic becomes `WMF_STATUS_PANIC` (or the entry point's documented fallback
//! value). Without `std` (the firmware build) panics abort: the target's
//! default is `panic = "abort"` and the crate's `#[panic_handler]` halts.

use crate::status::wmf_status;

/// Runs `f`, returning `on_panic` if it panics (with `std`), or `f`'s value.
#[inline]
pub(crate) fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(on_panic)
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = on_panic;
        f()
    }
}

/// Runs an entry point's body: `Ok` maps to `WMF_STATUS_OK`, `Err(s)` to `s`,
/// and a panic to `WMF_STATUS_PANIC`.
#[inline]
pub(crate) fn boundary(f: impl FnOnce() -> Result<(), wmf_status>) -> wmf_status {
    guard(Err(wmf_status::WMF_STATUS_PANIC), f)
        .err()
        .unwrap_or(wmf_status::WMF_STATUS_OK)
}

/// Bare-metal builds (no `std`, no OS) halt on a panic. The kernel is written
/// never to panic, so this is a last resort that firmware should never reach.
#[cfg(all(not(feature = "std"), target_os = "none", not(test)))]
#[panic_handler]
fn halt(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
