//! The `flow` face: procs, protos, names, dependencies, rdeps, waves, locks, results and
//! errors. Every behaviour runs in inline and in thread mode (the `both!` macro).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError, Rdep};

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn names(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A proc body that records its name and returns it.
fn rec(
    log: &Log,
) -> impl Fn(&parade::flow::Context<'_>) -> Result<String, ProcError> + Send + Sync + 'static {
    let log = log.clone();
    move |ctx| {
        log.lock().unwrap().push(ctx.name().to_owned());
        Ok(ctx.name().to_owned())
    }
}

fn pos(log: &[String], name: &str) -> usize {
    log.iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} did not run: {log:?}"))
}

macro_rules! both {
    ($name:ident, |$flow:ident| $body:block) => {
        mod $name {
            use super::*;
            fn case($flow: Flow, inline: bool) {
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

both!(arguments_come_from_the_name_typed, |flow| {
    flow.proto("sim::[temp]::[seed]", |ctx| {
        let seed: u32 = ctx.arg("seed")?;
        let temp: String = ctx.arg("temp")?;
        Ok((temp, seed * 2))
    })
    .add()
    .unwrap();
    flow.proto("flag::[on]", |ctx| Ok(ctx.arg::<bool>("on")?))
        .add()
        .unwrap();
    flow.run("sim::hot::21").unwrap();
    flow.run("sim::cold::x").unwrap();
    flow.run("flag::Yes").unwrap();
    let err = flow.wait_all().unwrap_err();
    assert_eq!(
        flow.result::<(String, u32)>("sim::hot::21").unwrap(),
        ("hot".into(), 42)
    );
    assert!(flow.result::<bool>("flag::Yes").unwrap());
    let st = flow.status("sim::cold::x").unwrap();
    assert_eq!(st.state, TaskState::Failed);
    let reason = st.reason.unwrap();
    assert!(
        reason.contains("argument \"seed\" of \"sim::cold::x\" is \"x\", which is not a valid u32"),
        "{reason}"
    );
    match err {
        FlowError::Failed(f) => assert_eq!(f[0].name, "sim::cold::x"),
        e => panic!("{e}"),
    }
    // Failed procs that ran have a null result; asking for a typed one explains.
    assert_eq!(flow.results()["sim::cold::x"], serde_json::Value::Null);
    assert!(
        flow.result::<u32>("sim::cold::x")
            .unwrap_err()
            .to_string()
            .contains("failed")
    );
});

both!(choices_and_globs, |flow| {
    let l = log();
    flow.proto("build::[env]", rec(&l))
        .choices("env", ["dev", "prod", "perf"])
        .add()
        .unwrap();
    flow.proto("grid::[a]::[b]", rec(&l))
        .choices("a", ["x", "y"])
        .choices_with("b", |_| vec!["1".into(), "2".into()])
        .add()
        .unwrap();
    flow.proto("free::[v]", rec(&l)).add().unwrap();
    assert_eq!(
        flow.create("build::p*").unwrap(),
        ["build::prod", "build::perf"]
    );
    assert_eq!(flow.create("build::?ev").unwrap(), ["build::dev"]);
    assert_eq!(
        flow.create("grid::*::*").unwrap(),
        ["grid::x::1", "grid::x::2", "grid::y::1", "grid::y::2"]
    );
    assert_eq!(
        flow.create("grid::*::2").unwrap(),
        ["grid::x::2", "grid::y::2"]
    );
    // Glob on a placeholder without choices names it.
    let e = flow.create("free::*").unwrap_err();
    assert!(
        matches!(&e, FlowError::GlobWithoutChoices { arg, .. } if arg == "v"),
        "{e}"
    );
    assert!(e.to_string().contains("\"v\""));
    // A glob matching nothing lists the choices.
    let e = flow.create("build::z*").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"glob "z*" for argument "env" matches none of its choices: "dev", "prod", "perf""#
    );
    // A value outside the choices lists them, also next to a glob.
    let e = flow.create("build::qa").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"argument "env" is "qa", which is not one of its choices: "dev", "prod", "perf""#
    );
    assert!(matches!(
        flow.create("grid::*::3"),
        Err(FlowError::NotAChoice { .. })
    ));
    // Choices for a name that is not a placeholder.
    let e = flow
        .proto("ac::[x]", rec(&l))
        .choices("y", ["1"])
        .add()
        .unwrap_err();
    assert!(matches!(e, FlowError::ChoicesKey { .. }), "{e}");
    flow.run("build::*").unwrap();
    flow.wait_all().unwrap();
    let mut ran = names(&l);
    ran.sort();
    assert_eq!(ran, ["build::dev", "build::perf", "build::prod"]);
});

both!(name_matching, |flow| {
    flow.proto("e::[rest]", |ctx| Ok(ctx.arg::<String>("rest")?))
        .add()
        .unwrap();
    flow.proto("t::[p0]", |ctx| Ok(ctx.arg::<String>("p0")?))
        .default_arg("p0", "default")
        .add()
        .unwrap();
    flow.proto("q::[x]", |_| Ok(())).add().unwrap();
    flow.proto("foo::[x]", |_| Ok(())).add().unwrap();
    flow.proto("foo::[y]", |_| Ok(())).add().unwrap();
    // The last placeholder may be empty and may hold the separator.
    assert_eq!(flow.run("e::").unwrap(), ["e::"]);
    assert_eq!(flow.run("e::a::b").unwrap(), ["e::a::b"]);
    // Exact pattern addressing uses the defaults.
    assert_eq!(flow.run("t::[p0]").unwrap(), ["t::default"]);
    let e = flow.create("q::[x]").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pattern "q::[x]" needs argument "x", which was not given"#
    );
    let e = flow.create("foo::test").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#""foo::test" matches several protos: "foo::[x]", "foo::[y]""#
    );
    let e = flow.create("nothing::here").unwrap_err();
    assert_eq!(e.to_string(), r#"no proc or proto matches "nothing::here""#);
    let e = flow.proto("foo-[x]-[y]", |_| Ok(())).add().unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"pattern "foo-[x]-[y]" must put the separator "::" between placeholders, found "-""#
    );
    let e = flow.proc("x::[y]", |_| Ok(())).add().unwrap_err();
    assert!(matches!(e, FlowError::PlaceholderInProcName(_)), "{e}");
    let e = flow.proto("q::[x]", |_| Ok(())).add().unwrap_err();
    assert_eq!(e.to_string(), r#"proto "q::[x]" is already defined"#);
    flow.proc("dup", |_| Ok(())).add().unwrap();
    let e = flow.proc("dup", |_| Ok(())).add().unwrap_err();
    assert_eq!(e.to_string(), r#"proc "dup" is already defined"#);
    flow.wait_all().unwrap();
    assert_eq!(flow.result::<String>("e::").unwrap(), "");
    assert_eq!(flow.result::<String>("e::a::b").unwrap(), "a::b");
    assert_eq!(flow.result::<String>("t::default").unwrap(), "default");
    // create_with fills the pattern.
    assert_eq!(flow.create_with("q::[x]", [("x", "7")]).unwrap(), ["q::7"]);
});

#[test]
fn separator_option() {
    let flow = Flow::with_options(FlowOptions::new().mode(Mode::Inline).separator("/")).unwrap();
    flow.proto("sim/[a]/[b]", |ctx| {
        Ok(format!(
            "{}+{}",
            ctx.arg::<String>("a")?,
            ctx.arg::<String>("b")?
        ))
    })
    .add()
    .unwrap();
    assert!(flow.proto("x::[a]::[b]", |_| Ok(())).add().is_err());
    flow.run("sim/1/2/3").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(flow.result::<String>("sim/1/2/3").unwrap(), "1+2/3");
    // A separator some proto does not use is refused and nothing changes.
    assert!(
        flow.set_options(FlowOptions::new().separator("::"))
            .is_err()
    );
    assert_eq!(flow.options().separator.as_deref(), Some("/"));
}

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
        ["build::dev", "build::prod"]
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
        r#"pattern "dep::[x]::[y]" needs argument "y", which was not given"#
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

both!(long_chains_do_not_recurse, |flow| {
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
    l.lock().unwrap().clear();
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
            .contains(&"setup".to_owned())
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
    l.lock().unwrap().clear();
    // The declarer pulls its target in and runs first.
    flow.run("migrate::prod").unwrap();
    assert_eq!(flow.state("deploy::prod").unwrap(), TaskState::Wanted);
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

both!(when_target_scheduled, |flow| {
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

both!(locks_never_overlap, |flow| {
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
        s.lock().unwrap().push(line);
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
    let got: Vec<(&str, &Why)> = plan.iter().map(|s| (s.name.as_str(), &s.why)).collect();
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
    assert_eq!(names(&l), ["early", "auto::1"]);
});

both!(filled_deps_that_keep_placeholders_are_errors, |flow| {
    flow.proto("p::[a]", |_| Ok(()))
        .deps(["q::[a]"])
        .add()
        .unwrap();
    let e = flow.create("p::[z]").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"dependency "q::[a]" of "p::[z]" became "q::[z]", which still has placeholders and is no proto's pattern"#
    );
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
    let t = std::time::Instant::now();
    flow.run("hang").unwrap();
    assert!(flow.wait_all().is_err());
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(
        flow.status("hang").unwrap().reason.unwrap(),
        "timeout after 100ms"
    );
}
