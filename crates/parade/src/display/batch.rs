//! [`Batch`]: a writer for observers that write one small piece per event (a line each), which
//! gathers the pieces and writes them together: one `write` per [`BATCH_BYTES`] or per burst
//! instead of one `write` and one flush per line.
//!
//! Owns: the buffer, when it goes out (when it holds [`BATCH_BYTES`], when the observer says a
//! task started or ended ([`Batch::flush`]), and at the latest [`FLUSH_AFTER`] after the first
//! piece it holds, from a thread of its own, so that a task printing a line now and then still
//! shows it at once), and the order: pieces go out in the order they were pushed, whoever
//! writes them. Must not know: events, tasks, what the pieces say.
//!
//! Errors are the [`Sink`]'s: the first is kept for whoever ends the run, and nothing is lost
//! silently (a closed pipe or a dead terminal is reported there). Nothing is left in the
//! buffer once [`Batch::flush`] returns, or once the `Batch` is dropped.
//!
//! Hand-written rather than a `BufWriter`: a `BufWriter` holds what it buffered until its
//! owner writes again, and an observer is not called again until the next event, which may be
//! minutes away.

use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::sink::Sink;

/// How much a batch gathers before it is written at once.
pub const BATCH_BYTES: usize = 64 * 1024;

/// How long a piece waits at most before it is written.
pub const FLUSH_AFTER: Duration = Duration::from_millis(10);

/// Pieces gathered for one [`Sink`], written in order in few writes. `X` is what the writer
/// keeps beside the pieces under the same lock ([`Batch::push_with`]: one lock per piece,
/// not one for the writer's state and one for the batch).
pub(crate) struct Batch<X = ()> {
    shared: Arc<Shared<X>>,
}

struct Shared<X> {
    /// Taken first by whoever writes, so that batches go out in the order they were gathered.
    out: Mutex<Sink>,
    pending: Mutex<Pending<X>>,
    /// Wakes the flushing thread: something to write, or the batch is gone.
    wake: Condvar,
}

#[derive(Default)]
struct Pending<X> {
    buf: Vec<u8>,
    /// When the oldest piece in `buf` was pushed.
    since: Option<Instant>,
    /// Whether the flushing thread was started.
    flusher: bool,
    closed: bool,
    extra: X,
}

