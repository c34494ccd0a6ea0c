//! The `flow` face: rdeps, `WhenScheduled`, `WhenTargetScheduled`, waves, locks, limits.
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`); `local!` cases share memory with their procs and run inline and on threads only.

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError, Rdep};
use std::sync::{Arc, Mutex};
use std::time::Duration;

suite! {
both!(plain_rdeps, |flow| {
    let l = log();
    flow.proc("setup", rec(&l))
        .rdeps(["deploy::[env]"])
        .add()
        .unwrap();
    flow.proto("deploy::[env]", rec(&l)).add().unwrap();
    flow.proto("build::[env]", rec(&l)).add().unwrap();
    flow.proto("t::[e]", rec(&l))
        .deps(["build::[e]"])
        .add()
        .unwrap();
    // The declarer alone runs alone.
    flow.run("setup").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["setup"]);
    l.clear();
    let flow2 = flow.clone();
    drop(flow);
    let flow = flow2;
    // Wanting the target injects the declarer (already done here, so it is not rerun).
    flow.run("deploy::prod").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["deploy::prod"]);
    assert!(
        flow.proc_info("deploy::prod")
            .unwrap()
            .deps
            .contains(&"setup".into())
    );
});

both!(rdeps_run_before_targets_by_any_path, |flow| {
    let l = log();
    flow.proc("init", rec(&l))
        .rdeps(["app::[x]"])
        .add()
        .unwrap();
    flow.proto("app::[x]", rec(&l)).add().unwrap();
    flow.proc("top", rec(&l)).deps(["app::one"]).add().unwrap();
    flow.run("top").unwrap();
    flow.wait_all().unwrap();
    let ran = names(&l);
    assert_eq!(ran.len(), 3);
    assert!(pos(&ran, "init") < pos(&ran, "app::one"));
    assert!(pos(&ran, "app::one") < pos(&ran, "top"));
});

both!(rdeps_from_protos_create_instances, |flow| {
    let l = log();
    // Cross-pattern: building the stage frontend image needs next.build::stage first.
    flow.proto("next.build::[target]", rec(&l))
        .rdeps(["k8s.build-image::[target]::frontend"])
        .add()
        .unwrap();
    flow.proto("k8s.build-image::[target]::[part]", rec(&l))
        .add()
        .unwrap();
    // A proto whose params the rdep does not give is not created.
    flow.proto("setup::[env]", rec(&l))
        .rdeps(["k8s.build-image::[a]::[b]"])
        .add()
        .unwrap();
    // A proto without params is created under its own name.
    flow.proto("prep", rec(&l))
        .rdeps(["k8s.build-image::[a]::[b]"])
        .add()
        .unwrap();
    flow.run("k8s.build-image::stage::frontend").unwrap();
    flow.run("k8s.build-image::stage::backend").unwrap();
    flow.wait_all().unwrap();
    let ran = names(&l);
    assert!(pos(&ran, "next.build::stage") < pos(&ran, "k8s.build-image::stage::frontend"));
    assert!(pos(&ran, "prep") < pos(&ran, "k8s.build-image::stage::backend"));
    assert!(!ran.iter().any(|n| n.starts_with("setup::")));
    assert!(!ran.contains(&"next.build::stage::backend".to_owned()));
    assert_eq!(ran.len(), 4);
});

both!(proto_instances_fill_their_rdeps, |flow| {
    let l = log();
    flow.proto("migrate::[env]", rec(&l))
        .rdeps(["deploy::[env]"])
        .add()
        .unwrap();
    flow.proto("deploy::[env]", rec(&l)).add().unwrap();
    flow.create("migrate::prod").unwrap();
    flow.run("deploy::dev").unwrap();
    flow.wait_all().unwrap();
    // migrate::prod's rule targets deploy::prod only; deploy::dev got migrate::dev.
    assert_eq!(names(&l), ["migrate::dev", "deploy::dev"]);
});

both!(when_scheduled, |flow| {
    let l = log();
    flow.proto("migrate::[env]", rec(&l))
        .when_scheduled("deploy::[env]")
        .add()
        .unwrap();
    flow.proto("deploy::[env]", rec(&l)).add().unwrap();
    // Only the target: the declarer is not involved.
    flow.run("deploy::dev").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["deploy::dev"]);
    l.clear();
    // The declarer pulls its target in and runs first.
    flow.run("migrate::prod").unwrap();
    // Pulled in (on threads it may already run or be done: only idle would be wrong).
    assert_ne!(flow.state("deploy::prod").unwrap(), TaskState::Idle);
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["migrate::prod", "deploy::prod"]);
    // Too late: the target has finished.
    let e = flow.run("migrate::dev").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"proc "migrate::dev" has a WhenScheduled rdep on "deploy::dev", but "deploy::dev" is already succeeded: "migrate::dev" was scheduled too late to run before it"#
    );
    assert_eq!(flow.state("migrate::dev").unwrap(), TaskState::Idle);
});

both!(
    when_scheduled_order_does_not_depend_on_start_order,
    |flow| {
        let l = log();
        flow.proc("A", rec(&l)).add().unwrap();
        flow.proc("B", rec(&l)).when_scheduled("A").add().unwrap();
        flow.proc("A2", rec(&l)).add().unwrap();
        flow.proc("B2", rec(&l))
            .rdeps([Rdep::when_scheduled("A2")])
            .add()
            .unwrap();
        flow.start(["A", "B"]).unwrap();
        flow.start(["B2", "A2"]).unwrap();
        flow.wait_all().unwrap();
        let ran = names(&l);
        assert!(pos(&ran, "B") < pos(&ran, "A"));
        assert!(pos(&ran, "B2") < pos(&ran, "A2"));
    }
);

both!(when_scheduled_through_a_plain_rdep_and_reverse, |flow| {
    let l = log();
    // B is pulled in by a plain rdep on T; its WhenScheduled rule then pulls C in.
    flow.proc("B", rec(&l))
        .rdeps([Rdep::plain("T"), Rdep::when_scheduled("C")])
        .add()
        .unwrap();
    flow.proc("T", rec(&l)).add().unwrap();
    flow.proc("C", rec(&l)).add().unwrap();
    flow.run("T").unwrap();
    flow.wait_all().unwrap();
    let ran = names(&l);
    assert!(pos(&ran, "B") < pos(&ran, "T"));
    assert!(pos(&ran, "B") < pos(&ran, "C"));
});

#[test]
fn when_scheduled_reverse_injection_and_too_late_while_running() {
    // D is wanted (blocked on a gate) when its WhenScheduled target X becomes wanted: X waits for D.
    let flow = Flow::inline();
    let l = log();
    flow.proc("gate", rec(&l)).add().unwrap();
    flow.proc("D", rec(&l))
        .deps(["gate"])
        .when_scheduled("X")
        .add()
        .unwrap();
    flow.proc("X", rec(&l)).add().unwrap();
    flow.start(["D"]).unwrap();
    flow.start(["X"]).unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["gate", "D", "X"]);
    // Too late while the target runs.
    let flow = Flow::inline();
    flow.proc("B", |_| Ok(()))
        .when_scheduled("A")
        .add()
        .unwrap();
    flow.proc("A", |ctx| {
        let e = ctx.flow().start(["B"]).unwrap_err();
        Ok(e.to_string())
    })
    .add()
    .unwrap();
    flow.run("A").unwrap();
    flow.wait_all().unwrap();
    assert!(
        flow.result::<String>("A")
            .unwrap()
            .contains("is already running")
    );
    assert_eq!(flow.state("B").unwrap(), TaskState::Idle);
}

// Not in process mode: defines procs after others ran, which a worker re-running the case cannot follow.
local!(when_target_scheduled, |flow| {
    let l = log();
    flow.proc("B", rec(&l))
        .when_target_scheduled("A")
        .add()
        .unwrap();
    flow.proc("A", rec(&l)).add().unwrap();
    // The declarer alone runs alone (never pulls the target in).
    flow.run("B").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["B"]);
    assert_eq!(flow.state("A").unwrap(), TaskState::Idle);

    let l = log();
    flow.proc("B1", rec(&l))
        .when_target_scheduled("A1")
        .add()
        .unwrap();
    flow.proc("A1", rec(&l)).add().unwrap();
    // Like a plain rdep when the target is wanted.
    flow.run("A1").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["B1", "A1"]);
    // Too late once the target finished.
    flow.proc("B2", rec(&l))
        .when_target_scheduled("A1")
        .add()
        .unwrap();
    let e = flow.run("B2").unwrap_err();
    assert!(
        e.to_string()
            .contains("has a WhenTargetScheduled rdep on \"A1\", but \"A1\" is already succeeded"),
        "{e}"
    );
});

#[test]
fn when_target_scheduled_reverse() {
    // The target is wanted (waiting on a gate proc) when the declarer is started: it still goes first.
    let flow = Flow::inline();
    let l = log();
    flow.proc("gate", rec(&l)).add().unwrap();
    flow.proc("A", rec(&l)).deps(["gate"]).add().unwrap();
    flow.start(["A"]).unwrap();
    flow.proc("B", rec(&l))
        .when_target_scheduled("A")
        .add()
        .unwrap();
    flow.start(["B"]).unwrap();
    flow.wait_all().unwrap();
    let ran = names(&l);
    assert!(pos(&ran, "B") < pos(&ran, "A"));
}

both!(waves, |flow| {
    let l = log();
    flow.proc("A", rec(&l)).add().unwrap();
    flow.proc("B", rec(&l)).deps(["A"]).add().unwrap();
    flow.proc("C", rec(&l)).deps(["B"]).wave(2).add().unwrap();
    flow.proc("D", rec(&l)).wave(1).add().unwrap();
    flow.start(["C", "D"]).unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["A", "B", "D", "C"]);
    // A dependency on a higher wave.
    flow.proc("high", rec(&l)).wave(2).add().unwrap();
    let e = flow.proc("low", rec(&l)).deps(["high"]).add().unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"proc "low" (wave 0) cannot depend on "high" (wave 2): dependencies must be in the same or a lower wave"#
    );
    // Through WhenScheduled: the declarer's wave is above its target's.
    flow.proc("t0", rec(&l)).add().unwrap();
    flow.proc("w1", rec(&l))
        .wave(1)
        .when_scheduled("t0")
        .add()
        .unwrap();
    let e = flow.start(["w1"]).unwrap_err();
    assert!(matches!(e, FlowError::WaveOrder { .. }), "{e}");
    assert_eq!(flow.state("w1").unwrap(), TaskState::Idle);
    assert_eq!(flow.state("t0").unwrap(), TaskState::Idle);
});

// Not in process mode: its procs count in memory shared with the test.
local!(locks_never_overlap, |flow| {
    let running = Arc::new(Mutex::new(0));
    let most = Arc::new(Mutex::new(0));
    flow.proto("deploy::[env]", {
        let (running, most) = (running.clone(), most.clone());
        move |_| {
            {
                let mut r = running.lock().unwrap();
                *r += 1;
                let mut m = most.lock().unwrap();
                *m = (*m).max(*r);
            }
            std::thread::sleep(Duration::from_millis(5));
            *running.lock().unwrap() -= 1;
            Ok(())
        }
    })
    .choices("env", ["a", "b", "c", "d", "e"])
    .locks(["cluster"])
    .add()
    .unwrap();
    flow.run("deploy::*").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(*most.lock().unwrap(), 1);
});

#[test]
fn parallel_limit_and_threads_overlap() {
    let flow = Flow::with_options(FlowOptions::new().parallel(3)).unwrap();
    let running = Arc::new(Mutex::new((0, 0)));
    flow.proto("job::[n]", {
        let running = running.clone();
        move |_| {
            {
                let mut r = running.lock().unwrap();
                r.0 += 1;
                r.1 = r.1.max(r.0);
            }
            std::thread::sleep(Duration::from_millis(20));
            running.lock().unwrap().0 -= 1;
            Ok(())
        }
    })
    .choices("n", (0..9).map(|i| i.to_string()))
    .add()
    .unwrap();
    flow.run("job::*").unwrap();
    flow.wait_all().unwrap();
    let most = running.lock().unwrap().1;
    assert!((2..=3).contains(&most), "{most}");
}
}
