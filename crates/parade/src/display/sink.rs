//! [`Sink`]: where an observer writes, remembering the first write error instead of losing it.
//!
//! Observers cannot return errors to the engine, and a closed pipe or a full disk must neither
//! panic nor stop the run. A [`Sink`] writes until the first error, then drops everything else
//! (so a dead terminal is never written to again, and never blocks), and keeps that error for
//! whoever ends the run to report ([`SinkError`]).

use std::io::{self, Write};
use std::sync::Arc;

use parking_lot::Mutex;

/// A writer that never fails: the first error is kept in its [`SinkError`] and later writes are
/// dropped.
///
/// ```
/// use std::io::Write;
/// let (mut sink, error) = parade::display::Sink::new(std::fs::File::open("/dev/null").unwrap());
/// sink.write_all(b"lost: /dev/null opened read-only\n").unwrap();
/// assert!(error.get().is_some());
/// ```
pub struct Sink {
    out: Box<dyn Write + Send>,
    error: SinkError,
}

/// The first error a [`Sink`] met, shared with whoever reports it.
#[derive(Clone, Default, Debug)]
pub struct SinkError(Arc<Mutex<Option<io::Error>>>);

impl SinkError {
    /// The first error, as text (`None` while every write succeeded).
    pub fn get(&self) -> Option<String> {
        self.0.lock().as_ref().map(ToString::to_string)
    }

    /// Whether the first error was a closed pipe (the reader went away: `| head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.0
            .lock()
            .as_ref()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }

    fn set(&self, e: io::Error) {
        self.0.lock().get_or_insert(e);
    }

    fn is_set(&self) -> bool {
        self.0.lock().is_some()
    }
}

impl Sink {
    /// A sink writing to `out`, and the handle to its first error.
    pub fn new(out: impl Write + Send + 'static) -> (Self, SinkError) {
        let error = SinkError::default();
        (Self::with_error(out, error.clone()), error)
    }

    /// A sink writing to `out` that records its first error in `error` (shared by several sinks).
    pub fn with_error(out: impl Write + Send + 'static, error: SinkError) -> Self {
        Self {
            out: Box::new(out),
            error,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.error.is_set()
            && let Err(e) = self.out.write_all(buf)
        {
            self.error.set(e);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.error.is_set()
            && let Err(e) = self.out.flush()
        {
            self.error.set(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_device_is_remembered_and_not_written_again() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // no /dev/full here
        };
        let (mut sink, error) = Sink::new(full);
        sink.write_all(b"x\n").unwrap();
        sink.flush().unwrap();
        assert!(error.get().unwrap().contains("No space"), "{error:?}");
        assert!(!error.is_broken_pipe());
    }
}
