//! `docs/taskfile.md` is complete: every key the task file reads (top level, `[settings]`,
//! `[task."NAME"]`) and every flag and command of the command line appears in it. The keys are
//! the ones serde accepts (what it lists for an unknown key), the flags clap's: a key or flag
//! added without its documentation fails here.

use clap::CommandFactory;
use parade_cli::cli::Cli;
use parade_cli::taskfile::RawFile;

fn docs() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/taskfile.md");
    std::fs::read_to_string(path).unwrap()
}

/// The keys serde accepts where `probe` puts an unknown key `zzz_unknown`.
fn keys(probe: &str) -> Vec<String> {
    let e = toml::from_str::<RawFile>(probe).unwrap_err();
    let message = e.message();
    let (_, expected) = message
        .split_once("expected one of")
        .unwrap_or_else(|| panic!("no key list in {message:?}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_key_is_documented() {
    let docs = docs();
    let mut missing = Vec::new();
    let probes = [
        ("top level", "zzz_unknown = 1\n", 4),
        ("[settings]", "[settings]\nzzz_unknown = 1\n", 10),
        ("[task]", "[task.a]\nrun = \"x\"\nzzz_unknown = 1\n", 20),
    ];
    for (table, probe, at_least) in probes {
        let keys = keys(probe);
        assert!(keys.len() >= at_least, "{table}: {keys:?}");
        for key in keys {
            let as_doc = [
                format!("`{key}`"),
                format!("[{key}]"),
                format!("[{key}."),
                format!("{key} ="),
            ];
            if !as_doc.iter().any(|d| docs.contains(d.as_str())) {
                missing.push(format!("{table} {key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys not in docs/taskfile.md: {missing:?}"
    );
}

#[test]
fn every_command_and_flag_is_documented() {
    let docs = docs();
    let mut missing = Vec::new();
    let mut stack = vec![(String::from("parade"), Cli::command())];
    while let Some((path, cmd)) = stack.pop() {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long()
                && !["help", "version"].contains(&long)
                && !docs.contains(&format!("--{long}"))
            {
                missing.push(format!("{path} --{long}"));
            }
            if let Some(short) = arg.get_short()
                && !['h', 'V'].contains(&short)
                && !docs.contains(&format!("-{short}"))
            {
                missing.push(format!("{path} -{short}"));
            }
        }
        for sub in cmd.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_name() != "help" && !docs.contains(&name) {
                missing.push(name.clone());
            }
            stack.push((name, sub.clone()));
        }
    }
    assert!(missing.is_empty(), "not in docs/taskfile.md: {missing:?}");
}
