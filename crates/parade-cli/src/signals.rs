//! Ctrl-C, SIGTERM and SIGHUP: stop the run and leave with status 130; a second one kills
//! every running task at once.
//!
//! Stopping is the engine's: [`Engine::stop`](parade::engine::Engine::stop) starts nothing new
//! and fires each running task's cancel hook, which sends SIGTERM to every process of the task
//! (its process group, and its cgroup where there is one), waits the grace period and sends
//! SIGKILL to what is left (`parade::exec::CommandJob`). A second signal kills them all without
//! waiting ([`parade::exec::isolation::kill_running`]).
//!
//! Signals arrive on a `signal-hook` iterator read by a watcher thread (no unsafe code here):
//! the handler itself only writes to a pipe, and the thread does the work. The thread acts
//! first and speaks after, and speaks through [`crate::stderr`] from a thread of its own: a
//! closed terminal (SIGHUP, then writes fail with EIO) or a full or closed pipe never panics
//! it or blocks it, so every later signal is still heard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::stderr;

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
/// and calls `on_stop` (which stops the engine); on every later one it kills all running
/// tasks at once.
pub fn install(on_stop: impl Fn() + Send + 'static) -> std::io::Result<Interrupted> {
    let flag = Interrupted::default();
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let seen = flag.clone();
    std::thread::Builder::new()
        .name("parade-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if seen.0.swap(true, Ordering::SeqCst) {
                    let n = parade::exec::isolation::kill_running();
                    stderr::line_in_background(format!(
                        "parade: killing {n} running task{} now (SIGKILL)",
                        if n == 1 { "" } else { "s" }
                    ));
                    continue;
                }
                on_stop();
                stderr::line_in_background(
                    "\nparade: stopping; terminating running tasks (again to kill them at once)"
                        .to_owned(),
                );
            }
        })?;
    Ok(flag)
}
