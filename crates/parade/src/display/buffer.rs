//! [`SharedBuffer`]: an in-memory writer that observers can own while a test reads it.

use std::io::{self, Write};
use std::sync::Arc;

use parking_lot::Mutex;

/// A cloneable in-memory writer: give one clone to an observer, read the other.
///
/// ```
/// use std::io::Write;
/// let buf = parade::display::SharedBuffer::default();
/// buf.clone().write_all(b"hi\n").unwrap();
/// assert_eq!(buf.contents(), "hi\n");
/// ```
#[derive(Clone, Default, Debug)]
pub struct SharedBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl SharedBuffer {
    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock()).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
