//! How often a waiter looks at the engine: a thread that runs job after job while it waits
//! (the inline executor) looks at what it waits for only when something it may wait for
//! changed, not after every job. Counted, not timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parade::engine::{Engine, Outcome, Progress, Runnable, Signal, TaskId, TaskSpec, TaskState};
use parade::exec::{Executor, Inline};

/// The inline executor, counting the waiter's looks at the engine.
#[derive(Default)]
struct CountingInline {
    inner: Inline,
    looks: AtomicUsize,
}

impl Executor for CountingInline {
    fn name(&self) -> &'static str {
        "counting-inline"
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    fn spawn(&self, jobs: Vec<Runnable>) {
        self.inner.spawn(jobs);
    }

    fn spawn_one(&self, job: Runnable) {
        self.inner.spawn_one(job);
    }

    fn block_until(&self, check: &mut dyn FnMut() -> Progress, signal: &Signal) -> Progress {
        let mut counted = || {
            self.looks.fetch_add(1, Ordering::Relaxed);
            check()
        };
        self.inner.block_until(&mut counted, signal)
    }
}

fn counting() -> (Arc<CountingInline>, Engine) {
    let exec = Arc::new(CountingInline::default());
    let engine = Engine::with_executor(exec.clone());
    (exec, engine)
}

fn ok() -> TaskSpec {
    TaskSpec::new(|_| Outcome::Succeeded)
}

#[test]
fn waiting_for_every_task_looks_at_the_start_and_the_end() {
    let (exec, engine) = counting();
    let ids: Vec<TaskId> = (0..1_000).map(|_| engine.add(ok()).unwrap()).collect();
    engine.want(ids.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    // One look before the first job, one after the last (the run is over): none per job.
    assert_eq!(exec.looks.load(Ordering::Relaxed), 2);
    assert!(
        ids.iter()
            .all(|&id| engine.state(id).unwrap() == TaskState::Succeeded)
    );
}

#[test]
fn waiting_for_one_task_looks_again_when_it_ends() {
    let (exec, engine) = counting();
    let mut last = engine.add(ok()).unwrap();
    for _ in 0..999 {
        last = engine.add(ok().dep(last)).unwrap();
    }
    let other = engine.add(ok()).unwrap();
    engine.want([last, other]).unwrap();
    let status = engine.wait([last]).unwrap();
    assert_eq!(status[0].state, TaskState::Succeeded);
    assert_eq!(exec.looks.load(Ordering::Relaxed), 2);
}

#[test]
fn a_waiter_still_sees_a_task_that_waits_inside_a_task() {
    let (exec, engine) = counting();
    let inner_engine = engine.clone();
    let leaf = engine.add(ok()).unwrap();
    let outer = engine
        .add(TaskSpec::new(move |_| {
            inner_engine.want([leaf]).unwrap();
            let s = inner_engine.wait([leaf]).unwrap();
            if s[0].state == TaskState::Succeeded {
                Outcome::Succeeded
            } else {
                Outcome::failed("leaf")
            }
        }))
        .unwrap();
    let rest: Vec<TaskId> = (0..100).map(|_| engine.add(ok()).unwrap()).collect();
    engine.want([outer]).unwrap();
    engine.want(rest.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    assert_eq!(engine.state(outer).unwrap(), TaskState::Succeeded);
    // The nested wait looks after each end while it waits; the outer one far less than
    // once per job.
    assert!(exec.looks.load(Ordering::Relaxed) < 100);
}
