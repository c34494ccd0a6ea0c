//! Helpers shared by the integration tests that start real processes.

/// Whether a live process has `marker` in its command line (zombies have none).
#[allow(dead_code)] // not every test target that shares this module starts processes
pub fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(marker)
        })
    })
}

/// The test runner of `harness = false` targets: programs that must serve worker processes
/// before anything else, so libtest cannot own their `main`. It prints libtest's lines, so CI
/// reads the result the same way.
#[allow(dead_code)] // not every test target that shares this module runs its own harness
pub struct Harness {
    filter: Option<String>,
    passed: usize,
    failed: usize,
    filtered: usize,
}

#[allow(dead_code)]
impl Harness {
    /// A runner that runs only the tests whose name contains the first non-flag argument.
    pub fn from_args() -> Self {
        Self {
            filter: std::env::args().skip(1).find(|a| !a.starts_with('-')),
            passed: 0,
            failed: 0,
            filtered: 0,
        }
    }

    /// Whether `name` is selected by the filter.
    pub fn selects(&mut self, name: &str) -> bool {
        let selected = self
            .filter
            .as_ref()
            .is_none_or(|f| name.contains(f.as_str()));
        if !selected {
            self.filtered += 1;
        }
        selected
    }

    /// Runs `test` as `name` (if selected), catching its panic as a failure.
    pub fn run(&mut self, name: &str, test: impl FnOnce()) {
        if !self.selects(name) {
            return;
        }
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    /// Prints the closing line and exits: 0 when nothing failed.
    pub fn finish(self) -> ! {
        let verdict = if self.failed == 0 { "ok" } else { "FAILED" };
        println!(
            "\ntest result: {verdict}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out",
            self.passed, self.failed, self.filtered
        );
        std::process::exit(i32::from(self.failed > 0));
    }
}
