//! Shell as people write it, arguments, shared definitions and bad input, on the real binary:
//! the first failing line stops a task, shell code passes through, values never execute in any
//! quoting context, `--` arguments, the default task, aliases, shared choices, `[env]` and
//! dotenv, retries, `init`, `completions`, `man`, and inputs that once panicked.

mod common;

use common::Project;
use predicates::prelude::*;

#[test]
fn the_first_failing_line_stops_the_task() {
    let p = Project::new(
        "[task.a]\nrun = \"\"\"\necho one > one.txt\nfalse\necho two > two.txt\n\"\"\"\n",
    );
    let doc = p.json_report(&["run", "a"], 1);
    assert_eq!(doc["tasks"]["a"]["state"], "failed");
    assert!(p.path("one.txt").exists());
    assert!(!p.path("two.txt").exists(), "the line after `false` ran");
}

#[test]
fn a_task_may_name_its_own_shell() {
    let p = Project::new(
        "[task.a]\nshell = [\"bash\", \"-e\", \"-o\", \"pipefail\", \"-c\"]\nrun = \"\"\"\nfalse | true\necho no > no.txt\n\"\"\"\n\
         [task.b]\nshell = [\"bash\", \"-c\"]\nrun = \"[[ x == x ]] && echo yes > yes.txt\"\n",
    );
    p.json_report(&["run", "a"], 1);
    assert!(!p.path("no.txt").exists(), "pipefail did not stop the task");
    p.json_report(&["run", "b"], 0);
    assert_eq!(p.read("yes.txt"), "yes\n");
}

#[test]
fn shebang_scripts_run_with_their_interpreter() {
    let p = Project::new(
        "[params]\nwho = \"it's $(me)\"\n\
         [task.sh]\nrun = \"\"\"#!/bin/sh\nprintf '%s' {params.who} > who.txt\n\"\"\"\n\
         [task.awk]\nrun = \"\"\"#!/usr/bin/awk -f\nBEGIN { print \"from awk\" > \"awk.txt\" }\n\"\"\"\n",
    );
    p.json_report(&["run", "sh", "awk"], 0);
    assert_eq!(p.read("who.txt"), "it's $(me)");
    assert_eq!(p.read("awk.txt"), "from awk\n");
    // A field in a script of another language is refused: it would become code.
    let p = Project::new(
        "[params]\nx = \"1\"\n[task.py]\nrun = \"\"\"#!/usr/bin/env python3\nprint({params.x})\n\"\"\"\n",
    );
    p.stderr_says(&["check"], 2, &["only shell scripts get fields filled"]);
}

#[test]
fn shell_code_passes_through_untouched() {
    let p = Project::new(concat!(
        "[task.\"t::[env]\"]\n",
        "run = '''\n",
        "printf '%s\\n' \"${HOME}\" > home.txt\n",
        "printf '%s\\n' \"$(echo sub)\" {a,b} > sub.txt\n",
        "echo 'x y' | awk '{print $2}' > awk.txt\n",
        "touch f1 && find . -name f1 -exec echo found {} \\; > find.txt\n",
        "printf '%s\\n' '{{.State.Running}}' '{{env}}' '{nope}' {env} > braces.txt\n",
        "'''\n",
    ));
    p.json_report(&["run", "t::dev"], 0);
    assert_eq!(
        p.read("home.txt"),
        format!("{}\n", std::env::var("HOME").unwrap())
    );
    assert_eq!(p.read("sub.txt"), "sub\n{a,b}\n");
    assert_eq!(p.read("awk.txt"), "y\n");
    assert_eq!(p.read("find.txt"), "found ./f1\n");
    assert_eq!(
        p.read("braces.txt"),
        "{{.State.Running}}\n{env}\n{nope}\ndev\n"
    );
}

#[test]
fn check_warns_about_a_misspelt_field() {
    let p = Project::new("[task.\"b::[env]\"]\nrun = \"echo {evn}\"\n");
    p.stderr_says(
        &["check"],
        0,
        &[
            "`{evn}` is not a field",
            "did you mean `{env}`?",
            "parade.toml:2:",
        ],
    );
}

