//! The live display in a real pseudo-terminal: `parade run` chooses it by itself on a
//! terminal, and once the run ends the screen holds one line per task, in its final state,
//! and no running-task region.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::Project;

/// Applies what a terminal would do with `bytes` (text, CR, LF and the few CSI sequences the
/// live display writes: cursor up, column, clear down, clear line, colours, cursor shape) and
/// returns the lines on the screen.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    continue;
                }
                chars.next();
                let mut arg = String::new();
                let mut cmd = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        cmd = c;
                        break;
                    }
                    arg.push(c);
                }
                let n: usize = arg.trim_start_matches('?').parse().unwrap_or(1);
                match cmd {
                    'A' => row = row.saturating_sub(n),
                    'G' => col = n.saturating_sub(1),
                    'J' => {
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    'K' => lines[row].truncate(col),
                    _ => {} // colours, cursor shape
                }
            }
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_final_screen_shows_one_line_per_task_in_its_final_state() {
    let p = Project::new(
        r#"
[task."ok::[n]"]
choices = { n = ["1", "2", "3"] }
run = "echo working {n}; sleep 0.2"

[task.broken]
deps = ["ok::1"]
run = "echo 'error: it broke'; exit 4"

[task.never]
deps = ["broken", "ok::*"]
run = "true"
"#,
    );
    let pty = common::pty::terminal(120, 40);
    let mut cmd = p.spawn_parade(&["run", "never"]);
    cmd.env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the only other holder of the terminal's slave side
    let mut master = std::fs::File::from(pty.master);
    let mut bytes = Vec::new();
    // Reading ends with an error (EIO) once the child and every copy of the slave are gone.
    let _ = master.read_to_end(&mut bytes);
    let status = child.wait().unwrap();
    // The live display hides the cursor while it redraws: it was chosen on its own.
    assert!(String::from_utf8_lossy(&bytes).contains("\x1b[?25l"));
    let screen = screen(&bytes);
    let shown = screen.join("\n");
    assert_eq!(status.code(), Some(1), "{shown}");
    let final_line = |name: &str| {
        screen
            .iter()
            .filter(|l| l.split_whitespace().nth(1) == Some(name))
            .cloned()
            .collect::<Vec<_>>()
    };
    for (name, mark) in [
        ("ok::1", "✓"),
        ("ok::2", "✓"),
        ("ok::3", "✓"),
        ("broken", "✗"),
        ("never", "🚫"),
    ] {
        let lines = final_line(name);
        assert_eq!(lines.len(), 1, "{name}: {lines:?}\n{shown}");
        assert!(lines[0].starts_with(mark), "{name}: {}\n{shown}", lines[0]);
    }
    assert!(shown.contains("error: it broke"), "{shown}");
    assert!(
        shown.contains("1 dep-failed, 1 failed, 3 succeeded"),
        "{shown}"
    );
}

