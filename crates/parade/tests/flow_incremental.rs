//! parproc's incremental cases on flows with a run store (`FlowOptions::store`), inline and on
//! threads: no deps and no inputs never skip; unchanged inputs are up to date with the stored
//! result; a changed input reruns, a touched one does not; `no_skip`; `full`; missing outputs
//! and outputs older than `max_age` rerun; `outputs not refreshed`; ignores; a dependency that
//! ran makes its dependents run (`changed_deps`).

#[macro_use]
mod flow_common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use parade::engine::TaskState;
use parade::flow::{Define, Flow, FlowOptions, Output};

/// A project directory with a store, and runs of "the program" in the mode of `flow`.
struct Project {
    dir: tempfile::TempDir,
    mode: parade::flow::Mode,
    ran: Arc<AtomicUsize>,
}

impl Project {
    fn new(flow: &Flow) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.txt"), "a").unwrap();
        Project {
            dir,
            mode: flow.options().mode.unwrap(),
            ran: Arc::default(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn text(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// One run of a program defining procs with `define` (which gets a counting body), with
    /// `options` on top of the store: the final state of each of `names`, and how many bodies ran.
    fn run(
        &self,
        options: FlowOptions,
        names: &[&str],
        define: impl Fn(&Flow, &dyn Fn(&Flow, &str) -> Define<'static>),
    ) -> (Vec<TaskState>, usize) {
        let flow = Flow::with_options(
            FlowOptions::new()
                .mode(self.mode)
                .parallel(2)
                .store(self.path(".parade/state.db")),
        )
        .unwrap();
        flow.set_options(options).unwrap();
        let ran = self.ran.clone();
        ran.store(0, Ordering::SeqCst);
        let counting = move |f: &Flow, name: &str| -> Define<'static> {
            let ran = ran.clone();
            let out = name.to_owned();
            // The flow outlives the definition: leak-free because `Define` borrows the flow
            // only until `add`.
            let f: &'static Flow = Box::leak(Box::new(f.clone()));
            f.proc(name, move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(format!("result of {out}"))
            })
        };
        define(&flow, &counting);
        flow.run(names.last().unwrap()).unwrap();
        let _ = flow.wait_all();
        let states = names.iter().map(|n| flow.state(n).unwrap()).collect();
        (states, self.ran.load(Ordering::SeqCst))
    }
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// The cases, each inline and on threads.
mod cases {
    #![allow(clippy::wildcard_imports)]
    use super::*;
    use TaskState::{Failed, Succeeded, UpToDate};

    local!(no_deps_and_no_inputs_never_skip, |flow| {
        let p = Project::new(&flow);
        for _ in 0..2 {
            let (s, ran) = p.run(FlowOptions::new(), &["solo"], |f, proc| {
                proc(f, "solo").add().unwrap();
            });
            assert_eq!((s, ran), (vec![Succeeded], 1));
        }
    });

    local!(
        unchanged_inputs_are_up_to_date_with_the_stored_result,
        |flow| {
            let p = Project::new(&flow);
            let input = p.text("src/a.txt");
            let define = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
                proc(f, "read").inputs([input.as_str()]).add().unwrap();
            };
            assert_eq!(
                p.run(FlowOptions::new(), &["read"], define),
                (vec![Succeeded], 1)
            );
            assert_eq!(
                p.run(FlowOptions::new(), &["read"], define),
                (vec![UpToDate], 0)
            );
            // Touched, same content: still up to date (parproc would rerun on the mtime).
            set_mtime(
                &p.path("src/a.txt"),
                SystemTime::now() + Duration::from_secs(30),
            );
            assert_eq!(
                p.run(FlowOptions::new(), &["read"], define),
                (vec![UpToDate], 0)
            );
            // The stored result is the result.
            let flow2 = Flow::with_options(
                FlowOptions::new()
                    .mode(p.mode)
                    .store(p.path(".parade/state.db")),
            )
            .unwrap();
            flow2
                .proc("read", |_| Ok("never runs".to_owned()))
                .inputs([input.as_str()])
                .add()
                .unwrap();
            flow2.run("read").unwrap();
            flow2.wait_all().unwrap();
            assert_eq!(flow2.result::<String>("read").unwrap(), "result of read");
            std::fs::write(p.path("src/a.txt"), "changed").unwrap();
            assert_eq!(
                p.run(FlowOptions::new(), &["read"], define),
                (vec![Succeeded], 1)
            );
        }
    );

    local!(no_skip_and_full_always_run, |flow| {
        let p = Project::new(&flow);
        let input = p.text("src/a.txt");
        let plain = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
            proc(f, "read").inputs([input.as_str()]).add().unwrap();
        };
        p.run(FlowOptions::new(), &["read"], plain);
        assert_eq!(p.run(FlowOptions::new().full(true), &["read"], plain).1, 1);
        let no_skip = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
            proc(f, "read")
                .inputs([input.as_str()])
                .no_skip()
                .add()
                .unwrap();
        };
        assert_eq!(p.run(FlowOptions::new(), &["read"], no_skip).1, 1);
        assert_eq!(p.run(FlowOptions::new(), &["read"], plain).1, 0);
    });

