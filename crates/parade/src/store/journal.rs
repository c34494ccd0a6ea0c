//! A run's journal: an append-only file beside the database, `journal-<run>.jsonl`, a header
//! line naming the run and then one JSON line per task execution. Recording a task that ended
//! costs one `write(2)` and no `SQLite` transaction (ninja's `.ninja_log`); the records are
//! folded into the database in one transaction at the run's end ([`Store::end_run`]), and the
//! file is removed.
//!
//! A line is in the kernel once `write` returns: it survives a kill of parade (`kill -9`), as
//! a commit in the WAL with `synchronous = NORMAL` does; like that commit it is not synced, so
//! a power cut may take the last lines. A run that died leaves its journal behind, and the
//! next open of the store folds it ([`recover`]): the run it names never ended and its writer
//! is gone. The writer holds an exclusive `flock` on its journal from the moment it makes it;
//! the kernel releases it when the process dies, however it dies, so a journal whose lock can
//! be taken has no writer, even when the run's pid now belongs to another process (a pid is
//! reused). A journal of format 1 (a build before the lock) is judged by its run's pid. A
//! torn last line (parade killed inside a write) is ignored, and a later line of a
//! task replaces an earlier one (the line written where the task ended, then the recorder's
//! fuller one).
//!
//! It owns the file's name and format, the append and the fold of a dead run's journal; what a
//! line says and when it is written is the recorder's ([`super::record`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Execution, RunId, from_millis, millis};

/// The journal of run `run` of the store at `db`: `journal-<run>.jsonl` beside it.
pub(crate) fn path_of(db: &Path, run: RunId) -> PathBuf {
    db.with_file_name(format!("journal-{run}.jsonl"))
}

/// The run a journal's file name names (`journal-12.jsonl`: 12).
fn run_of(file_name: &str) -> Option<RunId> {
    file_name
        .strip_prefix("journal-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

/// The format a journal's header names: 2, its writer holds a `flock` on it while it lives.
const FORMAT: u32 = 2;

/// Takes the exclusive `flock` of `file` if no other open of it holds it; false when one does
/// (the writer of a journal, alive).
fn try_lock(file: &File) -> std::io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// An open journal, appended to; its file is locked while it is open.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

#[derive(Serialize, Deserialize)]
struct Header {
    journal: u32,
    run: RunId,
}

/// One line as written: borrowed from the execution (nothing cloned to write it).
#[derive(Serialize)]
struct LineOut<'a> {
    name: &'a str,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    outputs: &'a [(String, String)],
}

/// One line as read back.
#[derive(Deserialize)]
struct LineIn {
    name: String,
    state: String,
    key: Option<String>,
    reason: Option<String>,
    started: Option<i64>,
    ended: Option<i64>,
    exit: Option<i32>,
    result: Option<Value>,
    inputs: Option<Value>,
    #[serde(default)]
    outputs: Vec<(String, String)>,
}

impl Journal {
    /// Makes the journal of run `run` beside the database at `db` (an earlier file of that
    /// name, of a run the database no longer knows, is replaced), locked, with its header.
    pub(crate) fn create(db: &Path, run: RunId) -> std::io::Result<Journal> {
        let path = path_of(db, run);
        // Appended to: each line lands at the end in one write.
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)?;
        // Locked before it is emptied: an open elsewhere never takes it for a dead run's.
        if !try_lock(&file)? {
            return Err(std::io::Error::other(format!(
                "{} is held by another process",
                path.display()
            )));
        }
        file.set_len(0)?;
        let mut header = serde_json::to_vec(&Header {
            journal: FORMAT,
            run,
        })?;
        header.push(b'\n');
        (&file).write_all(&header)?;
        Ok(Journal { path, file })
    }

    /// Appends `e` as one line, in one `write(2)` (a line longer than the kernel takes at
    /// once is written in more; a kill between them leaves a torn last line, ignored).
    pub(crate) fn append(&self, e: &Execution) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&LineOut {
            name: &e.name,
            state: &e.state,
            key: e.key.as_deref(),
            reason: e.reason.as_deref(),
            started: e.started.map(millis),
            ended: e.ended.map(millis),
            exit: e.exit_status,
            result: e.result.as_ref(),
            inputs: e.inputs.as_ref(),
            outputs: &e.outputs,
        })?;
        line.push(b'\n');
        (&self.file).write_all(&line)
    }

    /// Where it is.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (its records are in the database now).
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The format the header of journal text `text` names (0 when it has none).
fn format_of(text: &[u8]) -> u32 {
    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<Header>(header).map_or(0, |h| h.journal)
}

