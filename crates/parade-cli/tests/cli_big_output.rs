//! Output that is large: a line of 50 MB without a newline reaches the log whole (read in
//! time linear in its bytes: each byte is looked at once, not once per read), and what a task
//! prints is not held: parade's peak memory stays under a bound in every output mode.

mod common;

use common::Project;

#[test]
fn a_50_mb_line_without_a_newline_is_whole_in_the_log() {
    let n = 50_000_000;
    let p = Project::new(&format!(
        "[task.long_line]\nrun = \"head -c {n} /dev/zero | tr '\\\\0' x\"\n"
    ));
    common::succeeded(
        "",
        p.parade(&["run", "long_line", "--output", "json"])
            .output()
            .unwrap(),
    );
    let log = std::fs::read(p.path(".parade/logs/latest/long_line.log")).unwrap();
    assert_eq!(log.len(), n + 1, "the log holds the line and its newline");
    assert!(log[..n].iter().all(|&b| b == b'x'));
    assert_eq!(log[n], b'\n');
}

/// Where parade's peak memory is bounded whatever its tasks print.
const RSS_BOUND_KB: u64 = 64 * 1024;

/// What the task prints, in whole 100-byte lines: more than twice the bound, so a mode that
/// held a task's output would pass it.
const PRINTED: usize = 1_400_000 * 100;

#[test]
fn memory_does_not_grow_with_what_a_task_prints_in_any_output_mode() {
    // 100-byte lines; at the end the task reads its parent's (parade's) peak memory from
    // /proc, while parade is still running (nothing after it is printed).
    let line = "x".repeat(99);
    let p = Project::new(&format!(
        "[task.big]\nrun = \"yes {line} | head -c {PRINTED}; \
         grep VmHWM /proc/$PPID/status > hwm.txt\"\n"
    ));
    for mode in ["prefixed", "grouped", "live", "plain", "json"] {
        let _ = std::fs::remove_file(p.path("hwm.txt"));
        common::succeeded(
            &format!("{mode}: "),
            p.spawn_parade(&["run", "big", "--output", mode])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .output()
                .unwrap(),
        );
        let hwm = std::fs::read_to_string(p.path("hwm.txt")).unwrap();
        let kb: u64 = hwm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{mode}: no peak in {hwm:?}"));
        assert!(
            kb <= RSS_BOUND_KB,
            "{mode}: parade peaked at {kb} KB for {PRINTED} bytes printed"
        );
        let log = std::fs::metadata(p.path(".parade/logs/latest/big.log")).unwrap();
        assert_eq!(
            log.len(),
            PRINTED as u64,
            "{mode}: the log holds everything printed"
        );
    }
}
