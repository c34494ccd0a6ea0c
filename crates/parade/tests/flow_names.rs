//! The `flow` face: names, patterns, arguments, choices and globs.
//! Inline and thread mode; the cases are in `flow_common/names.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/names.rs"]
mod names;

/// A glob's plan shares each instance's definition and arguments with the flow (counted
/// references, not a copy per step), the proto's pattern is one string for all of them, and
/// the instances' argument values are the glob's choices, not strings of their own.
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
        let (a, b) = (step.args.get("a").unwrap(), step.args.get("b").unwrap());
        assert_eq!(*step.name, format!("t::{a}::{b}"));
        assert_eq!(step.args.iter().collect::<Vec<_>>(), [("a", a), ("b", b)]);
        // Instances are in order, `a` slowest: each reads the very strings of the instances
        // with its `a` and `b` that came first (the glob's choices, not copies).
        let (ai, bi): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
        let same_a = instances[ai * 30].args.get("a").unwrap();
        let same_b = instances[bi].args.get("b").unwrap();
        assert!(std::ptr::eq(a, same_a), "{}: arguments copied", step.name);
        assert!(std::ptr::eq(b, same_b), "{}: arguments copied", step.name);
    }
    // Found by name, and named for observers (the glob's names are given to them at once).
    for name in ["t::0::0", "t::29::0", "t::29::29"] {
        let id = flow.id(name).unwrap();
        assert_eq!(flow.name_of(id).as_deref(), Some(name));
        let names = flow.names();
        assert_eq!(
            parade::display::TaskNames::name(&names, id).as_deref(),
            Some(name)
        );
    }
    assert_eq!(flow.id("t::30::0"), None);
}
