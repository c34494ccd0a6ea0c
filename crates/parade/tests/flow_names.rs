//! The `flow` face: names, patterns, arguments, choices and globs.
//! Inline and thread mode; the cases are in `flow_common/names.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/names.rs"]
mod names;

/// A glob's plan shares each instance's definition and arguments with the flow (counted
/// references, not a copy per step), and the proto's pattern is one string for all of them.
#[test]
fn a_glob_plan_shares_definitions_and_arguments() {
    use std::sync::Arc;

    use parade::flow::Flow;
    let flow = Flow::inline();
    let values: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    flow.proto("t::[a]::[b]", |_| Ok(()))
        .choices("a", values.iter().cloned())
        .choices("b", values.iter().cloned())
        .add()
        .unwrap();
    flow.proc("all", |_| Ok(()))
        .deps(["t::*::*"])
        .add()
        .unwrap();
    let plan = flow.plan(["all"]).unwrap();
    assert_eq!(plan.len(), 901);
    let (all, instances) = plan.split_last().unwrap();
    assert_eq!((&*all.defined_as, all.args.len()), ("all", 0));
    let first = &instances[0];
    assert_eq!(&*first.defined_as, "t::[a]::[b]");
    for step in instances {
        assert!(
            Arc::ptr_eq(&step.defined_as, &first.defined_as),
            "one pattern string"
        );
        assert!(
            Arc::strong_count(&step.args) >= 2,
            "{}: arguments copied",
            step.name
        );
        let (a, b) = (&step.args[0].1, &step.args[1].1);
        assert_eq!(step.name, format!("t::{a}::{b}"));
    }
}
