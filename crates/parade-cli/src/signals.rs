//! Ctrl-C and SIGTERM: stop the run, terminate every running command's process group, wait a
//! grace period, kill what is left, and leave with status 130.
//!
//! Signals arrive on a `signal-hook` iterator read by a watcher thread (no unsafe code here):
//! the handler itself only writes to a pipe, and the thread does the work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::shell::Groups;

/// The exit status after an interrupt.
pub const INTERRUPTED: i32 = 130;

/// Set once a stop signal arrived.
#[derive(Clone, Default, Debug)]
pub struct Interrupted(Arc<AtomicBool>);

impl Interrupted {
    /// Whether a stop signal arrived.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP. On the first signal it calls `on_stop`
/// (stop scheduling), then terminates every group in `groups` (SIGTERM, `grace`, SIGKILL). A
/// second signal kills what is left at once.
pub fn install(
    groups: &'static Groups,
    grace: Duration,
    on_stop: impl Fn() + Send + 'static,
) -> std::io::Result<Interrupted> {
    let flag = Interrupted::default();
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let seen = flag.clone();
    std::thread::Builder::new()
        .name("parade-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if seen.0.swap(true, Ordering::SeqCst) {
                    groups.terminate_all(Duration::ZERO);
                    continue;
                }
                eprintln!("\nparade: stopping; terminating running tasks");
                on_stop();
                let groups_done = std::thread::spawn(move || groups.terminate_all(grace));
                let _ = groups_done.join();
            }
        })?;
    Ok(flag)
}