/// `parade ARGS` in a pseudo-terminal of `cols`×`rows` with `env`: its exit code and every byte
/// it wrote.
fn in_pty(p: &Project, args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> (i32, String) {
    let pty = common::pty::terminal(cols, rows);
    let mut cmd = p.spawn_parade(args);
    cmd.env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let mut bytes = Vec::new();
    let _ = master.read_to_end(&mut bytes);
    let status = child.wait().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

const SLOW: &str = r#"
[task.slow]
run = "echo step one; sleep 1.5; echo step two"

[task.quick]
run = "echo quick done"
"#;

#[test]
fn running_tasks_show_their_last_line_and_a_success_its_output() {
    let p = Project::new(SLOW);
    let (code, bytes) = in_pty(&p, &["run", "slow", "quick"], 100, 30, &[]);
    assert_eq!(code, 0, "{bytes}");
    // A region row: `⠋ slow   1.2s  step one`.
    let row = bytes.split(['\n', '\r']).any(|seg| {
        seg.split_once("slow ").is_some_and(|(_, rest)| {
            let rest = rest.trim_start();
            let secs = rest.split_once("s  ");
            secs.is_some_and(|(t, last)| t.parse::<f64>().is_ok() && last.starts_with("step one"))
        })
    });
    assert!(row, "no region row with the last line:\n{bytes:?}");
    let screen = screen(bytes.as_bytes());
    let at = screen.iter().position(|l| l.starts_with("✓ slow")).unwrap();
    assert_eq!(
        screen[at + 1..at + 3],
        ["  step one", "  step two"],
        "{screen:#?}"
    );
}

#[test]
fn a_terminal_of_zero_size_gets_plain_lines() {
    let p = Project::new(SLOW);
    let (code, bytes) = in_pty(&p, &["run", "slow", "quick", "--color", "never"], 0, 0, &[]);
    assert_eq!(code, 0, "{bytes}");
    assert!(
        !bytes.contains("\x1b[?25l"),
        "the live display ran: {bytes:?}"
    );
    assert!(bytes.contains("slow  | step two"), "{bytes:?}");
    // Asked for by name, it falls back too.
    let args = [
        "run", "slow", "quick", "--output", "live", "--color", "never",
    ];
    let (_, bytes) = in_pty(&p, &args, 0, 0, &[]);
    assert!(!bytes.contains("\x1b[?25l"), "{bytes:?}");
    assert!(bytes.contains("quick | quick done"), "{bytes:?}");
}

#[test]
fn a_dumb_terminal_gets_no_colours() {
    let p = Project::new(SLOW);
    let (_, coloured) = in_pty(&p, &["run", "quick", "slow"], 100, 30, &[]);
    assert!(coloured.contains("\x1b[1;32m✓"), "{coloured:?}");
    let (_, dumb) = in_pty(&p, &["run", "quick", "slow"], 100, 30, &[("TERM", "dumb")]);
    assert!(!dumb.contains("\x1b[1;32m"), "{dumb:?}");
    let (_, no) = in_pty(&p, &["run", "quick", "slow"], 100, 30, &[("NO_COLOR", "1")]);
    assert!(!no.contains("\x1b[1;32m"), "{no:?}");
}

#[test]
fn a_single_task_on_a_terminal_sees_a_terminal_of_its_size() {
    let p = Project::new(
        "[task.tty]\nrun = \"if [ -t 1 ] && [ -t 2 ]; then echo on a terminal; else echo not a terminal; fi; stty size <&1 || true; echo to stderr >&2\"\n",
    );
    let (code, bytes) = in_pty(&p, &["run", "tty", "--color", "never"], 100, 30, &[]);
    assert_eq!(code, 0, "{bytes}");
    let screen = screen(bytes.as_bytes());
    assert_eq!(
        screen[..3],
        ["on a terminal", "30 100", "to stderr"],
        "{screen:#?}"
    );
    let log = p.read(".parade/logs/latest/tty.log");
    assert_eq!(log, "on a terminal\n30 100\nto stderr\n");
    // Off a terminal, the same task gets a pipe.
    let out = p
        .parade(&["run", "tty"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("not a terminal\n")
    );
}

#[test]
fn chatty_tasks_never_mix_within_a_line_on_the_live_display() {
    let p = Project::new(
        r#"
[task."spam::[c]"]
choices = { c = ["a", "b", "c"] }
run = "i=0; while [ $i -lt 200 ]; do printf '%0300d\n' 0 | tr 0 {c}; i=$((i+1)); done"
"#,
    );
    let (code, bytes) = in_pty(&p, &["run", "spam::*", "-j", "3"], 120, 40, &[]);
    assert_eq!(code, 0);
    assert!(bytes.contains("\x1b[?25l"), "the live display did not run");
    let screen = screen(bytes.as_bytes());
    let mut long = 0;
    for line in &screen {
        let body = line.trim_start();
        if body.len() >= 100 {
            long += 1;
            let first = body.chars().next().unwrap();
            assert!(body.chars().all(|c| c == first), "mixed line: {line}");
        }
    }
    assert!(
        long >= 3 * 50,
        "each success shows its last lines: {screen:#?}"
    );
}
