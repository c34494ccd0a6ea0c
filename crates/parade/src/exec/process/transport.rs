//! How a worker reaches its parent: a Unix socket (workers on this machine), or TCP with a
//! per-run secret (workers on other machines, such as the nodes of a Slurm cluster).
//!
//! The worker learns where to connect from [`WORKER_SOCKET_ENV`]: a socket path, or
//! `tcp://HOST:PORT`. Over TCP, the first line a connection sends must be the run's secret,
//! which the worker reads from the file named by [`WORKER_SECRET_FILE_ENV`] (readable only by
//! the user). The parent reads at most [`SECRET_LINE_MAX`] bytes, within
//! [`SECRET_WAIT`], before it reads anything else; a connection without the secret is closed
//! and logged, and the parent goes on waiting for its worker.
//!
//! This module knows sockets and the secret; the messages that follow are the protocol's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::worker::WORKER_SOCKET_ENV;

/// The environment variable naming the file that holds the secret a worker proves over TCP.
pub const WORKER_SECRET_FILE_ENV: &str = "PARADE_WORKER_SECRET_FILE";

/// The longest secret line the parent reads.
pub const SECRET_LINE_MAX: usize = 256;

/// How long the parent waits for a connection's secret.
pub const SECRET_WAIT: Duration = Duration::from_secs(10);

/// Where a parent listens for one worker.
pub(crate) enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener, Arc<Secret>),
}

/// A run's secret, and the file (mode 0600) that hands it to workers.
pub(crate) struct Secret {
    value: String,
    file: PathBuf,
}

impl Secret {
    /// A fresh secret, written to a new file in `dir` readable only by the user.
    pub(crate) fn create(dir: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let value = bytes.iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        });
        std::fs::create_dir_all(dir)?;
        let file = dir.join(format!(
            ".worker-secret-{}-{}",
            std::process::id(),
            &value[..8]
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)?;
        f.write_all(value.as_bytes())?;
        Ok(Self { value, file })
    }

    /// The file workers read the secret from.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// One connection, either kind.
pub(crate) enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    pub(crate) fn try_clone(&self) -> std::io::Result<Self> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

impl Listener {
    /// Listens on the Unix socket `path` (a socket left there by an earlier run is replaced).
    pub(crate) fn unix(path: &Path) -> Result<Self, String> {
        let _ = std::fs::remove_file(path);
        UnixListener::bind(path)
            .map(|l| Listener::Unix(l, path.to_owned()))
            .map_err(|e| {
                format!(
                    "cannot open a socket for the worker at {}: {e}",
                    path.display()
                )
            })
    }

    /// Listens on a free TCP port of `ip`; connections must prove `secret`.
    pub(crate) fn tcp(ip: std::net::IpAddr, secret: Arc<Secret>) -> Result<Self, String> {
        TcpListener::bind((ip, 0))
            .map(|l| Listener::Tcp(l, secret))
            .map_err(|e| format!("cannot listen for the worker on {ip}: {e}"))
    }

    /// The environment a worker needs to connect here.
    pub(crate) fn worker_env(&self) -> Vec<(String, String)> {
        match self {
            Listener::Unix(_, path) => vec![(
                WORKER_SOCKET_ENV.to_owned(),
                path.to_string_lossy().into_owned(),
            )],
            Listener::Tcp(l, secret) => {
                let addr = l
                    .local_addr()
                    .map_or_else(|e| e.to_string(), |a| a.to_string());
                vec![
                    (WORKER_SOCKET_ENV.to_owned(), format!("tcp://{addr}")),
                    (
                        WORKER_SECRET_FILE_ENV.to_owned(),
                        secret.file().to_string_lossy().into_owned(),
                    ),
                ]
            }
        }
    }

    /// Something that wakes [`accept`](Self::accept) when the worker will never come.
    pub(crate) fn waker(&self) -> Waker {
        match self {
            Listener::Unix(_, path) => Waker::Unix(path.clone()),
            Listener::Tcp(l, secret) => Waker::Tcp(l.local_addr().ok(), secret.value.clone()),
        }
    }