    local!(
        missing_or_old_outputs_rerun_and_unmade_outputs_fail,
        |flow| {
            let p = Project::new(&flow);
            let input = p.text("src/a.txt");
            let out = p.path("out.txt");
            std::fs::write(&out, "made").unwrap();
            let define = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
                proc(f, "make")
                    .inputs([input.as_str()])
                    .outputs([Output::from(out.clone()).max_age(Duration::from_secs(3600))])
                    .add()
                    .unwrap();
            };
            assert_eq!(
                p.run(FlowOptions::new(), &["make"], define),
                (vec![Succeeded], 1)
            );
            assert_eq!(
                p.run(FlowOptions::new(), &["make"], define),
                (vec![UpToDate], 0)
            );
            // Older than max_age: stale. The body does not refresh it, so it fails after running.
            set_mtime(&out, SystemTime::now() - Duration::from_secs(7200));
            assert_eq!(
                p.run(FlowOptions::new(), &["make"], define),
                (vec![Failed], 1)
            );
            std::fs::remove_file(&out).unwrap();
            let flow2 = Flow::with_options(
                FlowOptions::new()
                    .mode(p.mode)
                    .store(p.path(".parade/state.db")),
            )
            .unwrap();
            flow2
                .proc("make", |_| Ok(()))
                .inputs([input.as_str()])
                .outputs([out.clone()])
                .add()
                .unwrap();
            flow2.run("make").unwrap();
            let _ = flow2.wait_all();
            let failure = flow2.failures().remove(0);
            assert!(
                failure.to_string().contains("outputs not refreshed"),
                "{failure}"
            );
        }
    );

    local!(ignored_inputs_do_not_make_a_proc_stale, |flow| {
        let p = Project::new(&flow);
        std::fs::write(p.path("src/scratch.tmp"), "1").unwrap();
        let glob = format!("{}/src/*", p.dir.path().display());
        let ignore = format!("{}/src/*.tmp", p.dir.path().display());
        let define = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
            proc(f, "read")
                .inputs([glob.as_str()])
                .inputs_ignore([ignore.as_str()])
                .add()
                .unwrap();
        };
        p.run(FlowOptions::new(), &["read"], define);
        std::fs::write(p.path("src/scratch.tmp"), "2").unwrap();
        assert_eq!(p.run(FlowOptions::new(), &["read"], define).1, 0);
        std::fs::write(p.path("src/b.txt"), "new").unwrap();
        assert_eq!(p.run(FlowOptions::new(), &["read"], define).1, 1);
    });

    local!(a_dependency_that_ran_makes_its_dependents_run, |flow| {
        let p = Project::new(&flow);
        let input = p.text("src/a.txt");
        let define = |f: &Flow, proc: &dyn Fn(&Flow, &str) -> Define<'static>| {
            proc(f, "gen").inputs([input.as_str()]).add().unwrap();
            proc(f, "use").deps(["gen"]).add().unwrap();
        };
        let names = ["gen", "use"];
        assert_eq!(p.run(FlowOptions::new(), &names, define).1, 2);
        // Deps only, all up to date: the dependent is up to date too.
        assert_eq!(
            p.run(FlowOptions::new(), &names, define),
            (vec![UpToDate, UpToDate], 0)
        );
        std::fs::write(p.path("src/a.txt"), "changed").unwrap();
        assert_eq!(
            p.run(FlowOptions::new(), &names, define),
            (vec![Succeeded, Succeeded], 2)
        );
    });
}
