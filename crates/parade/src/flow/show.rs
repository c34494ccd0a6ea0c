//! The flow's own display: a [`PlainObserver`] set up from the flow's names, its procs'
//! `log_ignore` rules and [`FlowOptions::full_log_on_failure`](super::FlowOptions).
//!
//! This module only configures the display; what a snippet shows (keywords, tails, ignore
//! rules, whole logs) is the [`snippet`](crate::display::snippet) rule that the `parade`
//! command's `--full-log` uses too.

use std::io::Write;
use std::sync::Arc;

use crate::display::PlainObserver;

impl super::Flow {
    /// A [`PlainObserver`] for this flow, writing to `out`: names its procs, applies their
    /// `log_ignore` rules, and shows a failed proc's whole log when
    /// [`FlowOptions::full_log_on_failure`](super::FlowOptions::full_log_on_failure) is on (as
    /// it is when the observer is made). Subscribe it with [`Flow::observe`](super::Flow::observe).
    ///
    /// ```
    /// use parade::display::SharedBuffer;
    /// use parade::flow::{Flow, FlowOptions, Mode, ProcError};
    /// let options = FlowOptions::new().mode(Mode::Inline).full_log_on_failure(true);
    /// let flow = Flow::with_options(options).unwrap();
    /// let out = SharedBuffer::default();
    /// flow.observe(flow.plain_observer(out.clone()));
    /// flow.proc("fetch", |ctx| {
    ///     for i in 1..=20 {
    ///         ctx.log(format!("step {i}"));
    ///     }
    ///     Err::<(), _>(ProcError::failed("gave up"))
    /// })
    /// .add()
    /// .unwrap();
    /// flow.run("fetch").unwrap();
    /// let _ = flow.wait_all();
    /// // The whole log, not only its last 16 lines.
    /// assert!(out.contents().contains("--- lines 1-21 ---\n  step 1\n"), "{}", out.contents());
    /// ```
    pub fn plain_observer(&self, out: impl Write + Send + 'static) -> PlainObserver {
        let full = self.options().full_log_on_failure.unwrap_or(false);
        PlainObserver::new(out, Arc::new(self.names())).full_log(full)
    }
}
