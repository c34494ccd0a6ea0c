//! The run file: which tasks a `parade run` has running, in `.parade/runs/<pid>.run`, so that
//! the next run in the project finds what a run killed with `kill -9` left and ends it.
//!
//! Owns: the file's format and its life (created when a run starts, appended to as tasks
//! start and end, removed when the run ends), and [`end_leftovers`], which reads the files of
//! runs whose `parade` is gone and ends their tasks' processes through
//! [`parade::exec::isolation::end_leftover`]. Must not know: how processes are kept together
//! (the library's [`isolation`] does), or the run store (this is a
//! small module so that the record can move there).
//!
//! The file is JSON lines, appended with one `write` each (no rewrite per task): a header
//! naming the run, `parade`'s pid, its start time and the boot (a pid alone may be reused),
//! then `started` and `ended` lines. A `started` line is written at once; `ended` lines wait
//! and go out with the next `started` line, in the same `write` (one write per task, not two).
//! A run killed in between leaves a finished task marked running, which costs nothing: the
//! next run finds none of its processes alive (a pid given to a later process is told apart
//! by a start later than the one recorded) and ends nothing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use parade::exec::CommandSpec;
use parade::exec::isolation::{self, Isolation, Leftover, Record, Recorder};
use serde::{Deserialize, Serialize};

/// One line of a run file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Line {
    /// The first line: whose run this is.
    Run {
        /// The run's id (its log directory's name).
        id: String,
        /// `parade`'s pid.
        pid: i32,
        /// When that process started, in clock ticks after boot.
        start: u64,
        /// The kernel's boot id.
        boot: String,
        /// How the run keeps its tasks' processes together.
        #[serde(default = "process_group")]
        isolation: Isolation,
    },
    /// A task's child started.
    Started {
        /// The task's name.
        task: String,
        /// Its processes.
        record: Record,
    },
    /// That child and what it left are gone.
    Ended {
        /// Its pid.
        pid: i32,
    },
}

/// The run file of this run: a [`Recorder`] for the library to tell of children.
pub struct RunFile {
    path: PathBuf,
    file: Mutex<Open>,
}

/// The open file and the `ended` lines not written yet.
struct Open {
    file: Option<File>,
    ended: String,
    /// `write` calls made after the header (for tests).
    writes: u64,
}

impl RunFile {
    /// Creates `<dir>/<pid>.run` for the run `id`.
    pub fn create(dir: &Path, id: &str) -> io::Result<Arc<Self>> {
        fs::create_dir_all(dir)?;
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let path = dir.join(format!("{pid}.run"));
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        let header = Line::Run {
            id: id.to_owned(),
            pid,
            start: isolation::start_ticks(pid).unwrap_or(0),
            boot: boot_id(),
            isolation: isolation::current(),
        };
        file.write_all(line_of(&header).as_bytes())?;
        Ok(Arc::new(Self {
            path,
            file: Mutex::new(Open {
                file: Some(file),
                ended: String::new(),
                writes: 0,
            }),
        }))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run ended with its tasks: the file goes.
    pub fn remove(&self) {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .file
            .take();
        let _ = fs::remove_file(&self.path);
    }

    /// Appends `line` after the `ended` lines waiting, in one write (a kill between two writes
    /// leaves whole lines).
    fn append(&self, line: &Line) {
        let text = line_of(line);
        let mut open = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let open = &mut *open;
        let Some(file) = open.file.as_mut() else {
            return;
        };
        open.writes += 1;
        if open.ended.is_empty() {
            let _ = file.write_all(text.as_bytes());
        } else {
            open.ended.push_str(&text);
            let _ = file.write_all(open.ended.as_bytes());
            open.ended.clear();
        }
    }

    /// How many writes the file took after its header.
    #[cfg(test)]
    fn writes(&self) -> u64 {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .writes
    }
}

impl Recorder for RunFile {
    fn started(&self, record: &Record, spec: &CommandSpec) {
        let task = spec
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PARADE_TASK")
            .map_or_else(|| spec.display(), |(_, v)| v.clone());
        self.append(&Line::Started {
            task,
            record: record.clone(),
        });
    }

    fn ended(&self, record: &Record) {
        // Written with the next `started` line (see the module doc).
        let text = line_of(&Line::Ended { pid: record.pid });
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ended
            .push_str(&text);
    }
}

fn process_group() -> Isolation {
    Isolation::ProcessGroup
}

fn line_of(line: &Line) -> String {
    let mut text = serde_json::to_string(line).expect("run file lines serialize");
    text.push('\n');
    text
}

/// The kernel's boot id, empty where it cannot be read.
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// What [`end_leftovers`] did about one dead run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadRun {
    /// The run's id.
    pub id: String,
    /// Its `parade`'s pid.
    pub pid: i32,
    /// Tasks whose processes were still alive and are now killed.
    pub ended: Vec<String>,
}