/// The executions in the journal text `text` of run `run`, a task's last line for each task,
/// in the order tasks first appear. A torn last line, a line that does not parse, and every
/// line of a journal whose header names another run are left out; `None` when the header is
/// not this run's.
pub(crate) fn parse(text: &[u8], run: RunId) -> Option<Vec<Execution>> {
    let mut lines = text.split_inclusive(|&b| b == b'\n');
    let header: Header = serde_json::from_slice(lines.next()?).ok()?;
    if header.run != run {
        return None;
    }
    let mut order: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Execution> = Vec::new();
    for line in lines {
        // Parade was killed inside this write: the line is not whole.
        if line.last() != Some(&b'\n') {
            break;
        }
        let Ok(l) = serde_json::from_slice::<LineIn>(line) else {
            continue;
        };
        let e = Execution {
            run,
            name: l.name,
            key: l.key,
            state: l.state,
            reason: l.reason,
            started: l.started.map(from_millis),
            ended: l.ended.map(from_millis),
            exit_status: l.exit,
            result: l.result,
            inputs: l.inputs,
            outputs: l.outputs,
        };
        if let Some(&i) = order.get(&e.name) {
            out[i] = e;
        } else {
            order.insert(e.name.clone(), out.len());
            out.push(e);
        }
    }
    Some(out)
}

/// Folds the journals that runs which died left beside the database at `db` into it, each in
/// one transaction, and removes them; removes the journals of runs that ended (their records
/// are in) or that the database does not know. A journal of a run still going (its process is
/// alive) is left alone, as is one that cannot be folded now (the database is busy): a later
/// open folds it. Returns how many runs were folded.
pub(crate) fn recover(conn: &mut Connection, db: &Path) -> rusqlite::Result<usize> {
    let Some(dir) = db.parent() else {
        return Ok(0);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut folded = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(run) = name.to_str().and_then(run_of) else {
            continue;
        };
        if fold(conn, &entry.path(), run)? {
            folded += 1;
        }
    }
    Ok(folded)
}

