//! Counted resources through the real binary: `[settings] resources = { gpu = 2 }` and per
//! task `uses = { gpu = 1 }` are never exceeded (each task records when it started and ended;
//! the overlap is computed from the records), and the task-file mistakes are reported with
//! their line and column.

mod common;

use common::Project;

/// The most records of `dir` whose intervals overlap at one time, each weighted by the amount
/// it used (records are `amount start end`, in nanoseconds).
fn most_in_use(dir: &std::path::Path) -> (u64, usize) {
    let mut edges: Vec<(u128, i64)> = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "a whole record: {text:?}");
        let amount: i64 = fields[0].parse().unwrap();
        let (start, end): (u128, u128) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        assert!(start <= end);
        // Ends sort before starts at the same instant: touching is not overlapping.
        edges.push((start * 2 + 1, amount));
        edges.push((end * 2, -amount));
        count += 1;
    }
    edges.sort_unstable();
    let (mut now, mut most) = (0_i64, 0_i64);
    for (_, delta) in edges {
        now += delta;
        most = most.max(now);
    }
    (u64::try_from(most).unwrap(), count)
}

const RECORD: &str = r#"s=$(date +%s%N); sleep 0.05; e=$(date +%s%N); mkdir -p times; echo "{amount} $s $e" > times/{i}-{amount}"#;

#[test]
fn counted_resources_are_never_exceeded() {
    let p = Project::new(&format!(
        r#"
[settings]
resources = {{ gpu = 2 }}

[task."one::[i]"]
choices = {{ i = [1, 2, 3, 4, 5, 6, 7, 8] }}
uses = {{ gpu = 1 }}
run = '{one}'

[task."two::[i]"]
choices = {{ i = [1, 2, 3] }}
uses = {{ gpu = 2 }}
run = '{two}'

[task.all]
deps = ["one::*", "two::*"]
run = "true"
"#,
        one = RECORD.replace("{amount}", "1"),
        two = RECORD.replace("{amount}", "2"),
    ));
    p.parade(&["run", "all", "-j", "8"]).assert().success();
    let (most, count) = most_in_use(&p.path("times"));
    assert_eq!(count, 11, "every task ran");
    assert!(most <= 2, "{most} units of gpu in use at once (capacity 2)");
}

#[test]
fn resource_mistakes_name_their_place() {
    let p = Project::new(
        "[settings]\nresources = { gpu = 2, disk = 0 }\n\n[task.a]\nrun = \"true\"\nuses = { gpx = 1 }\n\n[task.b]\nrun = \"true\"\nuses = { gpu = 3 }\n",
    );
    let out = p.parade(&["check"]).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    for part in [
        "the capacity of `disk` must be a whole number, at least 1",
        "[parade.toml:2:31]",
        "unknown resource `gpx`",
        "[parade.toml:6:10]",
        "did you mean `gpu`?",
        "uses 3 of `gpu`, whose capacity is 2: it could never run",
        "[parade.toml:10:16]",
    ] {
        assert!(err.contains(part), "missing {part:?} in\n{err}");
    }
}