impl<X: Default + Send + 'static> Batch<X> {
    /// A batch writing to `out`.
    pub(crate) fn new(out: Sink) -> Self {
        Self {
            shared: Arc::new(Shared {
                out: Mutex::new(out),
                pending: Mutex::new(Pending::default()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Adds `bytes`; they are written with the next full batch, the next [`flush`](Self::flush),
    /// or [`FLUSH_AFTER`] from now, whichever comes first.
    pub(crate) fn push(&self, bytes: &[u8]) {
        self.push_parts(&[bytes]);
    }

    /// [`push`](Self::push) of `parts` one after the other, as one piece (a line and its
    /// prefix go into the batch without being put together first).
    pub(crate) fn push_parts(&self, parts: &[&[u8]]) {
        self.push_with(|buf, _| {
            for part in parts {
                buf.extend_from_slice(part);
            }
        });
    }

    /// Adds what `piece` writes into the buffer, given the writer's own state too, under one
    /// lock; like [`push`](Self::push) otherwise.
    pub(crate) fn push_with(&self, piece: impl FnOnce(&mut Vec<u8>, &mut X)) {
        let full = {
            let mut p = self.shared.pending.lock();
            let p = &mut *p;
            piece(&mut p.buf, &mut p.extra);
            if p.since.is_none() {
                p.since = Some(Instant::now());
                if !p.flusher {
                    p.flusher = self.start_flusher();
                }
                self.shared.wake.notify_one();
            }
            // Without a flushing thread nothing would write it later: now, then.
            p.buf.len() >= BATCH_BYTES || !p.flusher
        };
        if full {
            self.shared.write_out(false);
        }
    }

    /// Runs `f` on the writer's state kept with the batch.
    pub(crate) fn with_extra<T>(&self, f: impl FnOnce(&mut X) -> T) -> T {
        f(&mut self.shared.pending.lock().extra)
    }

    /// Writes what is gathered and flushes the sink (a task's boundary: what other observers
    /// write next comes after it).
    pub(crate) fn flush(&self) {
        self.shared.write_out(true);
    }

    /// Starts the thread that writes what waited [`FLUSH_AFTER`]; false if none can start
    /// (then every piece is written at once).
    fn start_flusher(&self) -> bool {
        let weak = Arc::downgrade(&self.shared);
        std::thread::Builder::new()
            .name("parade-flush".into())
            .spawn(move || flusher(&weak))
            .is_ok()
    }
}

impl<X> Shared<X> {
    /// Writes what is gathered, in order; with `flush`, flushes the sink too.
    fn write_out(&self, flush: bool) {
        let mut out = self.out.lock();
        let (buf, unbatched) = {
            let mut p = self.pending.lock();
            p.since = None;
            (std::mem::take(&mut p.buf), !p.flusher)
        };
        if !buf.is_empty() {
            // A sink keeps its first error for whoever ends the run; it never fails here.
            let _ = out.write_all(&buf);
        }
        if flush || unbatched || !buf.is_empty() {
            let _ = out.flush();
        }
        // The buffer's room is kept for the next batch.
        let mut p = self.pending.lock();
        if p.buf.is_empty() && buf.capacity() <= 4 * BATCH_BYTES {
            let mut buf = buf;
            buf.clear();
            p.buf = buf;
        }
    }
}

/// The flushing thread: writes a batch [`FLUSH_AFTER`] after its first piece, until the batch
/// is dropped.
fn flusher<X>(shared: &Weak<Shared<X>>) {
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut p = shared.pending.lock();
        if p.closed {
            return;
        }
        match p.since {
            None => {
                // Woken by a push or the drop; the timeout only bounds how long a dropped
                // batch's thread could linger if a wakeup were missed.
                shared.wake.wait_for(&mut p, Duration::from_secs(1));
            }
            Some(since) => {
                let due = since + FLUSH_AFTER;
                if Instant::now() >= due {
                    drop(p);
                    shared.write_out(false);
                } else {
                    shared.wake.wait_until(&mut p, due);
                }
            }
        }
    }
}

impl<X> Drop for Batch<X> {
    fn drop(&mut self) {
        self.shared.write_out(true);
        self.shared.pending.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::SharedBuffer;

    #[test]
    fn pieces_go_out_in_order_and_none_is_lost() {
        let out = SharedBuffer::default();
        let (sink, error) = Sink::new(out.clone());
        let batch = Batch::<()>::new(sink);
        let mut expected = String::new();
        for i in 0..20_000 {
            let line = format!("line {i}\n");
            batch.push(line.as_bytes());
            expected.push_str(&line);
        }
        batch.flush();
        assert_eq!(out.contents(), expected);
        assert!(error.get().is_none());
    }

    #[test]
    fn a_lone_piece_is_written_soon_without_a_flush() {
        let out = SharedBuffer::default();
        let (sink, _) = Sink::new(out.clone());
        let batch = Batch::<()>::new(sink);
        batch.push(b"hello\n");
        let until = Instant::now() + Duration::from_secs(10);
        while out.contents().is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(out.contents(), "hello\n");
    }

    #[test]
    fn a_dropped_batch_writes_what_it_held() {
        let out = SharedBuffer::default();
        let (sink, _) = Sink::new(out.clone());
        let batch = Batch::<()>::new(sink);
        batch.push(b"last words\n");
        drop(batch);
        assert_eq!(out.contents(), "last words\n");
    }

    #[test]
    fn a_failed_write_is_kept_for_the_report() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // no /dev/full here
        };
        let (sink, error) = Sink::new(full);
        let batch = Batch::<()>::new(sink);
        batch.push(b"x\n");
        batch.flush();
        assert!(
            error.get().is_some_and(|e| e.contains("No space")),
            "{error:?}"
        );
    }
}
