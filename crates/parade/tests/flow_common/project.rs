//! A project for the incremental and watch cases: a directory with a run store, and runs of
//! "the program" (a definition of procs) on fresh flows like the case's, in its mode. In
//! process mode the directory is the case's (shared with its workers), and a worker, which
//! runs the case again, only defines: it writes no file, runs nothing and asserts nothing.

use std::path::PathBuf;

use parade::engine::TaskState;
use parade::exec::process::WORKER_SOCKET_ENV;
use parade::flow::{Context, Flow, FlowOptions, Mode, ProcError};

use super::Log;

/// A project directory, the case's flow as the template of each run's, and the log of the
/// bodies that ran.
pub struct Project {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    template: Flow,
    worker: bool,
    ran: Log,
}

/// What one run did: the final state of each name asked about, the procs whose bodies ran,
/// and the run's flow (none in a worker).
pub struct Step {
    pub states: Vec<TaskState>,
    pub ran: Vec<String>,
    pub flow: Option<Flow>,
    worker: bool,
}

impl Step {
    /// Asserts the states and how many bodies ran (in a worker: nothing to assert).
    #[track_caller]
    pub fn is(&self, states: &[TaskState], ran: usize) -> &Self {
        if !self.worker {
            assert_eq!(
                (self.states.as_slice(), self.ran.len()),
                (states, ran),
                "ran: {:?}",
                self.ran
            );
        }
        self
    }

    /// The run's flow (panics in a worker; check [`Project::in_worker`] first).
    pub fn flow(&self) -> &Flow {
        self.flow.as_ref().expect("a worker runs nothing")
    }
}

impl Project {
    /// A project with `src/a.txt` (`a`), for the case whose flow is `flow`.
    pub fn new(flow: &Flow) -> Self {
        let worker = std::env::var_os(WORKER_SOCKET_ENV).is_some();
        let (dir, tmp) = if let Some(d) = super::case_dir() {
            (d.join("project"), None)
        } else {
            let t = tempfile::tempdir().unwrap();
            (t.path().to_path_buf(), Some(t))
        };
        let p = Project {
            dir,
            _tmp: tmp,
            template: flow.clone(),
            worker,
            ran: super::log(),
        };
        if !worker {
            std::fs::create_dir_all(p.path("src")).unwrap();
            p.write("src/a.txt", "a");
        }
        p
    }

    /// Whether this is a worker running the case again.
    pub fn in_worker(&self) -> bool {
        self.worker
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The path as text, for `inputs`.
    pub fn text(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// Writes a file of the project (not in a worker).
    pub fn write(&self, rel: &str, text: &str) {
        if !self.worker {
            std::fs::write(self.path(rel), text).unwrap();
        }
    }

    /// A new flow like the case's, with the project's store and `options` on top.
    pub fn flow(&self, options: FlowOptions) -> Flow {
        let base = FlowOptions::new()
            .parallel(2)
            .store(self.path(".parade/state.db"));
        let flow = match self.template.options().mode {
            Some(Mode::Custom) => {
                Flow::with_executor(self.template.engine().executor().clone(), base)
            }
            mode => Flow::with_options(base.mode(mode.unwrap_or_default())),
        }
        .unwrap();
        flow.set_options(options).unwrap();
        flow
    }

    /// A body that logs its proc's name and returns `result of <name>`.
    pub fn body(
        &self,
    ) -> impl Fn(&Context<'_>) -> Result<String, ProcError> + Send + Sync + 'static {
        let log = self.ran.clone();
        move |ctx| {
            log.push(ctx.name());
            Ok(format!("result of {}", ctx.name()))
        }
    }

    /// One run of the program `define` on a new flow (see [`Project::flow`]) wanting the last
    /// of `names`: the final state of each of `names` and the bodies that ran.
    pub fn run(&self, options: FlowOptions, names: &[&str], define: impl Fn(&Flow)) -> Step {
        let flow = self.flow(options);
        define(&flow);
        if self.worker {
            return Step {
                states: Vec::new(),
                ran: Vec::new(),
                flow: None,
                worker: true,
            };
        }
        self.ran.clear();
        flow.run(names.last().unwrap()).unwrap();
        let _ = flow.wait_all();
        Step {
            states: names.iter().map(|n| flow.state(n).unwrap()).collect(),
            ran: self.ran.names(),
            flow: Some(flow),
            worker: false,
        }
    }
}
