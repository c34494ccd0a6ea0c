//! `parade-bench flow`: named task flows. 10,000 trivial procs made from a proto, as a chain,
//! a fan-out and a diamond lattice, timed from creation to the end of the run, in thread and
//! inline mode. parproc, the Python library the flow face follows, runs about 1,000 procs/s in
//! its single mode and about 150 procs/s in its process mode on the same shapes (2 cores).

use parade::flow::{Dep, Flow, FlowOptions, Mode};

use crate::report::Report;

fn flow(mode: Mode) -> Flow {
    let options = FlowOptions::new().mode(mode);
    // Worker processes mostly wait for their start: more of them than cores keeps both busy.
    let options = if mode == Mode::Process {
        options.parallel(8)
    } else {
        options
    };
    Flow::with_options(options).expect("valid options")
}

/// `step::n` depends on `step::n-1`; running the last one runs the whole chain.
fn chain(mode: Mode, n: usize) {
    let f = flow(mode);
    f.proto("step::[n]", |ctx| Ok(ctx.arg::<u64>("n")?))
        .dep(Dep::closure(|l| {
            let n: u64 = l.arg("n").and_then(|v| v.parse().ok()).unwrap_or(0);
            if n == 0 {
                Vec::new()
            } else {
                vec![format!("step::{}", n - 1)]
            }
        }))
        .add()
        .expect("proto");
    f.run(&format!("step::{}", n - 1)).expect("run");
    f.wait_all().expect("chain ran");
    assert_eq!(f.results().len(), n);
}

/// One root and `n - 1` leaves that depend on it, every leaf started.
pub(crate) fn fanout(mode: Mode, n: usize) {
    let f = flow(mode);
    f.proc("root", |_| Ok(1)).add().expect("root");
    f.proto("leaf::[n]", |_| Ok(1))
        .deps(["root"])
        .add()
        .expect("proto");
    let mut leaves = Vec::with_capacity(n - 1);
    for i in 1..n {
        leaves.extend(f.create(&format!("leaf::{i}")).expect("leaf"));
    }
    f.start(&leaves).expect("start");
    f.wait_all().expect("fan-out ran");
    assert_eq!(f.results().len(), n);
}

/// A root, `n - 2` middles that depend on it, and a sink that depends on every middle.
fn diamond(mode: Mode, n: usize) {
    let f = flow(mode);
    f.proc("root", |_| Ok(1)).add().expect("root");
    f.proto("mid::[n]", |_| Ok(1))
        .deps(["root"])
        .add()
        .expect("proto");
    let mids = n - 2;
    f.proc("sink", |_| Ok(1))
        .dep(Dep::closure(move |_| {
            (0..mids).map(|i| format!("mid::{i}")).collect()
        }))
        .add()
        .expect("sink");
    f.run("sink").expect("run");
    f.wait_all().expect("diamond ran");
    assert_eq!(f.results().len(), n);
}

/// One graph shape: builds and runs `n` procs in a mode.
type Shape = fn(Mode, usize);

/// Runs the `flow` benchmarks.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 2_000 } else { 10_000 };
    let runs = if quick { 1 } else { 3 };
    let cases: [(&str, Shape); 3] = [("chain", chain), ("fanout", fanout), ("diamond", diamond)];
    for (case, f) in cases {
        out.measure(case, "parade threads", n as u64, runs, || {
            f(Mode::Threads, n);
        });
        out.measure(case, "parade inline", n as u64, runs, || {
            f(Mode::Inline, n);
        });
    }
}
