//! A global allocator that starts every large block on a cache line.
//!
//! glibc's `malloc` returns 16-byte aligned memory; a block it maps on its
//! own (large allocations) starts 16 bytes past a page boundary. A factor
//! row of `k = 64` `f32`s (256 bytes) then spans five cache lines instead of
//! four, every 64-byte vector load of it straddles two lines, and a prefetch
//! of the row's four lines misses its tail. [`CacheLineAlloc`] passes small
//! requests to the system allocator unchanged and raises the alignment of
//! requests of at least [`LARGE`] bytes to 64, so factor matrices, their
//! whitened copies and the solvers' gathered blocks start on a line.
//!
//! Register it in a binary with
//! `#[global_allocator] static A: wmf_host::alloc::CacheLineAlloc = wmf_host::alloc::CacheLineAlloc;`
//! (the `wmf` command line does).

use std::alloc::{GlobalAlloc, Layout, System};

/// Requests of at least this many bytes are aligned to [`LINE`].
pub const LARGE: usize = 4096;
/// The alignment of large requests: one cache line.
pub const LINE: usize = 64;

/// See the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheLineAlloc;

/// The layout actually requested from the system: a function of the
/// caller's layout only, so `dealloc` sees the same one as `alloc` did.
#[inline]
fn adjusted(layout: Layout) -> Layout {
    if layout.size() >= LARGE && layout.align() < LINE {
        // `align_to` keeps the size; it fails only when the size rounded up
        // to a multiple of LINE would pass isize::MAX, and then the
        // caller's layout is kept.
        layout.align_to(LINE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every method forwards to `System` with `adjusted(layout)`, a valid
// layout at least as strict as the caller's (same size, alignment raised or
// kept), and `adjusted` is a pure function of the layout, so each block is
// freed or resized with the layout it was allocated with. `realloc` across
// the `LARGE` boundary (where the adjusted alignment changes) allocates,
// copies `min(old, new)` bytes and frees, as `GlobalAlloc::realloc`'s
// default does.
unsafe impl GlobalAlloc for CacheLineAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above; `layout` has a non-zero size (caller's contract).
        unsafe { System.alloc(adjusted(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(adjusted(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this `layout`, hence from
        // `System` with `adjusted(layout)`.
        unsafe { System.dealloc(ptr, adjusted(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = adjusted(layout);
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = adjusted(new_layout);
        if new.align() == old.align() && old.align() == layout.align() {
            // small to small (or a caller's own alignment of 64 or more)
            // SAFETY: `ptr` was allocated by `System` with `old`; the new
            // size is valid for that alignment (checked by `from_size_align`).
            return unsafe { System.realloc(ptr, old, new_size) };
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if new.align() == old.align() && layout.align() <= 16 {
            // Both blocks large, the caller's alignment at most malloc's
            // own 16. `System.realloc` at an alignment above 16 always
            // allocates, copies and frees, so a growing vector needed its
            // old and new blocks at once (measured: peak RSS 88.7 -> 105.9
            // MiB training 50k at k = 128). glibc's own `realloc` accepts
            // its `posix_memalign` blocks, grows them in place where it can
            // and keeps a mapped block's offset in its page (`mremap`), so
            // the result is usually still on a line; when it is not, the
            // data moves once more to an aligned block (or, if that fails,
            // stays where it is: 16-byte aligned satisfies the caller).
            // SAFETY: `ptr` is a live block from glibc's `posix_memalign`
            // (System's path for alignments above 16); `libc::realloc`
            // returns a block of `new_size` bytes holding the contents, or
            // null with `ptr` untouched; `fresh` receives `new_size` bytes
            // of `moved` before `moved` is freed; every block returned is
            // one `free` (System's `dealloc`) accepts.
            unsafe {
                let moved = libc::realloc(ptr.cast(), new_size).cast::<u8>();
                if moved.is_null() || (moved as usize).is_multiple_of(LINE) {
                    return moved;
                }
                let fresh = System.alloc(new);
                if fresh.is_null() {
                    return moved;
                }
                std::ptr::copy_nonoverlapping(moved, fresh, new_size);
                libc::free(moved.cast());
                return fresh;
            }
        }
        // SAFETY: `new` is a valid non-zero layout (`new_size > 0` by the
        // caller's contract); on success both blocks are live and at least
        // `min(old, new_size)` bytes long, and `ptr` is freed with `old`.
        unsafe {
            let fresh = System.alloc(new);
            if !fresh.is_null() {
                std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
            fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_start_on_a_line_and_keep_their_contents() {
        let a = CacheLineAlloc;
        for size in [
            1usize,
            16,
            100,
            LARGE - 1,
            LARGE,
            LARGE + 4,
            1 << 20,
            5 << 20,
        ] {
            let layout = Layout::from_size_align(size, 4).unwrap();
            // SAFETY: non-zero size; the block is written within its size,
            // resized and freed with the layouts it has.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                if size >= LARGE {
                    assert_eq!(p as usize % LINE, 0, "size {size}");
                }
                for i in 0..size {
                    *p.add(i) = (i % 251) as u8;
                }
                // grow across the boundary and back down
                let bigger = size * 3 + LARGE;
                let q = a.realloc(p, layout, bigger);
                assert!(!q.is_null());
                assert_eq!(q as usize % LINE, 0);
                for i in 0..size {
                    assert_eq!(*q.add(i), (i % 251) as u8, "size {size} at {i}");
                }
                let grown = Layout::from_size_align(bigger, 4).unwrap();
                let r = a.realloc(q, grown, size);
                assert!(!r.is_null());
                if size >= LARGE {
                    assert_eq!(r as usize % LINE, 0);
                }
                for i in 0..size {
                    assert_eq!(*r.add(i), (i % 251) as u8, "size {size} at {i}");
                }
                a.dealloc(r, layout);
                let z = a.alloc_zeroed(layout);
                assert!((0..size).all(|i| *z.add(i) == 0));
                a.dealloc(z, layout);
            }
        }
    }
}
