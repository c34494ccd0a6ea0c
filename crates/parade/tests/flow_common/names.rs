//! The `flow` face: names, patterns, arguments, choices and globs.
//! Every `both!` case runs inline, on threads and in worker processes (`flow_process`); `local!` cases share memory with their procs and run inline and on threads only.

#![allow(unused_imports, clippy::wildcard_imports)]

use crate::flow_common::*;
use parade::engine::TaskState;
use parade::flow::{Dep, Flow, FlowError, FlowOptions, Mode, ProcError, Rdep};
use std::sync::{Arc, Mutex};
use std::time::Duration;

suite! {
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
        r#"pattern "q::[x]" requires argument "x", which was not given"#
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
}