    /// Waits for the worker's connection. Over TCP, a connection that does not send the secret
    /// first is closed and logged, and the wait goes on.
    pub(crate) fn accept(&self) -> std::io::Result<Conn> {
        match self {
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(l, secret) => loop {
                let (stream, from) = l.accept()?;
                match prove(&stream, &secret.value) {
                    Ok(()) => return Ok(Conn::Tcp(stream)),
                    Err(why) => {
                        eprintln!("parade: refused a worker connection from {from}: {why}");
                    }
                }
            },
        }
    }

    /// Removes what it made (the Unix socket file).
    pub(crate) fn remove(self) {
        if let Listener::Unix(l, path) = self {
            drop(l);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Checks that the first line `stream` sends is `secret`, reading no more than a secret line.
fn prove(stream: &TcpStream, secret: &str) -> Result<(), String> {
    stream
        .set_read_timeout(Some(SECRET_WAIT))
        .map_err(|e| e.to_string())?;
    // Byte by byte: nothing after the secret's line is taken from the stream.
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let mut reader = stream;
    while line.len() < SECRET_LINE_MAX {
        match reader.read(&mut byte) {
            Ok(0) => return Err("closed before sending a secret".to_owned()),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) => return Err(format!("no secret ({e})")),
        }
    }
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    if constant_time_eq(&line, secret.as_bytes()) {
        Ok(())
    } else {
        Err("wrong secret".to_owned())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Wakes a parent waiting for a worker that will never connect.
pub(crate) enum Waker {
    Unix(PathBuf),
    Tcp(Option<SocketAddr>, String),
}

impl Waker {
    pub(crate) fn wake(&self) {
        match self {
            Waker::Unix(path) => {
                let _ = UnixStream::connect(path);
            }
            Waker::Tcp(Some(addr), secret) => {
                if let Ok(mut s) = TcpStream::connect_timeout(addr, Duration::from_secs(5)) {
                    let _ = s.write_all(format!("{secret}\n").as_bytes());
                }
            }
            Waker::Tcp(None, _) => {}
        }
    }
}

/// The worker's side: connects to the parent named by `target` (a socket path or
/// `tcp://HOST:PORT`), proving the secret over TCP.
pub(crate) fn connect(target: &std::ffi::OsStr) -> std::io::Result<Conn> {
    let text = target.to_string_lossy();
    let Some(addr) = text.strip_prefix("tcp://") else {
        return UnixStream::connect(Path::new(target)).map(Conn::Unix);
    };
    let file = std::env::var_os(WORKER_SECRET_FILE_ENV).ok_or_else(|| {
        std::io::Error::other(format!(
            "{WORKER_SOCKET_ENV} names a TCP address but {WORKER_SECRET_FILE_ENV} is not set"
        ))
    })?;
    let secret = std::fs::read_to_string(&file).map_err(|e| {
        std::io::Error::other(format!(
            "cannot read the worker secret from {}: {e}",
            Path::new(&file).display()
        ))
    })?;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.write_all(format!("{}\n", secret.trim()).as_bytes())?;
    Ok(Conn::Tcp(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn a_wrong_secret_is_refused_and_the_right_one_accepted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = Arc::new(Secret::create(dir.path()).unwrap());
        let mode = std::fs::metadata(secret.file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let listener = Listener::tcp("127.0.0.1".parse().unwrap(), secret.clone()).unwrap();
        let Listener::Tcp(l, _) = &listener else {
            unreachable!()
        };
        let addr = l.local_addr().unwrap();
        let intruder = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"guess\n{\"Done\":{\"Ok\":1}}\n").unwrap();
            let mut buf = [0u8; 1];
            // The parent closes the connection without a word (an end of file, or a reset
            // since it left bytes unread).
            assert!(
                !matches!(s.read(&mut buf), Ok(n) if n > 0),
                "the parent answered"
            );
        });
        let value = secret.value.clone();
        let worker = std::thread::spawn(move || {
            intruder.join().unwrap();
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(format!("{value}\nhello\n").as_bytes()).unwrap();
        });
        let conn = listener.accept().unwrap();
        let mut rest = String::new();
        BufReader::new(conn).read_line(&mut rest).unwrap();
        assert_eq!(
            rest, "hello\n",
            "the accepted connection is the one with the secret"
        );
        worker.join().unwrap();
    }
}
