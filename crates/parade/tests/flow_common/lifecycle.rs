//! The `flow` face: lifecycle, results, params, context, options, observers, commands.
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`); `local!` cases share memory with their procs and run inline and on threads only.

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError, Rdep};
use std::sync::{Arc, Mutex};
use std::time::Duration;

suite! {
both!(run_twice_runs_once, |flow| {
    let l = log();
    flow.proto("p::[x]", rec(&l)).add().unwrap();
    assert_eq!(flow.run("p::1").unwrap(), ["p::1"]);
    assert_eq!(flow.run("p::1").unwrap(), ["p::1"]);
    flow.wait(["p::1"]).unwrap();
    flow.run("p::1").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["p::1"]);
});

#[test]
fn options_not_given_stay() {
    let flow = Flow::with_options(
        FlowOptions::new()
            .mode(Mode::Inline)
            .parallel(3)
            .allow_missing_deps(false),
    )
    .unwrap();
    flow.set_options(FlowOptions::new().log_dir("/tmp/x"))
        .unwrap();
    let o = flow.options();
    assert_eq!(o.parallel, Some(3));
    assert_eq!(o.allow_missing_deps, Some(false));
    assert_eq!(flow.engine().limit(), 3);
    assert_eq!(flow.log_dir(), std::path::PathBuf::from("/tmp/x"));
    assert!(
        flow.set_options(FlowOptions::new().mode(Mode::Threads))
            .is_err()
    );
    assert!(flow.set_options(FlowOptions::new().parallel(0)).is_err());
    let d = Flow::inline();
    assert!(d.log_dir().starts_with(".parade/logs"));
    assert!(d.log_dir().ends_with(d.run_id()));
}

both!(panics_fail_the_proc, |flow| {
    flow.proc("bad", |_| -> Result<(), ProcError> { panic!("kaboom") })
        .add()
        .unwrap();
    flow.run("bad").unwrap();
    assert!(flow.wait(["bad"]).is_err());
    assert_eq!(
        flow.status("bad").unwrap().reason.unwrap(),
        "panicked: kaboom"
    );
});

both!(start_of_unknown_names_is_an_error, |flow| {
    flow.proc("a", |_| Ok(())).add().unwrap();
    let e = flow.start(["a", "nope"]).unwrap_err();
    assert_eq!(e.to_string(), r#"no proc named "nope""#);
    assert_eq!(flow.state("a").unwrap(), TaskState::Idle);
    assert!(matches!(
        flow.wait(["nope"]),
        Err(FlowError::UnknownProc(_))
    ));
});

both!(skipping_counts_as_success, |flow| {
    let l = log();
    flow.proc("skip", |_| -> Result<(), ProcError> {
        Err(ProcError::skipped("up to date"))
    })
    .add()
    .unwrap();
    flow.proc("same", |_| -> Result<(), ProcError> {
        Err(ProcError::no_change())
    })
    .add()
    .unwrap();
    flow.proc("after", rec(&l))
        .deps(["skip", "same"])
        .add()
        .unwrap();
    flow.run("after").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["after"]);
    let s = flow.status("skip").unwrap();
    assert_eq!(s.state, TaskState::Skipped);
    assert!(!s.no_change);
    assert_eq!(s.reason.unwrap(), "skipped: up to date");
    let s = flow.status("same").unwrap();
    assert_eq!(s.state, TaskState::Skipped);
    assert!(s.no_change);
    assert_eq!(flow.results()["skip"], serde_json::Value::Null);
});

both!(params_and_results_in_context, |flow| {
    flow.set_param("region", "eu").unwrap();
    flow.proc("a", |_| Ok(vec![1, 2, 3])).add().unwrap();
    flow.proc("b", |ctx| {
        let region: String = ctx.param("region").unwrap();
        let a: Vec<u32> = ctx.result("a")?;
        assert!(ctx.results().contains_key("a"));
        Ok(format!("{region}:{}", a.iter().sum::<u32>()))
    })
    .deps(["a"])
    .add()
    .unwrap();
    flow.run("b").unwrap();
    flow.wait(["b"]).unwrap();
    assert_eq!(flow.result::<String>("b").unwrap(), "eu:6");
    assert_eq!(flow.param::<String>("region").unwrap(), "eu");
});

both!(procs_fan_out_and_wait_inside, |flow| {
    flow.proto("leaf::[n]", |ctx| Ok(ctx.arg::<u64>("n")?))
        .add()
        .unwrap();
    flow.proto("mid::[n]", |ctx| {
        let n: u64 = ctx.arg("n")?;
        let leaves: Vec<String> = (0..4).map(|i| format!("leaf::{}", n * 10 + i)).collect();
        for l in &leaves {
            ctx.run(l)?;
        }
        ctx.wait(&leaves)?;
        Ok(leaves
            .iter()
            .map(|l| ctx.result::<u64>(l).unwrap())
            .sum::<u64>())
    })
    .add()
    .unwrap();
    flow.proc("top", |ctx| {
        let mids: Vec<String> = (0..6).map(|i| format!("mid::{i}")).collect();
        for m in &mids {
            ctx.create(m)?;
        }
        ctx.wait(&mids)?; // starts them too
        Ok(mids
            .iter()
            .map(|m| ctx.result::<u64>(m).unwrap())
            .sum::<u64>())
    })
    .add()
    .unwrap();
    flow.run("top").unwrap();
    flow.wait_all().unwrap();
    let expect: u64 = (0..6u64)
        .flat_map(|n| (0..4).map(move |i| n * 10 + i))
        .sum();
    assert_eq!(flow.result::<u64>("top").unwrap(), expect);
});

#[test]
fn thread_mode_timeout_fails_the_proc() {
    let flow = Flow::new();
    flow.proc("slow", |ctx| {
        while !ctx.is_cancelled() {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    })
    .timeout(Duration::from_millis(30))
    .add()
    .unwrap();
    flow.run("slow").unwrap();
    assert!(flow.wait_all().is_err());
    let s = flow.status("slow").unwrap();
    assert_eq!(s.state, TaskState::Failed);
    assert!(s.reason.unwrap().starts_with("timeout"));
    assert_eq!(flow.results()["slow"], serde_json::Value::Null);
}

both!(observers_get_named_events_and_lines, |flow| {
    use parade::display::TaskNames;
    use parade::engine::Event;
    let seen = log();
    let table = flow.names();
    let s = seen.clone();
    flow.observe(move |e: &Event| {
        let n = table.name(e.id()).unwrap_or_default();
        let line = match e {
            Event::Started { .. } => format!("start {n}"),
            Event::Output { line, .. } => format!("{n}: {line}"),
            Event::Finished { state, .. } => format!("end {n} {state}"),
            Event::Wanted { .. } => return,
        };
        s.push(line);
    });
    flow.proc("hello", |ctx| {
        ctx.emit("hi there");
        ctx.log("second line");
        Ok(())
    })
    .add()
    .unwrap();
    flow.run("hello").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(
        names(&seen),
        [
            "start hello",
            "hello: hi there",
            "hello: second line",
            "end hello succeeded"
        ]
    );
    assert_eq!(
        flow.name_of(flow.id("hello").unwrap()).as_deref(),
        Some("hello")
    );
});

both!(plan_lists_what_would_run_and_why, |flow| {
    use parade::flow::Why;
    flow.proc("setup", |_| Ok(()))
        .rdeps(["deploy::[env]"])
        .add()
        .unwrap();
    flow.proto("build::[env]", |_| Ok(())).add().unwrap();
    flow.proto("deploy::[env]", |_| Ok(()))
        .deps(["build::[env]"])
        .wave(1)
        .add()
        .unwrap();
    flow.proto("notify::[env]", |_| Ok(()))
        .when_scheduled("deploy::[env]")
        .add()
        .unwrap();
    let plan = flow.plan(["notify::prod"]).unwrap();
    let got: Vec<(&str, &Why)> = plan.iter().map(|s| (&*s.name, &s.why)).collect();
    assert_eq!(
        got,
        [
            ("setup", &Why::RdepOf("deploy::prod".into())), // the oldest ready proc goes first
            ("notify::prod", &Why::Requested),
            ("build::prod", &Why::DepOf("deploy::prod".into())),
            ("deploy::prod", &Why::WhenScheduledBy("notify::prod".into())),
        ]
    );
    // A plan wants nothing.
    assert_eq!(flow.state("deploy::prod").unwrap(), TaskState::Idle);
    assert_eq!(flow.protos().len(), 3);
    assert_eq!(flow.protos()[0].choices.len(), 0);
});

#[test]
fn waiting_inside_a_proc_is_never_taken_for_a_deadlock() {
    // The last awaited proc ends just before the waiter wakes: the outer wait must not see a
    // stall in that instant (this once reported a false deadlock).
    for _ in 0..200 {
        let flow = Flow::new();
        flow.proto("sq::[n]", |ctx| {
            let n: u64 = ctx.arg("n")?;
            Ok(n * n)
        })
        .add()
        .unwrap();
        flow.proc("sum", |ctx| {
            let names: Vec<String> = (1..=3).map(|n| format!("sq::{n}")).collect();
            for n in &names {
                ctx.run(n)?;
            }
            ctx.wait(&names)?;
            Ok(())
        })
        .add()
        .unwrap();
        flow.run("sum").unwrap();
        flow.wait_all().unwrap();
    }
}

both!(now_starts_at_once, |flow| {
    let l = log();
    flow.proc("early", rec(&l)).now().add().unwrap();
    flow.proto("auto::[x]", rec(&l)).now().add().unwrap();
    flow.proc("later", rec(&l)).deps(["auto::1"]).add().unwrap();
    assert_ne!(flow.state("early").unwrap(), TaskState::Idle);
    assert_ne!(flow.state("auto::1").unwrap(), TaskState::Idle);
    assert_eq!(flow.state("later").unwrap(), TaskState::Idle);
    flow.wait_all().unwrap();
    let mut ran = names(&l);
    ran.sort(); // both started at once, so in any order
    assert_eq!(ran, ["auto::1", "early"]);
});

both!(a_failed_wait_inside_a_proc_fails_it, |flow| {
    flow.proc("bad", |_| -> Result<(), ProcError> {
        Err(ProcError::failed("broken"))
    })
    .add()
    .unwrap();
    flow.proc("boss", |ctx| {
        ctx.wait(["bad"])?;
        Ok(())
    })
    .add()
    .unwrap();
    flow.run("boss").unwrap();
    assert!(flow.wait_all().is_err());
    let s = flow.status("boss").unwrap();
    assert_eq!(s.state, TaskState::Failed);
    assert_eq!(
        s.reason.unwrap(),
        "1 proc did not succeed: bad (failed): broken"
    );
});

both!(shell_output_goes_to_observers, |flow| {
    use parade::engine::{Event, Stream};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    flow.observe(move |e: &Event| {
        if let Event::Output { stream, line, .. } = e {
            s.lock().unwrap().push((*stream, line.clone()));
        }
    });
    flow.proto("sh::[n]", |ctx| {
        let n: u32 = ctx.arg("n")?;
        let out = ctx.shell(&format!("echo out {n}; echo err {n} >&2; exit {n}"))?;
        Ok(out.stdout)
    })
    .add()
    .unwrap();
    flow.run("sh::0").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(flow.result::<String>("sh::0").unwrap(), "out 0");
    let mut got = seen.lock().unwrap().clone();
    got.sort_by_key(|(s, _)| *s == Stream::Stderr);
    assert_eq!(
        got,
        [
            (Stream::Stdout, "out 0".to_owned()),
            (Stream::Stderr, "err 0".to_owned())
        ]
    );
    flow.run("sh::4").unwrap();
    assert!(flow.wait(["sh::4"]).is_err());
    assert_eq!(
        flow.status("sh::4").unwrap().reason.unwrap(),
        "exit status 4"
    );
});

#[test]
fn a_timeout_kills_the_command() {
    let flow = Flow::new();
    flow.proc("hang", |ctx| {
        ctx.shell("sleep 30; echo never")?;
        Ok(())
    })
    .timeout(Duration::from_millis(100))
    .add()
    .unwrap();
    flow.run("hang").unwrap();
    assert!(flow.wait_all().is_err());
    assert_eq!(
        flow.status("hang").unwrap().reason.unwrap(),
        "timeout after 100ms"
    );
}

both!(cancel_and_stop, |flow| {
    let l = log();
    // `a` holds until `b` has been cancelled, so `b` cannot have started by then (on threads
    // it otherwise could, on a loaded machine).
    let gate = log();
    let (held, record) = (gate.clone(), rec(&l));
    flow.proc("a", move |ctx| {
        while held.names().is_empty() {
            std::thread::sleep(Duration::from_millis(2));
        }
        record(ctx)
    })
    .add()
    .unwrap();
    flow.proc("b", rec(&l)).deps(["a"]).add().unwrap();
    flow.proc("c", rec(&l)).deps(["b"]).add().unwrap();
    flow.start(["c"]).unwrap();
    flow.cancel("b").unwrap();
    gate.push("cancelled");
    assert!(flow.wait_all().is_err());
    assert_eq!(flow.state("b").unwrap(), TaskState::Cancelled);
    assert_eq!(flow.state("c").unwrap(), TaskState::DepFailed);
    assert!(!names(&l).contains(&"b".to_owned()));
    assert!(matches!(flow.cancel("zzz"), Err(FlowError::UnknownProc(_))));
    flow.proc("d", rec(&l)).add().unwrap();
    flow.start(["d"]).unwrap();
    flow.stop();
    let _ = flow.wait_all();
    assert!(flow.state("d").unwrap().is_final());
});
}
