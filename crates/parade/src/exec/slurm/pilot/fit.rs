//! [`Fit`]: the resources a task needs or a pilot has free — CPUs, memory (MiB) and counted
//! resources (`--gres=name:count`, and the counted resources a task `uses` and a pilot offers,
//! [`Fit::with_uses`]) — read from [`ResourceHints`], and whether one fits in the other.

use std::collections::BTreeMap;

use crate::exec::ResourceHints;

/// An amount of resources. `mem: None` on a pilot means memory is not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fit {
    pub cpus: u64,
    pub mem: Option<u64>,
    pub counted: BTreeMap<String, u64>,
}

impl Fit {
    /// What a task with `hints` needs: its CPUs (one by default), its memory, its `--gres`.
    pub(crate) fn need(hints: &ResourceHints) -> Self {
        Self {
            cpus: u64::from(hints.cpus.unwrap_or(1).max(1)),
            mem: hints.mem.as_deref().and_then(mebibytes),
            counted: gres(&hints.extra),
        }
    }

    /// This amount with the counted resources `uses` (a task's `uses`, what a pilot offers):
    /// a name also given as `--gres` counts once, the larger of the two (both name the same
    /// devices).
    pub(crate) fn with_uses<'a>(mut self, uses: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        for (name, n) in uses {
            let have = self.counted.entry(name.to_owned()).or_insert(0);
            *have = (*have).max(u64::from(n));
        }
        self
    }

    /// Whether `need` fits in this amount.
    pub(crate) fn holds(&self, need: &Self) -> bool {
        self.cpus >= need.cpus
            && match (self.mem, need.mem) {
                (Some(have), Some(want)) => have >= want,
                _ => true,
            }
            && need
                .counted
                .iter()
                .all(|(k, n)| self.counted.get(k).copied().unwrap_or(0) >= *n)
    }

    /// Takes `need` out of this amount (which [`holds`](Self::holds) it).
    pub(crate) fn take(&mut self, need: &Self) {
        self.cpus -= need.cpus.min(self.cpus);
        if let (Some(have), Some(want)) = (&mut self.mem, need.mem) {
            *have -= want.min(*have);
        }
        for (k, n) in &need.counted {
            if let Some(have) = self.counted.get_mut(k) {
                *have -= (*n).min(*have);
            }
        }
    }

    /// Gives `need` back.
    pub(crate) fn give(&mut self, need: &Self) {
        self.cpus += need.cpus;
        if let (Some(have), Some(want)) = (&mut self.mem, need.mem) {
            *have += want;
        }
        for (k, n) in &need.counted {
            if let Some(have) = self.counted.get_mut(k) {
                *have += n;
            }
        }
    }

    /// Says what it is, for messages: `2 CPUs, 512 MiB, gpu:1`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec![format!(
            "{} CPU{}",
            self.cpus,
            if self.cpus == 1 { "" } else { "s" }
        )];
        if let Some(m) = self.mem {
            parts.push(format!("{m} MiB"));
        }
        parts.extend(self.counted.iter().map(|(k, n)| format!("{k}:{n}")));
        parts.join(", ")
    }
}

/// A Slurm memory amount (`500M`, `8G`, `1T`, `2048` = MiB) in MiB.
pub(crate) fn mebibytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    match unit.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" => Some(n),
        "K" | "KB" => Some(n.div_ceil(1024)),
        "G" | "GB" => Some(n * 1024),
        "T" | "TB" => Some(n * 1024 * 1024),
        _ => None,
    }
}

/// The counted resources of `--gres=name[:type]:count,...` arguments (count 1 when left out).
fn gres(extra: &[String]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for arg in extra {
        let Some(list) = arg.strip_prefix("--gres=") else {
            continue;
        };
        for item in list.split(',') {
            let mut parts: Vec<&str> = item.split(':').collect();
            let count = match parts.last().and_then(|p| p.parse::<u64>().ok()) {
                Some(n) if parts.len() > 1 => {
                    parts.pop();
                    n
                }
                _ => 1,
            };
            *out.entry(parts.join(":")).or_insert(0) += count;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(cpus: Option<u32>, mem: Option<&str>, extra: &[&str]) -> ResourceHints {
        ResourceHints {
            cpus,
            mem: mem.map(str::to_owned),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            ..ResourceHints::default()
        }
    }

    #[test]
    fn memory_units_are_read_as_slurm_does() {
        assert_eq!(mebibytes("500M"), Some(500));
        assert_eq!(mebibytes("2048"), Some(2048));
        assert_eq!(mebibytes("8G"), Some(8192));
        assert_eq!(mebibytes("1t"), Some(1 << 20));
        assert_eq!(mebibytes("lots"), None);
    }

    #[test]
    fn a_task_fits_what_is_free_and_gives_it_back() {
        let mut pilot = Fit::need(&hints(Some(4), Some("4G"), &["--gres=gpu:2"]));
        let task = Fit::need(&hints(Some(3), Some("1G"), &["--gres=gpu:1"]));
        assert!(pilot.holds(&task));
        pilot.take(&task);
        assert_eq!(pilot.describe(), "1 CPU, 3072 MiB, gpu:1");
        assert!(!pilot.holds(&task), "one CPU left, three asked for");
        assert!(pilot.holds(&Fit::need(&hints(None, None, &["--gres=gpu"]))));
        pilot.give(&task);
        assert_eq!(pilot.describe(), "4 CPUs, 4096 MiB, gpu:2");
    }

    #[test]
    fn counted_uses_are_packed_within_what_a_pilot_offers() {
        let offer = Fit::need(&hints(Some(8), None, &["--gres=gpu:2"]))
            .with_uses([("gpu", 1), ("licence", 3)]);
        assert_eq!(
            offer.describe(),
            "8 CPUs, gpu:2, licence:3",
            "gres and uses count once"
        );
        let mut free = offer.clone();
        let task = Fit::need(&hints(None, None, &[])).with_uses([("licence", 2)]);
        assert!(free.holds(&task));
        free.take(&task);
        assert!(!free.holds(&task), "one licence left, two asked for");
        let gpu = Fit::need(&hints(None, None, &[])).with_uses([("gpu", 1)]);
        free.take(&gpu);
        free.take(&gpu);
        assert!(!free.holds(&gpu), "both GPUs taken");
        assert_eq!(free.describe(), "5 CPUs, gpu:0, licence:1");
        free.give(&gpu);
        assert!(free.holds(&gpu));
        // More than a whole pilot offers, or a resource it does not offer, never fits.
        assert!(!offer.holds(&Fit::need(&hints(None, None, &[])).with_uses([("gpu", 3)])));
        assert!(!offer.holds(&Fit::need(&hints(None, None, &[])).with_uses([("tape", 1)])));
    }

    #[test]
    fn memory_and_counted_resources_a_pilot_lacks_do_not_fit() {
        let pilot = Fit::need(&hints(Some(8), None, &[]));
        assert!(pilot.holds(&Fit::need(&hints(Some(2), Some("64G"), &[]))));
        assert!(!pilot.holds(&Fit::need(&hints(None, None, &["--gres=gpu:1"]))));
        let small = Fit::need(&hints(Some(8), Some("1G"), &[]));
        assert!(!small.holds(&Fit::need(&hints(None, Some("2G"), &[]))));
    }
}