/// Folds the journal at `path` of run `run`, when that run died; see [`recover`].
fn fold(conn: &mut Connection, path: &Path, run: RunId) -> rusqlite::Result<bool> {
    let owner = |c: &Connection| -> rusqlite::Result<Option<(Option<i64>, u32)>> {
        c.query_row("SELECT ended, pid FROM runs WHERE id = ?1", [run], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
    };
    let pid = match owner(conn)? {
        None | Some((Some(_), _)) => {
            let _ = std::fs::remove_file(path);
            return Ok(false);
        }
        Some((None, pid)) => pid,
    };
    // Its writer lives while it holds the lock; held here from now on, until the fold is done.
    let Ok(file) = File::open(path) else {
        return Ok(false);
    };
    if !try_lock(&file).unwrap_or(false) {
        return Ok(false);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read once locked (a dead writer wrote its last line before); another process may have
    // folded it while this one waited for the database.
    let mut text = Vec::new();
    if std::io::Read::read_to_end(&mut &file, &mut text).is_err() || !path.exists() {
        return Ok(false);
    }
    if format_of(&text) < FORMAT && (pid == std::process::id() || super::history::alive(pid)) {
        return Ok(false);
    }
    if !matches!(owner(&tx)?, Some((None, _))) {
        return Ok(false);
    }
    let Some(executions) = parse(&text, run) else {
        drop(tx);
        let _ = std::fs::remove_file(path);
        return Ok(false);
    };
    // A fold cut short after its commit and before the file went is done again, whole.
    for e in &executions {
        tx.prepare_cached("DELETE FROM executions WHERE run = ?1 AND name = ?2")?
            .execute(params![run, e.name])?;
    }
    super::record::insert_all(&tx, executions.iter().map(|e| (run, e)))?;
    tx.commit()?;
    let _ = std::fs::remove_file(path);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_text(run: RunId, lines: &[&str]) -> Vec<u8> {
        let mut text = format!("{{\"journal\":1,\"run\":{run}}}\n");
        for l in lines {
            text.push_str(l);
        }
        text.into_bytes()
    }

    #[test]
    fn a_line_written_is_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let j = Journal::create(&db, 7).unwrap();
        let mut e = Execution::new("build", "succeeded").key("k").exit_status(0);
        e.result = Some(serde_json::json!({"n": 1}));
        e.inputs = Some(serde_json::json!({"command": "cc"}));
        e.outputs = vec![("a.o".into(), "h".into())];
        e.ended = Some(from_millis(1_000));
        j.append(&e).unwrap();
        assert_eq!(j.path(), path_of(&db, 7));
        let got = parse(&std::fs::read(j.path()).unwrap(), 7).unwrap();
        e.run = 7;
        assert_eq!(got, [e]);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_later_line_replaces_an_earlier() {
        let text = journal_text(
            3,
            &[
                "{\"name\":\"a\",\"state\":\"succeeded\",\"key\":\"k1\"}\n",
                "{\"name\":\"b\",\"state\":\"failed\"}\n",
                "{\"name\":\"a\",\"state\":\"succeeded\",\"key\":\"k1\",\"started\":5}\n",
                "{\"name\":\"c\",\"state\":\"succ",
            ],
        );
        let got = parse(&text, 3).unwrap();
        let names: Vec<(&str, Option<i64>)> = got
            .iter()
            .map(|e| (e.name.as_str(), e.started.map(millis)))
            .collect();
        assert_eq!(names, [("a", Some(5)), ("b", None)]);
    }

    /// A store at `dir` with run 1 unended, its task `fetch` journaled, and its writer gone
    /// (the store dropped, as a killed process drops it): the journal's path.
    fn left_by_a_dead_writer(db: &Path) -> PathBuf {
        let store = crate::store::Store::open(db).unwrap();
        let run = store.begin_run(&[]).unwrap();
        store.finished(run, "fetch", "succeeded");
        let journal = store.journal_path(run).unwrap();
        drop(store);
        assert!(journal.exists());
        journal
    }

    /// Says the run's process is `pid` (as a pid reused by another process would).
    fn set_pid(db: &Path, pid: u32) {
        Connection::open(db)
            .unwrap()
            .execute("UPDATE runs SET pid = ?1", [pid])
            .unwrap();
    }

    fn folded(db: &Path) -> Vec<String> {
        let store = crate::store::Store::open(db).unwrap();
        store
            .executions(1)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    /// [`folded`] while the run's pid names a live process (not parade: a pid reused).
    fn folded_while_its_pid_lives(db: &Path) -> Vec<String> {
        let mut other = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        set_pid(db, other.id());
        let got = folded(db);
        let _ = other.kill();
        let _ = other.wait();
        got
    }

    #[test]
    fn a_dead_writers_journal_is_folded_while_its_pid_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let journal = left_by_a_dead_writer(&db);
        // The run's pid now names a live process that is not parade.
        assert_eq!(
            crate::store::tests::once_folded(|| folded_while_its_pid_lives(&db), |g| !g.is_empty()),
            ["fetch"]
        );
        assert!(!journal.exists(), "the journal was taken in");
    }

    #[test]
    fn a_live_writers_journal_is_left_alone_whatever_its_pid_says() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let writer = crate::store::Store::open(&db).unwrap();
        let run = writer.begin_run(&[]).unwrap();
        writer.finished(run, "fetch", "succeeded");
        // A pid that no process has (a process that has exited and been reaped).
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        set_pid(&db, gone.id());
        assert!(folded(&db).is_empty(), "a live run's journal was folded");
        assert!(writer.journal_path(run).unwrap().exists());
        // Once the writer is gone, the next open takes it in.
        drop(writer);
        assert_eq!(
            crate::store::tests::once_folded(|| folded(&db), |g| !g.is_empty()),
            ["fetch"]
        );
    }

    #[test]
    fn a_journal_of_the_format_before_the_lock_is_judged_by_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let journal = left_by_a_dead_writer(&db);
        let text = std::fs::read_to_string(&journal).unwrap();
        std::fs::write(&journal, text.replacen("\"journal\":2", "\"journal\":1", 1)).unwrap();
        let while_alive = folded_while_its_pid_lives(&db);
        assert!(while_alive.is_empty(), "{while_alive:?}");
        assert_eq!(
            crate::store::tests::once_folded(|| folded(&db), |g| !g.is_empty()),
            ["fetch"]
        );
    }

    #[test]
    fn a_journal_of_another_run_is_not_read() {
        assert!(parse(&journal_text(4, &[]), 5).is_none());
        assert!(parse(b"", 5).is_none());
        assert_eq!(run_of("journal-12.jsonl"), Some(12));
        assert_eq!(run_of("journal-x.jsonl"), None);
        assert_eq!(run_of("state.db-journal"), None);
    }
}