#[test]
fn check_warns_about_misspelt_fields_in_env_and_cwd() {
    let p = Project::new(concat!(
        "[params]\nregion = \"eu\"\n",
        "[env]\nSHARED = \"{regoin}\"\n",
        "[task.\"b::[env]\"]\nchoices = { env = [\"dev\"] }\n",
        "env = { TARGET = \"out/{evn}\", HOME_DIR = \"${HOME}\" }\n",
        "cwd = \"work/{enb}\"\n",
        "run = \"echo {env}\"\n",
    ));
    std::fs::create_dir_all(p.path("work/{enb}")).unwrap();
    let err = p.stderr(&["check"], 0);
    for (token, line, col, best) in [
        ("{regoin}", 4, 11, "{params.region}"),
        ("{evn}", 7, 23, "{env}"),
        ("{enb}", 8, 13, "{env}"),
    ] {
        let warning = format!(
            "warning: parade.toml:{line}:{col}: `{token}` is not a field of this task and is \
             left as written; did you mean `{best}`?"
        );
        assert!(err.contains(&warning), "missing {warning:?} in\n{err}");
    }
    // `${HOME}` is the environment's, never a misspelt field.
    assert!(!err.contains("{HOME}"), "{err}");
    // Left as written when run, as `check` says.
    p.parade(&["run", "b::dev"]).assert().success();
}

#[test]
fn an_unknown_param_in_env_or_cwd_is_an_error() {
    for (key, value) in [
        ("env", "{ X = \"{params.regoin}\" }"),
        ("cwd", "\"{params.regoin}\""),
    ] {
        let p = Project::new(&format!(
            "[params]\nregion = \"eu\"\n[task.a]\n{key} = {value}\nrun = \"true\"\n"
        ));
        p.stderr_says(
            &["check"],
            2,
            &[
                "`{params.regoin}` is neither a placeholder of this task nor a param",
                "did you mean `params.region`?",
                "parade.toml:4:",
            ],
        );
    }
}

/// Values that would run `touch PWNED` if they ever became shell text.
const NASTY: [&str; 6] = [
    "$(touch PWNED)",
    "`touch PWNED`",
    "'; touch PWNED; '",
    "\"; touch PWNED; \"",
    "a\nEOF\ntouch PWNED\n",
    "\\\"$(touch PWNED)\\",
];

/// A task `t` whose script writes `{params.msg}` from each quoting context: bare (`1.txt`), in
/// double quotes (`2.txt`), in single quotes (`3.txt`), in a heredoc (`4.txt`, with its
/// newline) and through the environment (`5.txt`); then the lines `more` of the script.
fn quoting_contexts(more: &str) -> String {
    let head = concat!(
        "[params]\nmsg = \"\"\n",
        "[task.t]\n",
        "env = { V = \"{params.msg}\" }\n",
        "run = '''\n",
        "printf '%s' {params.msg} > 1.txt\n",
        "printf '%s' \"{params.msg}\" > 2.txt\n",
        "printf '%s' '{params.msg}' > 3.txt\n",
        "cat > 4.txt <<EOF\n",
        "{params.msg}\n",
        "EOF\n",
        "printf '%s' \"$V\" > 5.txt\n",
    );
    format!("{head}{more}'''\n")
}

/// Runs task `t` of [`quoting_contexts`] with `msg` set to `value`, and returns, for each
/// context, its name, its file's text and what the file should hold.
fn through_every_context(p: &Project, value: &str) -> Vec<(&'static str, String, String)> {
    p.json_report(&["run", "t", "--param", &format!("msg={value}")], 0);
    let contexts = [
        ("bare", 1),
        ("double quotes", 2),
        ("single quotes", 3),
        ("environment", 5),
    ];
    let mut got: Vec<_> = contexts
        .iter()
        .map(|&(name, n)| (name, p.read(&format!("{n}.txt")), value.to_owned()))
        .collect();
    got.push(("heredoc", p.read("4.txt"), format!("{value}\n")));
    got
}