/// Reads every run file in `dir` whose `parade` is gone (not alive, or its pid now another
/// process's, or another boot), ends what its unfinished tasks left and removes the file.
/// Runs still going are left alone. Says what it ended, run by run.
pub fn end_leftovers(dir: &Path) -> Vec<DeadRun> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let mut dead = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "run") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let mut lines = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Line>(l).ok());
        let Some(Line::Run {
            id,
            pid,
            start,
            boot,
            ..
        }) = lines.next()
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let same_boot = boot.is_empty() || boot == boot_id();
        let owner_alive = same_boot && isolation::start_ticks(pid).is_some_and(|s| s == start);
        if owner_alive {
            continue;
        }
        let mut running: Vec<(String, Record)> = Vec::new();
        for line in lines {
            match line {
                Line::Started { task, record } => {
                    // A later record of a pid (with its cgroup) replaces the earlier.
                    running.retain(|(_, r)| r.pid != record.pid);
                    running.push((task, record));
                }
                Line::Ended { pid } => running.retain(|(_, r)| r.pid != pid),
                Line::Run { .. } => {}
            }
        }
        let mut ended = Vec::new();
        if same_boot {
            for (task, record) in &running {
                if isolation::end_leftover(record) == Leftover::Ended {
                    ended.push(task.clone());
                }
            }
        }
        let _ = fs::remove_file(&path);
        dead.push(DeadRun { id, pid, ended });
    }
    dead
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_file_of_a_dead_run_is_read_and_removed_and_its_live_tasks_ended() {
        let dir = tempfile::tempdir().unwrap();
        // A child of ours stands for a task a dead run left; a finished one for one it ended.
        let mut left = std::process::Command::new("sleep")
            .arg("100")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(left.id()).unwrap();
        let record = Record {
            pid,
            pgid: pid,
            start: isolation::start_ticks(pid).unwrap(),
            cgroup: None,
        };
        let done = Record {
            pid: 1,
            pgid: 1,
            start: 0,
            cgroup: None,
        };
        let lines = [
            Line::Run {
                id: "r1".into(),
                pid: i32::MAX - 1,
                start: 1,
                boot: boot_id(),
                isolation: Isolation::ProcessGroup,
            },
            Line::Started {
                task: "left".into(),
                record,
            },
            Line::Started {
                task: "done".into(),
                record: done,
            },
            Line::Ended { pid: 1 },
        ];
        let text: String = lines.iter().map(line_of).collect();
        fs::write(dir.path().join("123.run"), text).unwrap();
        let dead = end_leftovers(dir.path());
        assert_eq!(
            dead,
            [DeadRun {
                id: "r1".into(),
                pid: i32::MAX - 1,
                ended: vec!["left".into()]
            }]
        );
        let status = left.wait().unwrap();
        assert!(!status.success(), "the leftover was not killed");
        assert!(!dir.path().join("123.run").exists());
    }

    #[test]
    fn a_live_runs_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = RunFile::create(dir.path(), "mine").unwrap();
        // This process's own file is skipped; so is one whose owner lives (here: ourselves
        // under another name).
        let copy = dir.path().join("1.run");
        fs::copy(file.path(), &copy).unwrap();
        assert!(end_leftovers(dir.path()).is_empty());
        assert!(copy.exists());
        file.remove();
        assert!(!file.path().exists());
    }

    #[test]
    fn a_task_costs_one_write_and_its_end_goes_out_with_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = RunFile::create(dir.path(), "mine").unwrap();
        let spec = CommandSpec::new("true", [""; 0]).env("PARADE_TASK", "t");
        let record = |pid| Record {
            pid,
            pgid: pid,
            start: 1,
            cgroup: None,
        };
        for pid in [10, 11, 12] {
            file.started(&record(pid), &spec);
            file.ended(&record(pid));
        }
        assert_eq!(file.writes(), 3, "one write per task");
        let text = fs::read_to_string(file.path()).unwrap();
        let lines: Vec<Line> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ended: Vec<i32> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Ended { pid } => Some(*pid),
                _ => None,
            })
            .collect();
        // The last end waits for a start that never comes: the file says 12 runs.
        assert_eq!(ended, [10, 11]);
        assert_eq!(lines.len(), 1 + 3 + 2);
        file.remove();
    }
}
