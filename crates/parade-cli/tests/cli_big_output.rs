//! Output that is large: a line of 50 MB without a newline reaches the log whole (read in
//! time linear in its bytes: each byte is looked at once, not once per read).

mod common;

use common::Project;

#[test]
fn a_50_mb_line_without_a_newline_is_whole_in_the_log() {
    let n = 50_000_000;
    let p = Project::new(&format!(
        "[task.long_line]\nrun = \"head -c {n} /dev/zero | tr '\\\\0' x\"\n"
    ));
    let out = p
        .parade(&["run", "long_line", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read(p.path(".parade/logs/latest/long_line.log")).unwrap();
    assert_eq!(log.len(), n + 1, "the log holds the line and its newline");
    assert!(log[..n].iter().all(|&b| b == b'x'));
    assert_eq!(log[n], b'\n');
}