#[test]
fn no_value_executes_in_any_quoting_context() {
    let toml = quoting_contexts("printf '%s' \"$(printf '%s' '{params.msg}')\" > 6.txt\n")
        + "[task.\"free::[x]\"]\nrun = 'printf \"%s\" \"{x}\" > free.txt'\n";
    for value in NASTY {
        let p = Project::new(&toml);
        for (context, got, want) in through_every_context(&p, value) {
            assert_eq!(got, want, "{context}");
        }
        // `$(...)` drops trailing newlines, as it does for any output.
        assert_eq!(p.read("6.txt"), value.trim_end_matches('\n'), "in $(...)");
        if !value.contains('\n') {
            p.json_report(&["run", &format!("free::{value}")], 0);
            assert_eq!(p.read("free.txt"), value);
        }
        assert!(!p.path("PWNED").exists(), "{value:?} executed");
    }
}

#[test]
fn values_cannot_take_a_path_out_of_the_project() {
    let p = Project::new(
        "[task.\"c::[dir]\"]\ncwd = \"{dir}\"\nrun = \"pwd\"\n\
         [task.\"j::[dir]\"]\ntemplate = \"tpl\"\njob_dir = \"jobs/{dir}\"\n",
    );
    p.write("tpl/run", "#!/bin/sh\necho '{}' > result.json\n");
    let doc = p.json_report(&["run", "c::..", "j::..", "--fail-fast"], 1);
    for task in ["c::..", "j::.."] {
        assert_eq!(doc["tasks"][task]["state"], "failed", "{doc}");
        let reason = doc["tasks"][task]["reason"].as_str().unwrap();
        assert!(reason.contains("out of its directory"), "{reason}");
    }
    assert!(!p.dir.path().parent().unwrap().join("result.json").exists());
}

#[test]
fn a_nul_in_a_value_is_a_clear_error() {
    let p = Project::new("[params]\nv = \"a\\u0000b\"\n[task.t]\nrun = \"echo {params.v}\"\n");
    p.task_fails_saying(&["run", "t"], "t", "NUL");
}

#[test]
fn arguments_after_dashes_reach_the_one_target() {
    let p = Project::new(
        "[task.dep]\nrun = 'echo \"$#\" > dep.txt'\n\
         [task.t]\ndeps = [\"dep\"]\nrun = 'printf \"[%s]\" \"$@\" > args.txt'\n",
    );
    p.parade(&[
        "run",
        "t",
        "--output",
        "plain",
        "--",
        "a",
        "b c",
        "$(touch PWNED)",
    ])
    .assert()
    .success();
    assert_eq!(p.read("args.txt"), "[a][b c][$(touch PWNED)]");
    assert_eq!(p.read("dep.txt"), "0\n");
    assert!(!p.path("PWNED").exists());
    p.stderr_says(
        &["run", "t", "dep", "--", "x"],
        2,
        &["arguments after `--` go to one task"],
    );
}

#[test]
fn the_default_task_and_aliases() {
    let p = Project::new(
        "[settings]\ndefault = \"b\"\n\
         [task.build]\naliases = [\"b\"]\nrun = \"echo built > built.txt\"\n\
         [task.test]\naliases = [\"t\"]\nrun = \"echo tested > tested.txt\"\n",
    );
    p.json_report(&["run"], 0);
    assert!(p.path("built.txt").exists());
    let doc = p.json_report(&["run", "t"], 0);
    assert_eq!(doc["tasks"]["test"]["state"], "succeeded");
    let p = Project::new("[task.build]\nrun = \"true\"\n[task.test]\nrun = \"true\"\n");
    p.stderr_says(
        &["run"],
        2,
        &["no task named and no `default`", "build, test"],
    );
    let p = Project::new(
        "[task.a]\naliases = [\"x\"]\nrun = \"true\"\n[task.b]\naliases = [\"x\"]\nrun = \"true\"\n",
    );
    p.stderr_says(&["check"], 2, &["`x` is already an alias of \"a\""]);
}

