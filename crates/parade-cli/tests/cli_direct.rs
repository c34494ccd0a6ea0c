//! Plain simple commands run without the shell (as GNU make runs them), on the real binary:
//! each task prints, and exits, exactly as under `sh -e -c` (`PARADE_FORCE_SHELL=1`), a
//! program not found exits 127, and `PWD` is what `sh` would have exported.

mod common;

use common::Project;

const TASKS: &str = "[task.env]\nrun = \"printenv PARADE_TASK PARADE_PARAM_WHO\"\n\
    [task.list]\nrun = \"ls -a sub\"\n\
    [task.base]\nrun = \"basename /x/y.txt .txt\"\n\
    [task.missing-file]\nrun = \"ls no-such-file\"\n\
    [task.missing-program]\nrun = \"no-such-program-anywhere arg\"\n\
    [task.pwd]\ncwd = \"sub\"\nrun = \"printenv PWD\"\n\
    [task.yes]\nrun = \"true\"\n\
    [task.no]\nrun = \"false\"\n\
    [task.tabs]\nrun = \"expr\t1\t+  2\"\n\
    [params]\nwho = \"it's $(me)\"\n";

const NAMES: [&str; 9] = [
    "env",
    "list",
    "base",
    "missing-file",
    "missing-program",
    "pwd",
    "yes",
    "no",
    "tabs",
];

/// Each task's (state, reason, log) from one run of them all, the shell forced or not.
fn outcomes(p: &Project, forced: bool) -> Vec<(String, String, String)> {
    let mut args = vec!["run"];
    args.extend(NAMES);
    args.extend(["--output", "json"]);
    let mut cmd = p.parade(&args);
    if forced {
        cmd.env("PARADE_FORCE_SHELL", "1");
    } else {
        cmd.env_remove("PARADE_FORCE_SHELL");
    }
    let out = cmd.assert().code(1).get_output().stdout.clone();
    let report = common::json(&out);
    NAMES
        .iter()
        .map(|name| {
            let task = &report["tasks"][name];
            // A task that printed nothing has no log.
            let log = std::fs::read_to_string(p.path(&format!(".parade/logs/latest/{name}.log")))
                .unwrap_or_default();
            (
                task["state"].as_str().unwrap_or("").to_owned(),
                task["reason"].as_str().unwrap_or("").to_owned(),
                log,
            )
        })
        .collect()
}

#[test]
fn simple_commands_print_and_exit_as_under_the_shell() {
    let p = Project::new(TASKS);
    p.write("sub/f.txt", "x");
    let direct = outcomes(&p, false);
    let shelled = outcomes(&p, true);
    for ((name, d), s) in NAMES.iter().zip(&direct).zip(&shelled) {
        if *name == "missing-program" {
            // The shell's own message; the status is the shell's either way.
            assert_eq!((d.0.as_str(), d.1.as_str()), ("failed", "exit status 127"));
            assert_eq!((s.0.as_str(), s.1.as_str()), ("failed", "exit status 127"));
            assert!(d.2.contains("not found"), "{}", d.2);
            continue;
        }
        assert_eq!(d, s, "{name}");
    }
    let by_name = |n: &str| &direct[NAMES.iter().position(|x| *x == n).unwrap()];
    assert_eq!(by_name("env").2, "env\nit's $(me)\n");
    assert_eq!(by_name("list").2, ".\n..\nf.txt\n");
    assert_eq!(by_name("base").2, "y\n");
    assert_eq!(by_name("tabs").2, "3\n");
    assert_eq!(by_name("yes").0, "succeeded");
    assert_eq!(by_name("no").1, "exit status 1");
    assert_eq!(by_name("missing-file").1, "exit status 2");
    let sub = std::fs::canonicalize(p.path("sub")).unwrap();
    assert_eq!(by_name("pwd").2, format!("{}\n", sub.display()));
}
