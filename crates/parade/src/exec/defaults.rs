//! The engine's default executors, chosen here rather than in the engine (which must not
//! depend on `exec`): [`Engine::new`] on the process-wide [`ThreadPool`], [`Engine::inline`] on
//! an [`Inline`] executor.

use std::sync::Arc;

use super::{Inline, ThreadPool};
use crate::engine::Engine;

impl Engine {
    /// An engine on the process-wide thread pool (one thread per core).
    pub fn new() -> Self {
        Self::with_executor(ThreadPool::global())
    }

    /// An engine that runs every job on the thread that waits, one at a time, in a fixed order:
    /// deterministic, and a debugger's friend.
    pub fn inline() -> Self {
        Self::with_executor(Arc::new(Inline::new()))
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}
