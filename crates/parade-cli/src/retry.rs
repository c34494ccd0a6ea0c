//! `retries = N`: a failed attempt of a task runs again, up to N more times. Every attempt's
//! output goes to the task's one log, each new attempt announced by a line; the reason of a
//! task that failed every attempt says how many there were.
//!
//! This module knows attempts and outcomes, not what an attempt runs. A stopped task (timeout,
//! Ctrl-C) is not retried: its deadline has passed or the run is ending.

use parade::engine::{Outcome, Reason, TaskContext};
use serde_json::Value;

/// Runs `attempt` until it succeeds, fails in a way that is not retried, or `retries` more
/// attempts have failed.
pub fn with_retries(
    retries: u32,
    ctx: &TaskContext,
    mut attempt: impl FnMut() -> (Outcome, Option<Value>),
) -> (Outcome, Option<Value>) {
    let total = retries.saturating_add(1);
    let mut n = 1;
    loop {
        let (outcome, value) = attempt();
        let Outcome::Failed(reason) = &outcome else {
            return (outcome, value);
        };
        if matches!(reason, Reason::Timeout(_) | Reason::Cancelled) || ctx.is_cancelled() {
            return (outcome, value);
        }
        if n >= total {
            if total == 1 {
                return (outcome, value);
            }
            return (
                Outcome::failed(format!("{reason} (after {total} attempts)")),
                value,
            );
        }
        n += 1;
        ctx.emit(format!(
            "parade: attempt {n} of {total} (the last one ended: {reason})"
        ));
    }
}
