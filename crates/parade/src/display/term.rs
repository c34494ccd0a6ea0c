//! The size of a terminal, asked with one `ioctl` (`TIOCGWINSZ`, through `rustix`).
//!
//! `crossterm::terminal::size` forks `tput cols` and `tput lines` when the ioctl fails (a closed
//! terminal), which a display redrawing ten times a second must never do; this asks the
//! terminal and nothing else.

use std::os::fd::AsFd;

/// The (columns, rows) of the terminal `fd` is, or `None` if it is not one (or is gone). A
/// terminal may report 0×0 (some emulators, serial lines): callers then fall back to plain
/// output.
///
/// ```
/// let file = tempfile::tempfile().unwrap();
/// assert_eq!(parade::display::terminal_size(&file), None);
/// ```
pub fn terminal_size(fd: impl AsFd) -> Option<(u16, u16)> {
    rustix::termios::tcgetwinsize(fd)
        .ok()
        .map(|w| (w.ws_col, w.ws_row))
}

/// Whether `fd` is a terminal with a usable size (neither dimension 0).
///
/// ```
/// assert!(!parade::display::usable_terminal(tempfile::tempfile().unwrap()));
/// ```
pub fn usable_terminal(fd: impl AsFd) -> bool {
    terminal_size(fd).is_some_and(|(c, r)| c > 0 && r > 0)
}
