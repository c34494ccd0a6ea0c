//! [`Shared`]: what the Slurm executor's handle, its polling thread and the threads serving
//! worker tasks share: the configuration, the work directory, the client and the run's secret.

use std::path::PathBuf;
use std::sync::Arc;

use super::SlurmConfig;
use super::client::Client;

/// The state shared by a [`SlurmExecutor`](super::SlurmExecutor)'s parts.
pub(crate) struct Shared {
    pub(crate) cfg: SlurmConfig,
    pub(crate) work_dir: PathBuf,
    pub(crate) client: Client,
    /// The run's secret for workers over TCP, made when the first one starts.
    pub(crate) secret: std::sync::Mutex<Option<Arc<crate::exec::process::Secret>>>,
}

impl Shared {
    /// The address the parent listens on for workers and pilots over TCP:
    /// [`SlurmConfig::worker_listen`], else, with pilots, the loopback address; `None`: Unix
    /// sockets.
    pub(crate) fn tcp_ip(&self) -> Option<std::net::IpAddr> {
        self.cfg.worker_listen.or_else(|| {
            self.cfg
                .pilots
                .as_ref()
                .map(|_| std::net::IpAddr::from([127, 0, 0, 1]))
        })
    }

    /// [`tcp_ip`](Self::tcp_ip), the loopback address without one.
    pub(crate) fn listen_ip(&self) -> std::net::IpAddr {
        self.tcp_ip()
            .unwrap_or_else(|| std::net::IpAddr::from([127, 0, 0, 1]))
    }

    /// The run's secret for workers over TCP (made on first use, in the work directory).
    pub(crate) fn secret(&self) -> Result<Arc<crate::exec::process::Secret>, String> {
        let mut guard = self
            .secret
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let made = crate::exec::process::Secret::create(&self.work_dir).map_err(|e| {
            format!(
                "cannot write the worker secret in {}: {e}",
                self.work_dir.display()
            )
        })?;
        let made = Arc::new(made);
        *guard = Some(made.clone());
        Ok(made)
    }
}
