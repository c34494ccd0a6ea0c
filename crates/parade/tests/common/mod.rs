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

/// A test of [`Harness::run_all`]: it is given a work directory of its own.
#[allow(dead_code)] // not every test target that shares this module runs its own harness
pub type WorkTest = fn(&std::path::Path);

/// The tests of a [`Harness::run_all`], each named by its function:
/// `work_tests![a, b]` is `&[("a", a), ("b", b)]`.
#[allow(unused_macros)] // not every test target that shares this module runs its own harness
macro_rules! work_tests {
    ($($test:ident),* $(,)?) => {
        &[$((stringify!($test), $test as $crate::common::WorkTest)),*]
    };
}
#[allow(unused_imports)]
pub(crate) use work_tests;

/// In a worker process of a Slurm test (its socket in
/// [`WORKER_SOCKET_ENV`](parade::exec::process::WORKER_SOCKET_ENV)): when asked for
/// `flow <log dir>`, defines the test's procs with `define` on an inline flow logging there, so
/// the worker serves the proc it was started for; true, as the program has nothing else to do.
/// False in the test itself.
#[allow(dead_code)] // used by the suites whose flows run in Slurm workers
pub fn served_as_worker(args: &[String], define: fn(&parade::flow::Flow)) -> bool {
    if std::env::var_os(parade::exec::process::WORKER_SOCKET_ENV).is_none() {
        return false;
    }
    if args.first().map(String::as_str) == Some("flow") && args.len() > 1 {
        let options = parade::flow::FlowOptions::new().log_dir(&args[1]);
        let inline = std::sync::Arc::new(parade::exec::Inline::new());
        define(&parade::flow::Flow::with_executor(inline, options).unwrap());
    }
    true
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

    /// Runs each of `tests` (name, body) that the filter selects, each in a new temporary
    /// work directory, then [`finish`](Self::finish)es.
    pub fn run_all(mut self, tests: &[(&str, WorkTest)]) -> ! {
        for (name, test) in tests {
            let work = tempfile::tempdir().unwrap();
            self.run(name, || test(work.path()));
        }
        self.finish()
    }

    /// Says that the `count` tests of `what` are not run, and `why`, in libtest's lines (the
    /// binary passes with every test ignored).
    pub fn not_run(what: &str, why: &str, count: usize) {
        println!("{what} NOT run: {why}");
        println!(
            "\ntest result: ok. 0 passed; 0 failed; {count} ignored; 0 measured; 0 filtered out"
        );
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

/// A Slurm run id no earlier test run used: `kind`, `test`, this process and the clock.
#[allow(dead_code)] // used by the suites that submit to a real cluster
pub fn unique_run_id(kind: &str, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{kind}-{test}-{}-{nanos}", std::process::id())
}
