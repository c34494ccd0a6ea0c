//! Measurements and how they are printed: a readable table, or JSON lines with `--json`.

use std::time::{Duration, Instant};

use serde::Serialize;

/// One measurement: how long `n` items of one case took with one implementation.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// The subcommand, e.g. `engine`.
    pub bench: String,
    /// The case within it, e.g. `chain`.
    pub case: String,
    /// Who did the work: `parade` or a peer such as `rayon`.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// How many items (tasks, calls, elements) were processed.
    pub n: u64,
    /// Wall-clock seconds for all `n`.
    pub secs: f64,
    /// Items per second.
    pub per_sec: f64,
}

/// Collects measurements and prints them as they come.
pub struct Report {
    bench: String,
    json: bool,
    rows: Vec<Measurement>,
}

impl Report {
    /// A report that prints JSON lines when `json` is set, else a table.
    pub fn new(bench: &str, json: bool) -> Self {
        Self {
            bench: bench.to_owned(),
            json,
            rows: Vec::new(),
        }
    }

    /// The same report, for the subcommand `bench`.
    pub fn named(&mut self, bench: &str) -> &mut Self {
        bench.clone_into(&mut self.bench);
        if !self.json {
            println!(
                "{:<28} {:<22} {:>10} {:>12} {:>16}",
                format!("[{bench}] case"),
                "impl",
                "n",
                "secs",
                "per sec"
            );
        }
        self
    }

    /// Times `f`, which processes `n` items, keeping the best of `runs` tries, and records it.
    pub fn measure(
        &mut self,
        case: &str,
        implementation: &str,
        n: u64,
        runs: usize,
        mut f: impl FnMut(),
    ) -> f64 {
        let mut best = Duration::MAX;
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            f();
            best = best.min(start.elapsed());
        }
        self.record(case, implementation, n, best)
    }

    /// Records a measurement taken elsewhere and prints it; returns the seconds.
    pub fn record(&mut self, case: &str, implementation: &str, n: u64, took: Duration) -> f64 {
        let secs = took.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let per_sec = if secs > 0.0 {
            n as f64 / secs
        } else {
            f64::INFINITY
        };
        let m = Measurement {
            bench: self.bench.clone(),
            case: case.to_owned(),
            implementation: implementation.to_owned(),
            n,
            secs,
            per_sec,
        };
        if self.json {
            println!(
                "{}",
                serde_json::to_string(&m).expect("a measurement serializes")
            );
        } else {
            println!(
                "{:<28} {:<22} {:>10} {:>12.6} {:>16.0}",
                m.case, m.implementation, m.n, m.secs, m.per_sec
            );
        }
        self.rows.push(m);
        secs
    }

    /// The seconds recorded for `implementation` in `case`, if measured.
    pub fn find(&self, case: &str, implementation: &str) -> Option<f64> {
        self.rows
            .iter()
            .rev()
            .find(|m| m.case == case && m.implementation == implementation)
            .map(|m| m.secs)
    }

    /// Prints a remark under the table (not in JSON output).
    pub fn note(&self, text: &str) {
        if !self.json {
            println!("  {text}");
        }
    }

    /// Prints how many times faster `a` was than `b` in `case` (a ratio above 1 means `a` won).
    #[allow(dead_code)] // used by the subcommands that land with the other faces
    pub fn ratio(&self, case: &str, a: &str, b: &str) -> Option<f64> {
        let find = |who: &str| {
            self.rows
                .iter()
                .rev()
                .find(|m| m.case == case && m.implementation == who)
                .map(|m| m.secs)
        };
        let ratio = find(b)? / find(a)?;
        if !self.json {
            println!("{case:<28} {a} is {ratio:.2}x the speed of {b}");
        }
        Some(ratio)
    }
}