#[test]
fn a_misspelt_alias_is_suggested() {
    let p = Project::new("[task.\"deploy::[env]\"]\naliases = [\"ship\"]\nrun = \"true\"\n");
    p.stderr_says(
        &["run", "shp"],
        2,
        &[r#"no task named "shp"; did you mean "ship"?"#],
    );
}

#[test]
fn shared_choices_serve_every_placeholder_without_its_own() {
    let p = Project::new(
        "[choices]\nsample = [\"A\", \"B\", \"C\"]\n\
         [task.\"count::[sample]\"]\nrun = \"echo {sample} > count-{sample}.txt\"\n\
         [task.\"trim::[sample]\"]\nchoices = { sample = [\"A\"] }\nrun = \"true\"\n\
         [task.gather]\ndeps = [\"count::*\"]\nrun = 'printf \"%s,\" $PARADE_INSTANCES > all.txt'\n",
    );
    let doc = p.json_report(&["run", "gather"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 4, "{doc}");
    assert_eq!(p.read("all.txt"), "count::A,count::B,count::C,");
    p.parade(&["run", "trim::B"]).assert().code(2);
}

#[test]
fn env_uses_the_environment_and_dotenv() {
    let p = Project::new(
        "[settings]\ndotenv = \".env\"\n\
         [env]\nPATH = \"bin:${PATH}\"\nGREETING = \"hi ${NAME}\"\n\
         [task.t]\nenv = { WHO = \"$GREETING and {params.p}\" }\nrun = 'printf \"%s|%s|%s\" \"$WHO\" \"$FROM_DOTENV\" \"$(mytool)\" > out.txt'\n\
         [params]\np = \"$(touch PWNED)\"\n",
    );
    p.write(".env", "FROM_DOTENV=dot\nNAME=you\n");
    std::fs::create_dir(p.path("bin")).unwrap();
    let tool = p.path("bin/mytool");
    std::fs::write(&tool, "#!/bin/sh\necho tool\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.json_report(&["run", "t"], 0);
    assert_eq!(p.read("out.txt"), "hi you and $(touch PWNED)|dot|tool");
    assert!(!p.path("PWNED").exists());
    // No dotenv file: nothing to read, not an error.
    std::fs::remove_file(p.path(".env")).unwrap();
    p.json_report(&["run", "t"], 0);
}

#[test]
fn a_program_that_cannot_start_is_named() {
    let p = Project::new("[task.t]\nshell = [\"no-such-shell-xyz\", \"-c\"]\nrun = \"true\"\n");
    p.task_fails_saying(&["run", "t"], "t", "no-such-shell-xyz");
}

#[test]
fn params_may_come_from_a_command() {
    let p = Project::new(
        "[params]\nrev = { run = \"echo abc123\" }\n[task.t]\nrun = \"echo {params.rev} > rev.txt\"\n",
    );
    p.json_report(&["run", "t"], 0);
    assert_eq!(p.read("rev.txt"), "abc123\n");
    p.json_report(&["run", "t", "--param", "rev=given"], 0);
    assert_eq!(p.read("rev.txt"), "given\n");
}

#[test]
fn retries_run_a_failed_task_again_and_keep_every_attempt() {
    let p = Project::new(
        "[task.flaky]\nretries = 2\nrun = '''\necho attempt >> tries.txt\necho \"try $(wc -l < tries.txt)\"\ntest $(wc -l < tries.txt) -ge 2\n'''\n\
         [task.broken]\nretries = 2\nrun = 'echo failing; exit 3'\n",
    );
    let doc = p.json_report(&["run", "flaky"], 0);
    assert_eq!(doc["tasks"]["flaky"]["state"], "succeeded");
    assert_eq!(p.read("tries.txt").lines().count(), 2);
    let log = p.read(".parade/logs/latest/flaky.log");
    assert!(
        log.contains("try 1") && log.contains("try 2") && log.contains("attempt 2 of 3"),
        "{log}"
    );
    p.task_fails_saying(&["run", "broken"], "broken", "after 3 attempts");
    let log = p.read(".parade/logs/latest/broken.log");
    assert_eq!(log.matches("failing").count(), 3, "{log}");
    // `[settings] retries` is every task's unless it sets its own.
    let p = Project::new(
        "[settings]\nretries = 1\n[task.a]\nrun = 'echo x >> a.txt; false'\n\
         [task.b]\nretries = 0\nrun = 'echo x >> b.txt; false'\n",
    );
    p.json_report(&["run", "a", "b"], 1);
    assert_eq!(p.read("a.txt").lines().count(), 2);
    assert_eq!(p.read("b.txt").lines().count(), 1);
}

#[test]
fn init_writes_a_starter_that_runs_and_never_overwrites() {
    let p = Project::empty();
    p.parade(&["init"]).assert().success();
    let text = p.read("parade.toml");
    assert!(text.starts_with("# parade.toml"));
    p.parade(&["run", "--output", "plain"]).assert().success();
    p.parade(&["run", "deploy::*", "--output", "plain"])
        .assert()
        .success();
    p.stderr_says(&["init"], 2, &["exists; not writing over it"]);
    assert_eq!(p.read("parade.toml"), text);
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef parade"),
        ("fish", "complete -c parade"),
    ] {
        common::parade(&["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
    common::parade(&["man"])
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH parade").and(predicate::str::contains("run")));
}

#[test]
fn bad_input_never_panics() {
    let long = "x".repeat(70_000);
    let p = Project::new(&format!("[task.{long}]\nrun = \"true\"\n"));
    for args in [&["list"][..], &["run", "--dry-run", &long], &["check"]] {
        let err = p.stderr_says(args, 2, &["names are at most 1024 bytes"]);
        assert!(!err.contains("panicked"), "{err}");
    }
    let p = Project::new(&format!(
        "[task.\"t::[x]\"]\nchoices = {{ x = [\"{long}\"] }}\nrun = \"true\"\n"
    ));
    p.stderr_says(&["list", "--expand"], 2, &["names are at most 1024 bytes"]);
    let p = Project::new("[task.\"t::[x]\"]\nrun = \"true\"\n");
    p.stderr_says(
        &["graph", &format!("t::{long}")],
        2,
        &["names are at most 1024 bytes"],
    );
    p.stderr_says(
        &["run", "--dry-run", &format!("t::{long}")],
        2,
        &["names are at most 1024 bytes"],
    );
    let err = p.stderr_says(&["run", "t::a", "-j", "4294967295"], 2, &["4294967295"]);
    assert!(!err.contains("panicked"), "{err}");
    p.parade(&["-f", "/dev/zero", "list"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));
    let big = p.path("big.toml");
    // Sparse: a file past the limit costs no disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(parade_cli::taskfile::MAX_FILE_SIZE + 1)
        .unwrap();
    p.stderr_says(
        &["-f", big.to_str().unwrap(), "list"],
        2,
        &["larger than 256 MiB"],
    );
}

#[test]
fn includes_compose_files_and_point_into_them() {
    let p = Project::new(
        "include = [\"ci/ci.toml\"]\n[params]\nwho = \"main\"\n\
         [task.all]\ndeps = [\"lint::*\"]\nrun = 'echo {params.who} > all.txt'\n",
    );
    std::fs::create_dir(p.path("ci")).unwrap();
    std::fs::write(
        p.path("ci/ci.toml"),
        "[choices]\nlang = [\"rs\", \"py\"]\n[params]\nwho = \"ci\"\nlevel = \"3\"\n\
         [task.\"lint::[lang]\"]\nrun = 'echo {lang}{params.level} > lint-{lang}.txt'\n",
    )
    .unwrap();
    let doc = p.json_report(&["run", "all"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 3, "{doc}");
    assert_eq!(p.read("all.txt"), "main\n");
    assert_eq!(p.read("lint-py.txt"), "py3\n");
    // A problem in the included file points into it.
    std::fs::write(
        p.path("ci/ci.toml"),
        "[task.x]\nrun = \"true\"\ndeps = [\"nope\"]\n",
    )
    .unwrap();
    p.stderr_says(&["check"], 2, &["ci/ci.toml:3:", "unknown task \"nope\""]);
    p.write("ci/ci.toml", "[task.all]\nrun = \"true\"\n");
    p.stderr_says(&["check"], 2, &["task \"all\" is defined already"]);
    std::fs::remove_file(p.path("ci/ci.toml")).unwrap();
    p.stderr_says(&["check"], 2, &["cannot read \"ci/ci.toml\""]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Random values through the real binary, in every context of one task: what each command
    /// received equals the value, and nothing ran.
    #[test]
    fn random_values_reach_every_context_intact(
        value in "([a-z ]|'|\"|\\$|\\(|\\)|`|\n|\\\\|EOF|;|\\{|\\}|touch PWNED){1,10}",
    ) {
        let p = Project::new(&quoting_contexts(""));
        for (context, got, want) in through_every_context(&p, &value) {
            proptest::prop_assert_eq!(got, want, "{}", context);
        }
        proptest::prop_assert!(!p.path("PWNED").exists());
    }
}
