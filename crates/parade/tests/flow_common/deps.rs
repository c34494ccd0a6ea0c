//! The `flow` face: dependencies, failures, missing names, cycles, long chains.
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`); `local!` cases share memory with their procs and run inline and on threads only.

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError, Rdep};
use std::sync::{Arc, Mutex};
use std::time::Duration;

suite! {
both!(deps_run_first_and_results_are_stored, |flow| {
    let l = log();
    flow.proc("a", rec(&l)).add().unwrap();
    flow.proc("b", rec(&l)).deps(["a"]).add().unwrap();
    flow.proc("c", rec(&l)).deps(["a", "b"]).add().unwrap();
    flow.proc("unused", rec(&l)).add().unwrap();
    flow.start(["c"]).unwrap();
    flow.start(["c"]).unwrap(); // starting twice runs once
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["a", "b", "c"]);
    assert_eq!(flow.result::<String>("c").unwrap(), "c");
    assert_eq!(flow.state("unused").unwrap(), TaskState::Idle);
    let results = flow.results();
    assert_eq!(results.len(), 3);
    assert_eq!(results["a"], serde_json::json!("a"));
});

both!(dependency_kinds, |flow| {
    let l = log();
    flow.proc("setup", rec(&l)).add().unwrap();
    flow.proto("lint::[what]", rec(&l)).add().unwrap();
    flow.proto("provision::[env]", rec(&l)).add().unwrap();
    flow.proto("build::[env]", rec(&l))
        .choices("env", ["dev", "prod"])
        .add()
        .unwrap();
    flow.proto("deploy::[env]", rec(&l))
        .deps([
            Dep::name("setup"),
            Dep::pattern("build::[env]"),
            Dep::name("lint::all"),
            Dep::closure(|l| vec![format!("provision::{}", l.arg("env").unwrap())]),
            Dep::NoFailures,
        ])
        .add()
        .unwrap();
    flow.proc("all", rec(&l))
        .deps([Dep::glob("build::*")])
        .add()
        .unwrap();
    // Proto deps are made (idle) when the proc is made.
    flow.create("deploy::prod").unwrap();
    assert_eq!(flow.state("lint::all").unwrap(), TaskState::Idle);
    assert_eq!(flow.state("provision::prod").unwrap(), TaskState::Idle);
    assert_eq!(
        flow.proc_info("all").unwrap().deps,
        ["build::dev", "build::prod"].map(Into::into)
    );
    flow.start(["deploy::prod", "all"]).unwrap();
    flow.wait_all().unwrap();
    let ran = names(&l);
    for d in ["setup", "build::prod", "lint::all", "provision::prod"] {
        assert!(pos(&ran, d) < pos(&ran, "deploy::prod"));
    }
    assert!(pos(&ran, "build::dev") < pos(&ran, "all"));
    // A pattern dep naming an argument the proc lacks.
    flow.proto("needy::[x]", rec(&l))
        .deps(["dep::[x]::[y]"])
        .add()
        .unwrap();
    let e = flow.create("needy::1").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pattern "dep::[x]::[y]" requires argument "y", which was not given"#
    );
    // A dep's value outside its proto's choices is an error at creation.
    flow.proto("bad::[env]", rec(&l))
        .deps(["build::[env]"])
        .add()
        .unwrap();
    assert!(matches!(
        flow.create("bad::qa"),
        Err(FlowError::NotAChoice { .. })
    ));
});

both!(failures_cascade_and_no_failures, |flow| {
    let l = log();
    flow.proc("p0", |_| -> Result<(), ProcError> {
        Err(ProcError::failed("boom0"))
    })
    .add()
    .unwrap();
    flow.proc("p1", rec(&l)).deps(["p0"]).add().unwrap();
    flow.proc("p2", rec(&l)).deps(["p1"]).add().unwrap();
    flow.proc("other", rec(&l)).wave(1).add().unwrap();
    flow.proc("guarded", rec(&l))
        .no_failures()
        .wave(2)
        .add()
        .unwrap();
    flow.start(["p2", "other", "guarded"]).unwrap();
    let err = flow.wait_all().unwrap_err();
    assert_eq!(names(&l), ["other"]);
    assert_eq!(flow.state("p1").unwrap(), TaskState::DepFailed);
    assert_eq!(flow.state("p2").unwrap(), TaskState::DepFailed);
    assert_eq!(
        flow.status("p2").unwrap().reason.unwrap(),
        r#"dependency "p1" failed (root failure: "p0")"#
    );
    assert_eq!(
        flow.status("p1").unwrap().reason.unwrap(),
        r#"dependency "p0" failed"#
    );
    assert_eq!(
        flow.status("guarded").unwrap().reason.unwrap(),
        r#"run aborted: "p0" has failed"#
    );
    // Every failure, root cause first.
    let FlowError::Failed(f) = err else { panic!() };
    let failed: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(failed[0], "p0");
    assert_eq!(failed.len(), 4);
    assert_eq!(f[0].reason, "boom0");
    // DepFailed procs have no result; failed ones null.
    let r = flow.results();
    assert_eq!(r.get("p0"), Some(&serde_json::Value::Null));
    assert!(!r.contains_key("p1"));
    assert!(!r.contains_key("p2"));
    // Waiting for some reports them.
    let e = flow.wait(["p2"]).unwrap_err().to_string();
    assert!(
        e.starts_with("2 procs did not succeed: p0 (failed): boom0; p2 (dep-failed)"),
        "{e}"
    );
});

both!(missing_deps_default_to_dep_failed, |flow| {
    let l = log();
    flow.proc("x", rec(&l)).deps(["ghost"]).add().unwrap();
    flow.run("x").unwrap();
    assert!(flow.wait_all().is_err());
    assert_eq!(flow.state("x").unwrap(), TaskState::DepFailed);
    assert_eq!(
        flow.status("x").unwrap().reason.unwrap(),
        r#"dependency "ghost" is missing (nothing defines it)"#
    );
    assert!(names(&l).is_empty());
});

both!(missing_deps_are_an_error_when_not_allowed, |flow| {
    flow.set_options(FlowOptions::new().allow_missing_deps(false))
        .unwrap();
    flow.proc("proc_a", |_| Ok(())).add().unwrap();
    flow.proc("proc_b", |_| Ok(()))
        .deps(["proc_a", "nonexistent_proc"])
        .add()
        .unwrap();
    let e = flow.start(["proc_b"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"proc "proc_b" depends on "nonexistent_proc", which does not exist (turn allow_missing_deps on to let it fail as dep-failed instead)"#
    );
    // Nothing was left wanted.
    assert_eq!(flow.state("proc_a").unwrap(), TaskState::Idle);
    assert_eq!(flow.state("proc_b").unwrap(), TaskState::Idle);
    flow.wait_all().unwrap();
    // Defining it fixes it.
    flow.proc("nonexistent_proc", |_| Ok(())).add().unwrap();
    flow.run("proc_b").unwrap();
    flow.wait_all().unwrap();
});

both!(
    a_proc_defined_later_under_a_missing_name_is_picked_up,
    |flow| {
        let l = log();
        flow.proc("setup", rec(&l)).add().unwrap();
        flow.proc("x", rec(&l)).deps(["later"]).add().unwrap();
        flow.run("x").unwrap();
        assert_eq!(flow.state("x").unwrap(), TaskState::Wanted);
        flow.proc("later", rec(&l)).deps(["setup"]).add().unwrap();
        flow.wait_all().unwrap();
        assert_eq!(names(&l), ["setup", "later", "x"]);
    }
);

both!(cycles_are_errors_naming_procs, |flow| {
    flow.proc("a", |_| Ok(())).deps(["b"]).add().unwrap();
    let e = flow.proc("b", |_| Ok(())).deps(["a"]).add().unwrap_err();
    assert_eq!(e.to_string(), "dependency cycle: b -> a -> b");
    let e = flow
        .proc("self", |_| Ok(()))
        .deps(["self"])
        .add()
        .unwrap_err();
    assert_eq!(e.to_string(), "dependency cycle: self -> self");
    flow.proto("x::[n]", |_| Ok(()))
        .deps(["y::[n]"])
        .add()
        .unwrap();
    flow.proto("y::[n]", |_| Ok(()))
        .deps(["x::[n]"])
        .add()
        .unwrap();
    let e = flow.create("x::1").unwrap_err();
    assert!(
        matches!(&e, FlowError::Cycle(c) if c.contains(&"x::1".to_owned()) && c.contains(&"y::1".to_owned())),
        "{e}"
    );
    // Nothing hangs: the run is empty.
    flow.wait_all().unwrap();
});

// Not in process mode: thousands of procs: a test of the scheduler, not of an executor.
local!(long_chains_do_not_recurse, |flow| {
    flow.proto("step::[n]", |ctx| Ok(ctx.arg::<u32>("n")?))
        .deps([Dep::closure(|l| {
            let n: u32 = l.arg("n").unwrap().parse().unwrap();
            if n == 0 {
                vec![]
            } else {
                vec![format!("step::{}", n - 1)]
            }
        })])
        .add()
        .unwrap();
    flow.run("step::5000").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(flow.results().len(), 5001);
    // A plain chain too.
    flow.proc("c0", |_| Ok(())).add().unwrap();
    for i in 1..3000 {
        flow.proc(&format!("c{i}"), |_| Ok(()))
            .deps([format!("c{}", i - 1)])
            .add()
            .unwrap();
    }
    flow.run("c2999").unwrap();
    flow.wait_all().unwrap();
});
}
