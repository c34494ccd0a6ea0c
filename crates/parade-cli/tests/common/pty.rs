//! Pseudo-terminals for tests that run `parade` as on a terminal: a pty of a given size whose
//! two ends are not inherited (a copy of the master side in `parade` or a task would keep the
//! terminal open). It knows nothing of task files or of what runs on the terminal.

use std::os::fd::AsFd;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::{OpenptyResult, Winsize, openpty};

/// A new pseudo-terminal of `cols`×`rows`, both ends close-on-exec (pass the slave side to a
/// child through `Stdio`, which duplicates it without the flag).
pub fn terminal(cols: u16, rows: u16) -> OpenptyResult {
    let pty = openpty(
        Some(&Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }),
        None,
    )
    .unwrap();
    for fd in [pty.master.as_fd(), pty.slave.as_fd()] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
    }
    pty
}
