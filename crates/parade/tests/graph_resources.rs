//! Counted resources in the graph face: `Graph::resource` sets a capacity, `TaskBuilder::uses`
//! takes part of it while a task runs, and the engine never lets the tasks running at one time
//! hold more than the capacity. Holders are counted, not timed: each task waits (a bounded
//! while) for more holders to arrive than the capacity allows, so a graph that let them in
//! would be caught.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use parade::exec::ThreadPool;
use parade::graph::Graph;

/// How much of a resource the running tasks hold, and the most they ever held at once.
#[derive(Default)]
struct Holders {
    held: Mutex<u32>,
    changed: Condvar,
    most: AtomicU32,
}

impl Holders {
    /// Holds `amount` while waiting (at most `patience`) for the total held to have exceeded
    /// `capacity`, which a correct engine never allows; then lets go.
    fn hold(&self, amount: u32, capacity: u32, patience: Duration) {
        let mut held = self.held.lock().unwrap();
        *held += amount;
        self.most.fetch_max(*held, Ordering::SeqCst);
        self.changed.notify_all();
        let until = Instant::now() + patience;
        while self.most.load(Ordering::SeqCst) <= capacity {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            held = self.changed.wait_timeout(held, left).unwrap().0;
        }
        *held -= amount;
        self.changed.notify_all();
    }
}

fn pool(threads: usize) -> Graph {
    Graph::with_executor(Arc::new(ThreadPool::new(threads)))
}

/// Runs `amounts.len()` tasks on 6 threads, each using its amount of a resource of
/// `capacity`; returns the most the running tasks ever held at once.
fn most_held(capacity: u32, amounts: &[u32], patience: Duration) -> u32 {
    let g = pool(6);
    g.resource("gpu", capacity);
    let holders = Arc::new(Holders::default());
    let tasks: Vec<_> = amounts
        .iter()
        .enumerate()
        .map(|(i, &amount)| {
            let holders = holders.clone();
            g.task(format!("train {i}"))
                .uses("gpu", amount)
                .submit(move || holders.hold(amount, capacity, patience))
        })
        .collect();
    for t in &tasks {
        t.value().unwrap();
    }
    holders.most.load(Ordering::SeqCst)
}

#[test]
fn tasks_never_hold_more_than_the_capacity() {
    let most = most_held(2, &[1; 10], Duration::from_millis(100));
    assert!((1..=2).contains(&most), "{most} gpus held at once");
}

#[test]
fn amounts_add_up_within_the_capacity() {
    let amounts: Vec<u32> = (0..12).map(|i| 1 + i % 3).collect();
    let most = most_held(3, &amounts, Duration::from_millis(60));
    assert!((1..=3).contains(&most), "{most} held at once, capacity 3");
}

#[test]
fn tasks_without_uses_are_not_held_back() {
    let g = pool(3);
    g.resource("gpu", 1);
    let holders = Arc::new(Holders::default());
    // Three free tasks each wait for a third to arrive: only possible if none is held back
    // by the resource the fourth task holds.
    let gpu = g.task("gpu").uses("gpu", 1).submit(|| ());
    let free: Vec<_> = (0..3)
        .map(|_| {
            let holders = holders.clone();
            g.submit(move || holders.hold(1, 2, Duration::from_secs(30)))
        })
        .collect();
    for t in &free {
        t.value().unwrap();
    }
    gpu.value().unwrap();
    assert_eq!(holders.most.load(Ordering::SeqCst), 3);
}

#[test]
fn a_use_that_could_never_fit_fails_the_task_and_says_why() {
    let g = pool(2);
    g.resource("gpu", 2);
    let greedy = g.task("greedy").uses("gpu", 3).submit(|| ());
    let err = greedy.value().unwrap_err().to_string();
    assert!(
        err.contains("uses 3 of resource \"gpu\", whose capacity is 2"),
        "{err}"
    );
    let unknown = g.task("tpu").uses("tpu", 1).submit(|| ());
    let err = unknown.value().unwrap_err().to_string();
    assert!(err.contains("Graph::resource(\"tpu\", N)"), "{err}");
    // The graph goes on: a task that fits runs.
    assert_eq!(
        g.task("fits").uses("gpu", 2).submit(|| 7).value().unwrap(),
        7
    );
}

#[test]
fn the_dry_run_shows_what_a_task_uses() {
    let g = Graph::dry_run();
    g.resource("gpu", 2);
    g.task("train").cores(2).uses("gpu", 1).mock(0).submit(|| 1);
    assert_eq!(
        g.plan().tasks[0].resources.to_string(),
        "cores=2, uses gpu=1"
    );
}
