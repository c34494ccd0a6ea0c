//! Measurements and how they are printed: a readable table, or JSON lines with `--json`; and
//! how a case that compares implementations is timed ([`Report::rounds`]): in rounds that take
//! each implementation in turn, so that the load of a shared machine falls on all alike, the
//! best round recorded and the median printed beside it.

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
    /// With [`Report::rounds`] of more than one round: the median of the rounds' seconds
    /// (`secs` is the best).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_secs: Option<f64>,
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

    /// Times each of `impls` (a name, and what `run` takes to run it once) once a round for
    /// `rounds` rounds, in turn (a, b, a, b, ...) rather than one's runs after the other's, so
    /// that the load of a shared machine falls on all alike. `run` returns the time one run
    /// took (the caller may time less than the whole call, and keep more than the time in its
    /// implementation, such as peak memory). Records each one's best round, with the median of
    /// its rounds; returns the best times, in the order of `impls`.
    pub fn rounds<N: AsRef<str>, T>(
        &mut self,
        case: &str,
        n: u64,
        rounds: usize,
        impls: &mut [(N, T)],
        mut run: impl FnMut(&mut T) -> Duration,
    ) -> Vec<Duration> {
        let mut took: Vec<Vec<Duration>> = vec![Vec::new(); impls.len()];
        for _ in 0..rounds.max(1) {
            for ((_, one), times) in impls.iter_mut().zip(&mut took) {
                times.push(run(one));
            }
        }
        let mut best = Vec::with_capacity(impls.len());
        for ((name, _), mut times) in impls.iter().zip(took) {
            times.sort_unstable();
            let median = (times.len() > 1).then(|| median(&times));
            self.add(case, name.as_ref(), n, times[0], median);
            best.push(times[0]);
        }
        best
    }

    /// [`Report::rounds`] of closures, each round of one timed whole.
    pub fn interleaved<N: AsRef<str>, F: FnMut()>(
        &mut self,
        case: &str,
        n: u64,
        rounds: usize,
        impls: &mut [(N, F)],
    ) -> Vec<Duration> {
        self.rounds(case, n, rounds, impls, |f| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
    }

    /// Records a measurement taken elsewhere and prints it; returns the seconds.
    pub fn record(&mut self, case: &str, implementation: &str, n: u64, took: Duration) -> f64 {
        self.add(case, implementation, n, took, None)
    }

    /// Records and prints a measurement, with the median of its rounds when it had several.
    fn add(
        &mut self,
        case: &str,
        implementation: &str,
        n: u64,
        took: Duration,
        median: Option<Duration>,
    ) -> f64 {
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
            median_secs: median.map(|m| m.as_secs_f64()),
        };
        if self.json {
            println!(
                "{}",
                serde_json::to_string(&m).expect("a measurement serializes")
            );
        } else {
            let median = m
                .median_secs
                .map(|s| format!("  (median {s:.6})"))
                .unwrap_or_default();
            println!(
                "{:<28} {:<22} {:>10} {:>12.6} {:>16.0}{median}",
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

/// The median of `sorted` (not empty): its middle, or the mean of its two middles.
pub(crate) fn median(sorted: &[Duration]) -> Duration {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Report, median};

    #[test]
    fn rounds_take_each_implementation_in_turn_and_keep_best_and_median() {
        let mut report = Report::new("test", true);
        let mut order = Vec::new();
        let mut impls = [("a", (0, [5, 1, 3])), ("b", (0, [2, 9, 4]))];
        let best = report.rounds("case", 1, 3, &mut impls, |(round, times)| {
            order.push(times[0]);
            let took = Duration::from_millis(times[*round]);
            *round += 1;
            took
        });
        assert_eq!(
            order,
            [5, 2, 5, 2, 5, 2],
            "a, b, a, b...: one of each per round"
        );
        assert_eq!(best, [Duration::from_millis(1), Duration::from_millis(2)]);
        let row = |who: &str| {
            report
                .rows
                .iter()
                .find(|m| m.implementation == who)
                .unwrap()
        };
        assert_eq!(row("a").median_secs, Some(0.003));
        assert_eq!(row("b").median_secs, Some(0.004));
        assert_eq!(report.find("case", "b"), Some(0.002));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middles() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(1), ms(2), ms(4), ms(9)]), ms(3));
        assert_eq!(median(&[ms(7)]), ms(7));
    }
}
