//! Writing messages to stderr that never panic: `eprintln!` panics when stderr is a closed
//! pipe or a terminal that went away (EPIPE, EIO), which would end parade before it has
//! stopped its tasks. Here a failed write is dropped: the message has nowhere to go.

use std::io::Write;

/// Writes `text` and a newline to stderr, ignoring errors.
///
/// ```
/// parade_cli::stderr::line("parade: hello");
/// ```
pub fn line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.write_all(b"\n");
}

/// [`line()`] from a thread of its own, for callers that must never wait on a stderr nobody
/// reads (a terminal on hold, a full pipe).
pub fn line_in_background(text: String) {
    let spawned = std::thread::Builder::new()
        .name("parade-say".into())
        .spawn(move || line(&text));
    drop(spawned);
}
