//! Large values dropped off the thread that has somewhere to be: a file of 100,000 tasks is
//! read into structures whose freeing, allocation by allocation, is a tenth of a `check`. A
//! value of many parts goes to a thread of its own to be freed while the command goes on (and,
//! when the command ends first, the process's exit frees it at once).
//!
//! It knows nothing of what it drops. Hand-written: a thread per large value is all it takes
//! (crates that defer drops keep a queue and a thread for many small values).

/// How many parts make a value worth a thread of its own to free.
pub const LARGE: usize = 10_000;

/// Drops `value` on a thread of its own when it has at least [`LARGE`] `parts` (a count the
/// caller knows: tasks, entries), else here. A thread that cannot start drops nothing early:
/// the value is dropped here.
///
/// ```
/// parade_cli::discard::discard(vec![String::from("a"); 20_000], 20_000);
/// parade_cli::discard::discard(vec![1, 2, 3], 3);
/// ```
pub fn discard<T: Send + 'static>(value: T, parts: usize) {
    if parts < LARGE {
        drop(value);
        return;
    }
    // Spawning moves the value into the thread; on failure the closure, and the value with
    // it, is dropped by `spawn` itself, here.
    let _ = std::thread::Builder::new()
        .name("parade-discard".to_owned())
        .spawn(move || drop(value));
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread::ThreadId;

    use super::*;

    /// Says on which thread it was dropped.
    struct Tell(mpsc::Sender<ThreadId>);

    impl Drop for Tell {
        fn drop(&mut self) {
            let _ = self.0.send(std::thread::current().id());
        }
    }

    #[test]
    fn a_small_value_is_dropped_here_and_a_large_one_on_a_thread_of_its_own() {
        let here = std::thread::current().id();
        let (tx, rx) = mpsc::channel();
        discard(Tell(tx.clone()), LARGE - 1);
        assert_eq!(rx.try_recv(), Ok(here), "dropped before discard returned");
        discard(Tell(tx), LARGE);
        let dropped_on = rx.recv().expect("the large value is dropped");
        assert_ne!(dropped_on, here);
    }
}
