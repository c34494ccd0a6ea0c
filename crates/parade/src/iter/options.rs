//! Options of a pipeline: how many workers, how many items may be in flight, how many items a
//! worker takes per hand-off, whether output keeps input order, and an optional limit.
//!
//! This file owns the defaults and the clamping rules; it knows nothing about threads.

/// Default bound on items pulled from the source and not yet released by the consumer.
pub const DEFAULT_IN_FLIGHT: usize = 1 << 16;

/// The options a [`Pipeline`](super::Pipeline) carries until it is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// Worker threads; `0` means the available parallelism.
    pub workers: usize,
    /// Most source items pulled and not yet released by the consumer.
    pub in_flight: usize,
    /// Fixed items per hand-off, or `None` for adaptive batching.
    pub batch: Option<usize>,
    /// Whether output keeps input order.
    pub ordered: bool,
    /// Most items the consumer takes, if set.
    pub limit: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: 0,
            in_flight: DEFAULT_IN_FLIGHT,
            batch: None,
            ordered: true,
            limit: None,
        }
    }
}

/// Options resolved for one run: every number is usable as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub workers: usize,
    pub in_flight: usize,
    pub batch: Option<usize>,
    pub ordered: bool,
}

impl Options {
    /// Resolves defaults and clamps every number to a value that cannot deadlock.
    pub fn settle(self) -> Settings {
        let workers = if self.workers == 0 {
            crate::cores::available()
        } else {
            self.workers
        };
        let in_flight = self.in_flight.max(1);
        let batch = self.batch.map(|b| b.clamp(1, in_flight));
        Settings {
            workers,
            in_flight,
            batch,
            ordered: self.ordered,
        }
    }
}

impl Settings {
    /// Largest adaptive batch. Batches whose items wait for the consumer get a share of the
    /// window small enough that every worker can hold one while another waits; batches folded
    /// on the worker (`folds`) give their slots back when finished, so a worker's share is
    /// enough.
    pub fn max_batch(&self, folds: bool) -> usize {
        let shares = if folds {
            self.workers
        } else {
            2 * self.workers
        };
        (self.in_flight / shares).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_clamps_batch_to_window_and_resolves_workers() {
        let s = Options {
            workers: 0,
            in_flight: 0,
            batch: Some(10),
            ..Options::default()
        }
        .settle();
        assert!(s.workers >= 1);
        assert_eq!(s.in_flight, 1);
        assert_eq!(s.batch, Some(1));
        assert_eq!(s.max_batch(false), 1);
    }

    #[test]
    fn adaptive_batches_leave_room_for_every_worker() {
        let s = Options {
            workers: 4,
            in_flight: 800,
            ..Options::default()
        }
        .settle();
        assert_eq!(s.max_batch(false), 100);
        assert_eq!(s.max_batch(true), 200);
        assert!(s.ordered);
    }
}
