//! The `flow` face against parproc's own behaviour (issue "fidelity to the seeds"): a proto's
//! and a proc's own arguments fill dependency patterns, a really missing argument is named,
//! named instances from the flow and from a running proc.
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`).

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
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
    assert_eq!(flow.proc_info("top::1").unwrap().deps, ["dep::test::1"]);
    assert_eq!(flow.result::<String>("top::1").unwrap(), "test-1");
    // The name's own value wins over the proto's default for a placeholder.
    flow.proto("pick::[x]", rec(&l))
        .default_arg("x", "dflt")
        .deps(["dep::[x]::z"])
        .add()
        .unwrap();
    assert_eq!(flow.create("pick::mine").unwrap(), ["pick::mine"]);
    assert_eq!(flow.proc_info("pick::mine").unwrap().deps, ["dep::mine::z"]);
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
}
