//! A global allocator for counting tests: the system allocator counted by `stats_alloc`, and
//! the peak of bytes live (what a process's peak RSS follows; `stats_alloc` keeps no peak).
//! Included with `#[path]` by the counting suites of the library and the command; each makes
//! it its binary's `#[global_allocator]`:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: Peaked = Peaked(&INSTRUMENTED_SYSTEM);
//! ```

#![allow(dead_code)] // each suite uses part of it

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use stats_alloc::StatsAlloc;

/// The system allocator, counted, with the peak of bytes live.
pub struct Peaked(pub &'static StatsAlloc<System>);

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator as it came; the counters only add.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Peaked {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// The most bytes live at once while `f` runs, over those live before it, divided by `per`.
pub fn peak_per<T>(per: usize, f: impl FnOnce() -> T) -> (f64, T) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let peak = (PEAK.load(Ordering::Relaxed).saturating_sub(before)) as f64 / per as f64;
    (peak, out)
}
