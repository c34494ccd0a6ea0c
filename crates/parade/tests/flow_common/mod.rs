//! Helpers shared by the flow tests: a log of which procs ran (in memory, or in a file when
//! the procs run in worker processes), and the macros that run each case in several modes:
//!
//! - `both!(name, |flow| { ... })`: inline and on threads (libtest `#[test]`s), and in worker
//!   processes (`name::process`, run by the `flow_process` target, whose `main` serves workers);
//! - `local!(name, |flow| { ... })`: inline and on threads only, for cases whose procs share
//!   memory with the test;
//! - `suite! { ... }` wraps a file of cases and lists its `both!` cases in `PROCESS`.
//!
//! In process mode, a worker runs the same case again (the parent passes the case's name as
//! the worker's argument); the flow runs the requested proc when the case defines it.

#![allow(dead_code, unused_macros)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use parade::flow::ProcError;

/// Where the logs of the running process-mode case go, and how many it made so far.
static LOG_DIR: Mutex<Option<(PathBuf, usize)>> = Mutex::new(None);

pub mod project;

/// The directory of the running process-mode case (shared with its workers), if any.
pub fn case_dir() -> Option<PathBuf> {
    LOG_DIR.lock().unwrap().as_ref().map(|(d, _)| d.clone())
}

/// Makes the logs of the case about to run files in `dir` (`None`: in memory).
pub fn set_log_dir(dir: Option<PathBuf>) {
    *LOG_DIR.lock().unwrap() = dir.map(|d| (d, 0));
}

/// The names of procs that ran, in order: in memory, or appended to a file that worker
/// processes share with the test.
#[derive(Clone, Default)]
pub struct Log {
    mem: Arc<Mutex<Vec<String>>>,
    file: Option<PathBuf>,
}

impl Log {
    pub fn push(&self, name: impl Into<String>) {
        let name = name.into();
        match &self.file {
            Some(path) => {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                f.write_all(format!("{name}\n").as_bytes()).unwrap();
            }
            None => self.mem.lock().unwrap().push(name),
        }
    }

    pub fn names(&self) -> Vec<String> {
        match &self.file {
            Some(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
            None => self.mem.lock().unwrap().clone(),
        }
    }

    pub fn clear(&self) {
        match &self.file {
            Some(path) => {
                let _ = std::fs::remove_file(path);
            }
            None => self.mem.lock().unwrap().clear(),
        }
    }
}

pub fn log() -> Log {
    let mut dir = LOG_DIR.lock().unwrap();
    let file = dir.as_mut().map(|(d, n)| {
        *n += 1;
        d.join(format!("{n}.log"))
    });
    Log {
        mem: Arc::default(),
        file,
    }
}

pub fn names(log: &Log) -> Vec<String> {
    log.names()
}

/// A proc body that records its name and returns it.
pub fn rec(
    log: &Log,
) -> impl Fn(&parade::flow::Context<'_>) -> Result<String, ProcError> + Send + Sync + 'static {
    let log = log.clone();
    move |ctx| {
        log.push(ctx.name());
        Ok(ctx.name().to_owned())
    }
}

pub fn pos(log: &[String], name: &str) -> usize {
    log.iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} did not run: {log:?}"))
}

/// A case run inline and on threads (`local`), plus in worker processes.
macro_rules! both {
    ($name:ident, |$flow:ident| $body:block) => {
        local!($name, |$flow| $body);
    };
}

/// A case run inline and on threads.
macro_rules! local {
    ($name:ident, |$flow:ident| $body:block) => {
        pub mod $name {
            use super::*;
            #[allow(unused_imports)]
            use parade::flow::{Flow, FlowOptions, Mode};
            #[allow(dead_code)] // in `flow_process`, only `both!` cases run
            pub fn case($flow: Flow, inline: bool) {
                let _ = inline;
                $body
            }
            #[test]
            fn inline() {
                case(Flow::inline(), true);
            }
            #[test]
            fn threads() {
                case(
                    Flow::with_options(FlowOptions::new().mode(Mode::Threads).parallel(4)).unwrap(),
                    false,
                );
            }
        }
    };
}

/// A file of cases; `PROCESS` lists its `both!` cases, to run in worker processes too.
macro_rules! suite {
    (@go [$($done:ident)*]) => {
        /// The cases that also run in worker processes.
        #[allow(dead_code)]
        pub const PROCESS: &[(&str, fn(parade::flow::Flow, bool))] =
            &[$((stringify!($done), $done::case)),*];
    };
    (@go [$($done:ident)*] both!($name:ident, |$flow:ident| $body:block); $($rest:tt)*) => {
        both!($name, |$flow| $body);
        suite!(@go [$($done)* $name] $($rest)*);
    };
    (@go [$($done:ident)*] $item:item $($rest:tt)*) => {
        $item
        suite!(@go [$($done)*] $($rest)*);
    };
    ($($all:tt)*) => {
        suite!(@go [] $($all)*);
    };
}
