//! How many threads the machine gives this process: `std::thread::available_parallelism`,
//! asked once per process. On Linux each call reads the CPU affinity and the cgroup's CPU
//! quota (`/proc/self/cgroup`, `cpu.cfs_quota_us`, `cpu.max`): several files opened and read,
//! which a short command (`parade check`) should not pay at all, and a run not twice.
//!
//! It owns that one cached answer; it knows nothing of who asks. Hand-written: a `OnceLock`
//! around the standard library's answer is all it takes.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

/// The machine's available parallelism for this process (at least 1), asked of the system on
/// the first call only: a limit changed later (a cgroup's quota) is not seen.
///
/// ```
/// let n = parade::cores::available();
/// assert!(n >= 1);
/// assert_eq!(parade::cores::available(), n);
/// ```
pub fn available() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}
