//! The `flow` face against parproc's own behaviour (issue "fidelity to the seeds"): a proto's
//! and a proc's own arguments fill dependency patterns, a really missing argument is named,
//! named instances from the flow and from a running proc; parproc's log rules (`log_ignore`
//! always or only on success, inherited by instances; `full_log_on_failure`).
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`).

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
use parade::display::TaskNames;
use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError};

suite! {
both!(proto_args_fill_dependency_patterns, |flow| {
    // parproc: Proto("top::[y]", args={"x": "test"}, deps=["dep::[x]::[y]"]).
    let l = log();
    flow.proto("dep::[x]::[y]", rec(&l)).add().unwrap();
    flow.proto("top::[y]", |ctx| Ok(format!("{}-{}", ctx.arg::<String>("x")?, ctx.arg::<String>("y")?)))
        .default_arg("x", "test")
        .deps(["dep::[x]::[y]"])
        .add()
        .unwrap();
    assert_eq!(flow.run("top::1").unwrap(), ["top::1"]);
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["dep::test::1"]);
    assert_eq!(flow.proc_info("top::1").unwrap().deps, ["dep::test::1".into()]);
    assert_eq!(flow.result::<String>("top::1").unwrap(), "test-1");
    // The name's own value wins over the proto's default for a placeholder.
    flow.proto("pick::[x]", rec(&l))
        .default_arg("x", "dflt")
        .deps(["dep::[x]::z"])
        .add()
        .unwrap();
    assert_eq!(flow.create("pick::mine").unwrap(), ["pick::mine"]);
    assert_eq!(flow.proc_info("pick::mine").unwrap().deps, ["dep::mine::z".into()]);
    assert_eq!(flow.create("pick::[x]").unwrap(), ["pick::dflt"]);
});

both!(a_really_missing_argument_is_named, |flow| {
    let l = log();
    flow.proto("dep::[x]::[y]", rec(&l)).add().unwrap();
    // `x` is given by the proto; `y` by nobody: the error names `y`, not `x`.
    flow.proto("needs_y::[z]", rec(&l))
        .default_arg("x", "test")
        .deps(["dep::[x]::[y]"])
        .add()
        .unwrap();
    let e = flow.create("needs_y::1").unwrap_err();
    assert!(matches!(&e, FlowError::MissingArg { arg, .. } if arg == "y"), "{e:?}");
    assert_eq!(
        e.to_string(),
        r#"pattern "dep::[x]::[y]" requires argument "y", which was not given"#
    );
    // Nothing was half made.
    assert!(flow.state("needs_y::1").is_err() || flow.state("needs_y::1").unwrap() == TaskState::Idle);
});

both!(proc_args_fill_dependency_patterns, |flow| {
    // parproc: Proc("setup", args={"env": "prod"}, deps=["build::[env]"]).
    let l = log();
    flow.proto("build::[env]", rec(&l)).add().unwrap();
    flow.proc("setup", |ctx| Ok(ctx.arg::<String>("env")?))
        .default_arg("env", "prod")
        .deps(["build::[env]"])
        .add()
        .unwrap();
    flow.run("setup").unwrap();
    flow.wait_all().unwrap();
    assert_eq!(names(&l), ["build::prod"]);
    assert_eq!(flow.result::<String>("setup").unwrap(), "prod");
    // Choices still belong to protos.
    let e = flow
        .proc("plain", rec(&l))
        .choices("env", ["a"])
        .add()
        .unwrap_err();
    assert!(e.to_string().contains("choices belong to protos"), "{e}");
});

both!(named_instances_from_the_flow_and_a_running_proc, |flow| {
    // parproc: create("proto::[a]", "proto:1"): an instance under a name of the caller's choice.
    flow.proto("proto::[a]", |ctx| Ok(ctx.arg::<String>("a")?)).add().unwrap();
    assert_eq!(flow.create_as("proto::first", "proto:1").unwrap(), ["proto:1"]);
    flow.proc("maker", |ctx| {
        let made = ctx.create_as("proto::second", "proto:2")?;
        ctx.wait(&made)?;
        Ok((made, ctx.result::<String>("proto:2")?))
    })
    .add()
    .unwrap();
    flow.run("maker").unwrap();
    flow.start(["proto:1"]).unwrap();
    flow.wait_all().unwrap();
    assert_eq!(flow.result::<String>("proto:1").unwrap(), "first");
    let (made, value): (Vec<String>, String) = flow.result("maker").unwrap();
    assert_eq!(made, ["proto:2"]);
    assert_eq!(value, "second");
    assert_eq!(flow.result::<String>("proto:2").unwrap(), "second");
    // The name is the caller's, so it may not hold placeholders.
    assert!(matches!(
        flow.create_as("proto::x", "bad::[a]"),
        Err(FlowError::PlaceholderInProcName(_))
    ));
});

/// The block `PlainObserver` wrote for `name` when it ended: its end line and snippet.
fn end_block(text: &str, name: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            inside = line.contains(&format!(" {name} ")) && !line.starts_with('•');
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

both!(log_ignore_rules_hide_lines_always_or_only_on_success_and_instances_inherit_them, |flow| {
    // parproc: Proto(log_ignore=["^DEBUG", IgnoreLogIfSucceeded("deprecated")]).
    let out = parade::display::SharedBuffer::default();
    flow.observe(flow.plain_observer(out.clone()));
    flow.proto("build::[t]", |ctx| {
        ctx.log("DEBUG error probe");
        ctx.log("warning: api is deprecated");
        if ctx.arg::<String>("t")? == "bad" {
            ctx.log("error: it broke");
            return Err(ProcError::failed("broke"));
        }
        Ok(())
    })
    .log_ignore(["^DEBUG"])
    .log_ignore_if_succeeded(["deprecated"])
    .add()
    .unwrap();
    flow.proc("setup", |ctx| {
        ctx.log("noise: error in a harmless place");
        ctx.log("error: real trouble");
        Err::<(), _>(ProcError::failed("trouble"))
    })
    .log_ignore(["^noise"])
    .add()
    .unwrap();
    flow.create("build::ok").unwrap();
    flow.create("build::bad").unwrap();
    flow.start(["build::ok", "build::bad", "setup"]).unwrap();
    assert!(flow.wait_all().is_err());
    let text = out.contents();
    // Succeeded: the DEBUG line (always) and the deprecation (on success) are ignored, so no
    // keyword remains and nothing is shown.
    let ok = end_block(&text, "build::ok");
    assert!(ok.starts_with("✓ build::ok"), "{text}");
    assert_eq!(ok.lines().count(), 1, "{text}");
    // Failed: the deprecation shows (it may explain the failure); DEBUG stays hidden; the line
    // numbers are the log's (whose last line is the failure's message, as in parproc).
    let bad = end_block(&text, "build::bad");
    assert!(
        bad.ends_with(
            "  --- lines 1-4 ---\n  warning: api is deprecated\n  error: it broke\n  error: broke\n"
        ),
        "{text}"
    );
    let setup = end_block(&text, "setup");
    assert!(
        setup.ends_with("  --- lines 1-3 ---\n  error: real trouble\n  error: trouble\n"),
        "{text}"
    );
    // Instances share their proto's rules (parproc asserts the same rule objects).
    let names = flow.names();
    let a = names.log_ignore(flow.id("build::ok").unwrap()).unwrap();
    let b = names.log_ignore(flow.id("build::bad").unwrap()).unwrap();
    assert!(a.same_rules(&b));
    assert_eq!(
        a.rules().collect::<Vec<_>>(),
        [
            ("^DEBUG", parade::display::IgnoreWhen::Always),
            ("deprecated", parade::display::IgnoreWhen::IfSucceeded)
        ]
    );
});

both!(full_log_on_failure_shows_the_whole_log_less_ignored_lines, |flow| {
    // parproc: set_options(full_log_on_failure=True).
    flow.set_options(FlowOptions::new().full_log_on_failure(true)).unwrap();
    let out = parade::display::SharedBuffer::default();
    flow.observe(flow.plain_observer(out.clone()));
    flow.proc("long", |ctx| {
        for i in 1..=30 {
            ctx.log(format!("step {i}"));
        }
        ctx.log("progress 100%");
        Err::<(), _>(ProcError::failed("gave up"))
    })
    .log_ignore(["^progress"])
    .add()
    .unwrap();
    flow.proc("fine", |ctx| {
        ctx.log("step 1");
        Ok(())
    })
    .add()
    .unwrap();
    flow.start(["long", "fine"]).unwrap();
    assert!(flow.wait_all().is_err());
    let text = out.contents();
    let long = end_block(&text, "long");
    let expected: String = (1..=30).fold(String::new(), |acc, i| acc + &format!("  step {i}\n"));
    assert!(
        long.ends_with(&format!("  --- lines 1-32 ---\n{expected}  error: gave up\n")),
        "{text}"
    );
    // A success shows nothing, full log or not.
    assert_eq!(end_block(&text, "fine").lines().count(), 1, "{text}");
});

both!(an_invalid_log_ignore_pattern_is_refused_when_added, |flow| {
    let e = flow.proto("p::[x]", |_| Ok(())).log_ignore_if_succeeded(["a(b"]).add().unwrap_err();
    assert!(matches!(&e, FlowError::LogIgnore { kind: "proto", proc, .. } if proc == "p::[x]"), "{e:?}");
    assert!(
        e.to_string().starts_with(r#"proto "p::[x]": invalid regex in log_ignore: "a(b": "#),
        "{e}"
    );
    assert!(flow.create("p::1").is_err(), "nothing was registered");
});
}
