//! Ctrl-C, SIGTERM and SIGHUP: stop the run and leave with status 130.
//!
//! Stopping is the engine's: [`Engine::stop`](parade::engine::Engine::stop) starts nothing new
//! and fires each running task's cancel hook, which sends SIGTERM to the task's process group,
//! waits the grace period and sends SIGKILL to what is left (`parade::exec::CommandJob`).
//! Signals arrive on a `signal-hook` iterator read by a watcher thread (no unsafe code here):
//! the handler itself only writes to a pipe, and the thread does the work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The exit status after an interrupt.
pub const INTERRUPTED: u8 = 130;

/// Set once a stop signal arrived.
#[derive(Clone, Default, Debug)]
pub struct Interrupted(Arc<AtomicBool>);

impl Interrupted {
    /// Whether a stop signal arrived.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP. On the first signal it sets the flag
/// and calls `on_stop` (which stops the engine); later signals only say that the run is
/// stopping.
pub fn install(on_stop: impl Fn() + Send + 'static) -> std::io::Result<Interrupted> {
    let flag = Interrupted::default();
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let seen = flag.clone();
    std::thread::Builder::new()
        .name("parade-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if seen.0.swap(true, Ordering::SeqCst) {
                    eprintln!("parade: already stopping; tasks get SIGKILL after the grace period");
                    continue;
                }
                eprintln!("\nparade: stopping; terminating running tasks");
                on_stop();
            }
        })?;
    Ok(flag)
}
