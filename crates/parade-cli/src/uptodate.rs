//! Up to date, for task files: a task's key (a blake3 hash of its filled command, shell,
//! environment, working directory, the content of its `sources`, the keys of its
//! dependencies and the params it uses), the decision whether it runs or is up to date and
//! why (`--explain`), the check that a task produced its `outputs`, and file targets
//! (`parade run build/app`).
//!
//! It owns the decision; the run store (`parade::store`) only remembers keys, inputs, results
//! and fingerprints. A wanted task is up to date when its key equals the key of its last
//! successful execution, no dependency ran again in this run, and its outputs exist unchanged;
//! a task with neither `sources` nor `outputs` always runs unless `--resume`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use parade::store::{Execution, Fingerprint, KeyHasher, Parts, Recorder, RunId, Store, key_hex};
use serde_json::{Value, json};

use crate::shell;
use crate::task::TaskRun;
use crate::taskfile::TaskFile;

/// How a run uses what the store remembers: `--force`, `--resume`, `--explain`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// Run every wanted task (make -B).
    pub force: bool,
    /// Reuse earlier successes with the same key even for tasks without sources or outputs.
    pub resume: bool,
}

/// What the store remembers, used by one run: decides per task, notes what each task ran
/// under, and keeps the explanations.
pub struct Memory {
    store: Store,
    run: RunId,
    mode: Mode,
    recorder: OnceLock<Recorder>,
    /// By name (foldhash: each decision reads every dependency's entry, 90,000 reads in a
    /// layered run; names are not chosen by an adversary of this process).
    decided: Mutex<foldhash::HashMap<String, Decided>>,
    explained: Mutex<Vec<(String, String)>>,
    /// Every task's last success, read in one query when the first task is decided (`None`:
    /// the read failed, each task asks the store).
    last: OnceLock<Option<HashMap<String, Execution>>>,
    /// Task directories made absolute, once each (not a `getcwd` per task).
    bases: Mutex<HashMap<PathBuf, PathBuf>>,
    /// Decisions made before the engine started, for the bodies of the tasks they are of
    /// ([`crate::ahead`]).
    ahead: Mutex<foldhash::HashMap<String, Decision>>,
}

/// What a task was decided in this run: its key and whether it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decided {
    /// Its key, as 32 bytes (a dependent hashes them into its own key as they are).
    pub key: [u8; 32],
    /// Whether it runs (or ran) in this run, rather than being up to date.
    pub runs: bool,
}

/// Whether a task runs, and why.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// It runs, for this reason: `never ran`, `source src/a.c changed`...
    Run(String),
    /// Its earlier result holds.
    UpToDate {
        /// Why: `unchanged since run 3`.
        why: String,
        /// The execution whose result it reuses.
        last: Box<Execution>,
    },
}

/// A task's key, what it is made of, and the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The key, as 64 hex digits (as stored).
    pub key: String,
    /// What the key is made of, for a task that runs (stored, compared by the next run to
    /// explain); `Null` for an up-to-date task, whose inputs are stored with its key already.
    pub inputs: Value,
    /// Runs, or up to date.
    pub verdict: Verdict,
}

impl Decision {
    /// The reason, as `--explain` prints it.
    pub fn explain(&self) -> String {
        match &self.verdict {
            Verdict::Run(why) => format!("{RUNS}{why}"),
            Verdict::UpToDate { why, .. } => format!("up to date: {why}"),
        }
    }
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("store", &self.store)
            .field("run", &self.run)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Memory {
    /// Decides with `store` for run `run`.
    pub fn new(store: Store, run: RunId, mode: Mode) -> Self {
        Memory {
            store,
            run,
            mode,
            recorder: OnceLock::new(),
            decided: Mutex::default(),
            explained: Mutex::default(),
            last: OnceLock::new(),
            bases: Mutex::default(),
            ahead: Mutex::default(),
        }
    }

    /// Keeps `decision`, made for task `name` before the engine started, for its body.
    pub fn keep_ahead(&self, name: &str, decision: Decision) {
        if let Ok(mut a) = self.ahead.lock() {
            a.insert(name.to_owned(), decision);
        }
    }

    /// The decision made for task `name` before the engine started, if one was (once).
    pub fn take_ahead(&self, name: &str) -> Option<Decision> {
        self.ahead.lock().ok()?.remove(name)
    }

    /// The last success of task `name`.
    fn last_success(&self, name: &str) -> Result<Option<Execution>, String> {
        match self.last.get_or_init(|| self.store.last_successes().ok()) {
            Some(all) => Ok(all.get(name).cloned()),
            None => self.store.last_success(name).map_err(|e| e.to_string()),
        }
    }

    /// The directory `run` runs in, absolute: files are looked up from it (no `getcwd` per
    /// file).
    fn base(&self, run: &TaskRun<'_>) -> PathBuf {
        let cwd = run.cwd();
        let mut bases = self
            .bases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bases
            .entry(cwd.clone())
            .or_insert_with(|| std::path::absolute(&cwd).unwrap_or(cwd))
            .clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The run it records into.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// Where task bodies note their facts: set once, before anything runs.
    pub fn set_recorder(&self, recorder: Recorder) {
        let _ = self.recorder.set(recorder);
    }

    /// The first write of a task's record to the store that failed during the run, if one
    /// did (the next run may then redo that task).
    pub fn record_error(&self) -> Option<String> {
        self.recorder.get().and_then(Recorder::error)
    }

    /// Every decision so far, in the order it was made: `(task, explanation)`.
    pub fn explanations(&self) -> Vec<(String, String)> {
        self.explained.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Puts the explanations so far in the order `rank` gives their tasks (those it does not
    /// rank last, each keeping its place among equals): decisions made side by side come in the
    /// plan's order.
    pub fn order_explanations(&self, rank: &foldhash::HashMap<&str, usize>) {
        if let Ok(mut e) = self.explained.lock() {
            e.sort_by_key(|(name, _)| rank.get(name.as_str()).copied().unwrap_or(usize::MAX));
        }
    }

    /// What was decided for `name` in this run.
    pub fn decided(&self, name: &str) -> Option<Decided> {
        self.decided.lock().ok()?.get(name).copied()
    }

    /// Decides whether `run` runs, given its dependencies' concrete names (decided before it,
    /// in this run), and keeps the decision. Errors: a literal source that does not exist, a
    /// source that cannot be read, the store failing.
    pub fn decide<D: AsRef<str>>(&self, run: &TaskRun<'_>, deps: &[D]) -> Result<Decision, String> {
        // One lock for every dependency, their keys copied as bytes (no name or key cloned).
        let deps: Vec<&str> = deps.iter().map(AsRef::as_ref).collect();
        let decided: Vec<Option<Decided>> = match self.decided.lock() {
            Ok(d) => deps.iter().map(|n| d.get(*n).copied()).collect(),
            Err(_) => vec![None; deps.len()],
        };
        let inputs = Inputs::of(&self.store, run, &self.base(run), &deps, &decided)?;
        let bytes = inputs.key();
        let key = key_hex(&bytes);
        let json = std::cell::OnceCell::new();
        let verdict = self.verdict(run, &key, &inputs, &json)?;
        let runs = matches!(verdict, Verdict::Run(_));
        if let Ok(mut d) = self.decided.lock() {
            d.insert(run.name.to_owned(), Decided { key: bytes, runs });
        }
        let inputs = if runs {
            json.into_inner().unwrap_or_else(|| inputs.json())
        } else {
            Value::Null
        };
        let decision = Decision {
            key,
            inputs,
            verdict,
        };
        if let Ok(mut e) = self.explained.lock() {
            e.push((run.name.to_owned(), decision.explain()));
        }
        Ok(decision)
    }

    fn verdict(
        &self,
        run: &TaskRun<'_>,
        key: &str,
        inputs: &Inputs<'_>,
        json: &std::cell::OnceCell<Value>,
    ) -> Result<Verdict, String> {
        if let Some(text) = runs_anyway(self.mode, run.task) {
            return Ok(Verdict::Run(text[RUNS.len()..].to_owned()));
        }
        let tracked = !run.task.sources.is_empty() || !run.task.outputs.is_empty();
        let Some(last) = self.last_success(run.name)? else {
            return Ok(Verdict::Run("never ran".to_owned()));
        };
        if last.key.as_deref() != Some(key) {
            let old = match (&last.inputs, &last.key) {
                (Some(old), _) => Some(old.clone()),
                (None, Some(k)) => self.store.inputs_of(run.name, k).ok().flatten(),
                (None, None) => None,
            };
            // A dependency that succeeded after this task did: what changed its key, when the
            // inputs keep the dependencies as one digest.
            let newer = || {
                inputs.deps.iter().find_map(|dep| {
                    let theirs = self.last_success(dep).ok().flatten();
                    theirs.is_some_and(|e| e.run > last.run).then_some(*dep)
                })
            };
            let why = old
                .as_ref()
                .and_then(|old| {
                    let new = json.get_or_init(|| inputs.json());
                    difference(old, new, inputs.ran_again(), &newer)
                })
                .unwrap_or_else(|| "its key changed".to_owned());
            return Ok(Verdict::Run(why));
        }
        if let Some(dep) = inputs.ran_again() {
            return Ok(Verdict::Run(format!("dependency \"{dep}\" ran again")));
        }
        let base = self.base(run);
        for path in &run.task.outputs {
            let path = run.fill(path);
            let now = self
                .store
                .fingerprint(base.join(&path))
                .map_err(|e| format!("cannot read output {path}: {e}"))?;
            if now == Fingerprint::Missing {
                return Ok(Verdict::Run(format!("output {path} missing")));
            }
            let before = last.outputs.iter().find(|(p, _)| *p == path);
            if before.is_some_and(|(_, h)| h != now.as_str()) {
                return Ok(Verdict::Run(format!("output {path} changed")));
            }
        }
        let why = if tracked {
            format!("unchanged since run {}", last.run)
        } else {
            format!("succeeded in run {} with the same key (--resume)", last.run)
        };
        Ok(Verdict::UpToDate {
            why,
            last: Box::new(last),
        })
    }

    /// Notes for the store what `name` ran under (or reused), and its result.
    pub fn note(
        &self,
        name: &str,
        decision: &Decision,
        result: Option<&Value>,
        outputs: Vec<(String, String)>,
    ) {
        if self.recorder.get().is_none() {
            return;
        }
        // An up-to-date task's inputs are those stored with its key already
        // (`Store::inputs_of`): a no-op rerun writes a line per task, not its inputs again.
        let (inputs, why) = match &decision.verdict {
            Verdict::Run(why) => (Some(decision.inputs.clone()), why.clone()),
            Verdict::UpToDate { why, .. } => (None, why.clone()),
        };
        self.record(name, decision.key.clone(), inputs, why, result, outputs);
    }

    /// [`Memory::note`] of a decision no longer needed: its inputs (a task with many
    /// dependencies has many) are moved into the record, not copied.
    pub fn note_owned(
        &self,
        name: &str,
        decision: Decision,
        result: Option<&Value>,
        outputs: Vec<(String, String)>,
    ) {
        if self.recorder.get().is_none() {
            return;
        }
        let (inputs, why) = match decision.verdict {
            Verdict::Run(why) => (Some(decision.inputs), why),
            Verdict::UpToDate { why, .. } => (None, why),
        };
        self.record(name, decision.key, inputs, why, result, outputs);
    }

    /// Hands the store's recorder what `name` ran under (or reused), and its result.
    fn record(
        &self,
        name: &str,
        key: String,
        inputs: Option<Value>,
        why: String,
        result: Option<&Value>,
        outputs: Vec<(String, String)>,
    ) {
        let Some(recorder) = self.recorder.get() else {
            return;
        };
        let mut e = Execution::new(name, "");
        e.key = Some(key);
        e.inputs = inputs;
        e.reason = Some(why);
        e.result = result.cloned();
        e.outputs = outputs;
        recorder.note(name, e);
    }

    /// After `run` succeeded: every declared output must exist. Returns their fingerprints,
    /// or `outputs not refreshed: <paths>`.
    pub fn check_outputs(&self, run: &TaskRun<'_>) -> Result<Vec<(String, String)>, String> {
        let mut missing = Vec::new();
        let mut found = Vec::new();
        let base = self.base(run);
        for path in &run.task.outputs {
            let path = run.fill(path);
            match self.store.fingerprint(base.join(&path)) {
                Ok(Fingerprint::File(hash)) => found.push((path, hash)),
                Ok(Fingerprint::Missing) => missing.push(path),
                Err(e) => return Err(format!("cannot read output {path}: {e}")),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(format!("outputs not refreshed: {}", missing.join(", ")))
        }
    }
}

/// What a task's key is made of, gathered once. The key is hashed from it as bytes (a
/// dependency's key as its 32 bytes); its JSON, the form the store keeps and `--explain`
/// compares, is made only for a task that runs.
struct Inputs<'a> {
    command: String,
    shell: &'a [String],
    env: BTreeMap<&'a str, &'a str>,
    cwd: String,
    params: BTreeMap<&'a str, &'a str>,
    sources: BTreeMap<String, String>,
    outputs: Vec<String>,
    /// The dependencies' part of the key, encoded once for the key and their digest.
    dep_parts: Parts,
    deps: &'a [&'a str],
    decided: &'a [Option<Decided>],
}

impl<'a> Inputs<'a> {
    /// What `run`'s key is made of; its dependencies `deps` were decided as `decided`.
    fn of(
        store: &Store,
        run: &'a TaskRun<'a>,
        base: &Path,
        deps: &'a [&'a str],
        decided: &'a [Option<Decided>],
    ) -> Result<Self, String> {
        // Files are looked up from the absolute directory `base`; the key keeps the directory
        // as written, so a moved project stays up to date.
        let mut sources = BTreeMap::new();
        for pattern in &run.task.sources {
            let pattern = run.fill(pattern);
            for path in expand(base, &pattern)? {
                let label = relative(&path, base);
                let print = store
                    .fingerprint(&path)
                    .map_err(|e| format!("cannot read source {label}: {e}"))?;
                let hash = match print {
                    Fingerprint::File(hash) => hash,
                    Fingerprint::Missing => "missing".to_owned(),
                };
                sources.insert(label, hash);
            }
        }
        let env: BTreeMap<&str, &str> = run
            .task
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(run.args.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect();
        let texts: Vec<&str> = std::iter::once(run.task.run.as_str())
            .chain(run.task.sources.iter().map(String::as_str))
            .chain(run.task.outputs.iter().map(String::as_str))
            .collect();
        let params: BTreeMap<&str, &str> = run
            .params
            .iter()
            .filter(|(k, _)| {
                let field = format!("{{params.{k}}}");
                let var = format!("PARADE_PARAM_{}", shell::env_key(k));
                texts.iter().any(|t| t.contains(&field) || t.contains(&var))
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(Inputs {
            command: run.script(),
            shell: &run.file.settings.shell,
            env,
            cwd: run.cwd().to_string_lossy().into_owned(),
            params,
            sources,
            outputs: run.task.outputs.iter().map(|o| run.fill(o)).collect(),
            dep_parts: Self::dep_parts(deps, decided),
            deps,
            decided,
        })
    }

    /// The key: each part under its name, each list after its length (so no two different
    /// inputs hash alike), a dependency as its name and its key's 32 bytes.
    fn key(&self) -> [u8; 32] {
        fn list<'s>(k: &mut KeyHasher, name: &str, items: impl ExactSizeIterator<Item = &'s str>) {
            k.add(name, &(items.len() as u64).to_le_bytes());
            for item in items {
                k.add("", item.as_bytes());
            }
        }
        fn pairs<'s>(
            k: &mut KeyHasher,
            name: &str,
            items: impl ExactSizeIterator<Item = (&'s str, &'s str)>,
        ) {
            k.add(name, &(items.len() as u64).to_le_bytes());
            for (a, b) in items {
                k.add(a, b.as_bytes());
            }
        }
        let mut k = KeyHasher::new();
        k.add("command", self.command.as_bytes());
        list(&mut k, "shell", self.shell.iter().map(String::as_str));
        pairs(&mut k, "env", self.env.iter().map(|(a, b)| (*a, *b)));
        k.add("cwd", self.cwd.as_bytes());
        pairs(&mut k, "params", self.params.iter().map(|(a, b)| (*a, *b)));
        pairs(
            &mut k,
            "sources",
            self.sources.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        );
        list(&mut k, "outputs", self.outputs.iter().map(String::as_str));
        k.add_parts(&self.dep_parts);
        k.finish_bytes()
    }

    /// The dependencies' parts of the key, encoded once for the key and the digest: their
    /// number, then each as its name and its key's 32 bytes.
    fn dep_parts(deps: &[&str], decided: &[Option<Decided>]) -> Parts {
        let room = 24 + deps.iter().map(|n| 48 + n.len()).sum::<usize>();
        let mut parts = Parts::with_capacity(room);
        parts.add("deps", &(deps.len() as u64).to_le_bytes());
        for (name, d) in deps.iter().zip(decided) {
            parts.add(name, d.as_ref().map_or(&[][..], |d| &d.key[..]));
        }
        parts
    }

    /// The first dependency that runs (or ran) in this run, or was not decided in it.
    fn ran_again(&self) -> Option<&str> {
        self.deps
            .iter()
            .zip(self.decided)
            .find(|(_, d)| d.as_ref().is_none_or(|d| d.runs))
            .map(|(n, _)| *n)
    }

    /// The dependencies as the store keeps them: one digest of their names and keys, 64 hex
    /// digits however many there are (a map of each one's key was 7 KB for 100, built, written
    /// to the journal, to the database, and freed again for every task that ran).
    fn deps_digest(&self) -> String {
        self.dep_parts.finish()
    }

    /// The inputs as the store keeps them (`deps`: [`Inputs::deps_digest`]).
    fn json(&self) -> Value {
        let deps = self.deps_digest();
        json!({
            "command": self.command,
            "shell": self.shell,
            "env": self.env,
            "cwd": self.cwd,
            "params": self.params,
            "sources": self.sources,
            "outputs": self.outputs,
            "deps": deps,
        })
    }
}

/// The first thing that differs between the inputs of the last success and now, in words
/// (`ran_again`: the first dependency that runs in this run; `newer`: the first that
/// succeeded after the last success, asked only when the dependencies' digests differ).
fn difference<'d>(
    old: &Value,
    new: &Value,
    ran_again: Option<&str>,
    newer: &dyn Fn() -> Option<&'d str>,
) -> Option<String> {
    let part = |v: &Value, name: &str| v.get(name).cloned().unwrap_or(Value::Null);
    for (name, words) in [
        ("command", "command changed"),
        ("shell", "shell changed"),
        ("cwd", "working directory changed"),
        ("outputs", "outputs changed"),
    ] {
        if part(old, name) != part(new, name) {
            return Some(words.to_owned());
        }
    }
    for (name, what) in [("env", "env"), ("params", "param")] {
        if let Some(k) = first_change(&part(old, name), &part(new, name)) {
            return Some(format!("{what} {k} changed"));
        }
    }
    let (old_src, new_src) = (part(old, "sources"), part(new, "sources"));
    let empty = serde_json::Map::new();
    let (o, n) = (
        old_src.as_object().unwrap_or(&empty),
        new_src.as_object().unwrap_or(&empty),
    );
    for (path, hash) in n {
        match o.get(path) {
            None => return Some(format!("source {path} added")),
            Some(h) if h != hash => return Some(format!("source {path} changed")),
            Some(_) => {}
        }
    }
    if let Some(path) = o.keys().find(|p| !n.contains_key(*p)) {
        return Some(format!("source {path} removed"));
    }
    if let Some(dep) = ran_again {
        return Some(format!("dependency \"{dep}\" ran again"));
    }
    // Two digests that differ, or an older store's map of each dependency's key against a
    // digest: the dependency that succeeded since, if one did.
    (part(old, "deps") != part(new, "deps")).then(|| {
        newer().map_or_else(
            || "dependencies changed".to_owned(),
            |dep| format!("dependency \"{dep}\" changed"),
        )
    })
}

/// The first key whose value differs between two JSON objects.
fn first_change(old: &Value, new: &Value) -> Option<String> {
    let empty = serde_json::Map::new();
    let (o, n) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    o.keys()
        .chain(n.keys())
        .find(|k| o.get(*k) != n.get(*k))
        .cloned()
}

/// What task `name` depends on, to watch: the files its sources name now, and its globs
/// (absolute), so files a glob will match are seen too.
pub fn sources_of(
    file: &TaskFile,
    name: &str,
    params: &BTreeMap<String, String>,
) -> (Vec<PathBuf>, Vec<String>) {
    let Some((task, args)) = file.resolve(name) else {
        return (Vec::new(), Vec::new());
    };
    let run = TaskRun::planned(file, task, name, &args, params);
    let cwd = std::path::absolute(run.cwd()).unwrap_or_else(|_| run.cwd());
    let (mut files, mut globs) = (Vec::new(), Vec::new());
    for pattern in &task.sources {
        let pattern = run.fill(pattern);
        if pattern.contains(['*', '?', '[']) {
            globs.push(cwd.join(&pattern).to_string_lossy().into_owned());
        }
        match expand(&cwd, &pattern) {
            Ok(found) => files.extend(found),
            // Not there yet (a dependency makes it): watch the path itself.
            Err(_) => files.push(cwd.join(&pattern)),
        }
    }
    (files, globs)
}

/// The files a source pattern names under `cwd`: a glob (`*`, `?`, `[`) expands to the files
/// it matches (none is fine), a directory to every file under it, a plain path to itself (it
/// must exist).
fn expand(cwd: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = cwd.join(pattern);
    if pattern.contains(['*', '?', '[']) {
        if let Some(files) = glob_in_one_dir(&full) {
            return Ok(files);
        }
        let text = full.to_string_lossy();
        let paths = glob::glob(&text).map_err(|e| format!("bad source pattern {pattern}: {e}"))?;
        let mut files: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        return Ok(files);
    }
    if full.is_dir() {
        let mut files = Vec::new();
        walk(&full, &mut files).map_err(|e| format!("cannot read source {pattern}: {e}"))?;
        files.sort();
        return Ok(files);
    }
    if full.exists() {
        Ok(vec![full])
    } else {
        Err(format!(
            "source {pattern} does not exist (sources are relative to {})",
            cwd.display()
        ))
    }
}

/// The files a glob whose wildcards are all in its last component matches (`src/t1/*.c`, the
/// common case): one `readdir`, the entries' types from it, no `stat` per entry or per parent
/// (the `glob` crate makes several for each task). `None` when the pattern is not of that
/// form (`src/**/*.c`, `src/*/x.c`) or the directory cannot be read: the caller globs.
/// Matches as `glob::glob` does with its default options (`*` matches a leading dot).
fn glob_in_one_dir(full: &Path) -> Option<Vec<PathBuf>> {
    let name = full.file_name()?.to_str()?;
    let dir = full.parent()?;
    if name.contains("**") || dir.to_string_lossy().contains(['*', '?', '[']) {
        return None;
    }
    let pattern = glob::Pattern::new(name).ok()?;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vec::new()),
        Err(_) => return None,
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.ok()?;
        let file_name = entry.file_name();
        let Some(text) = file_name.to_str() else {
            continue;
        };
        if !pattern.matches_with(text, glob::MatchOptions::new()) {
            continue;
        }
        let kind = entry.file_type().ok()?;
        let path = entry.path();
        // A symlink counts as what it points to, as with `glob` and `is_file`.
        if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            files.push(path);
        }
    }
    files.sort();
    Some(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `base` when it is under it, as text.
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// `path` without `.` and with `..` folded: `./build/../build/app` → `build/app`.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// File targets: a target that names no task but is an output of a plain task (relative to
/// the task file's directory, or absolute) becomes that task's name.
///
/// ```
/// # use parade_cli::uptodate::file_targets;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("parade.toml");
/// # std::fs::write(&path, "[task.link]\nrun = \"true\"\noutputs = [\"build/app\"]\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// let targets = file_targets(&file, &["build/app".to_owned(), "link".to_owned()]);
/// assert_eq!(targets, ["link", "link"]);
/// ```
pub fn file_targets(file: &TaskFile, targets: &[String]) -> Vec<String> {
    let dir = file.dir();
    let base = std::path::absolute(&dir).unwrap_or(dir.clone());
    targets
        .iter()
        .map(|target| {
            if file.resolve(target).is_some() || target.contains(['*', '?']) {
                return target.clone();
            }
            let wanted = normal(&base.join(target));
            file.tasks
                .iter()
                .filter(|t| t.pattern.is_concrete())
                .find(|t| {
                    let cwd = t.cwd.as_ref().map_or(base.clone(), |c| base.join(c));
                    t.outputs.iter().any(|o| normal(&cwd.join(o)) == wanted)
                })
                .map_or_else(|| target.clone(), |t| t.name.clone())
        })
        .collect()
}

thread_local! {
    /// Tasks a dry run on this thread decided by their inputs and key (for the test that a
    /// task that runs anyway is not).
    static DRY_RUN_DECIDED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How [`Decision::explain`] begins for a task that runs.
const RUNS: &str = "runs: ";

/// Why a task runs whatever the store remembers and whatever its inputs are, as
/// [`Decision::explain`] words it: `--force`, or neither sources nor outputs without
/// `--resume`. `None`: its key decides.
fn runs_anyway(mode: Mode, task: &crate::taskfile::Task) -> Option<&'static str> {
    if mode.force {
        return Some("runs: --force");
    }
    let tracked = !task.sources.is_empty() || !task.outputs.is_empty();
    (!tracked && !mode.resume)
        .then_some("runs: no sources or outputs (always runs; --resume reuses it)")
}

/// The decisions a dry run shows: for each planned task in order (one per task of the plan),
/// decided as if the tasks before it had run as decided.
///
/// A task that runs anyway (forced, or always running without `--resume`) and has no sources (so no input can fail to be
/// read) is not decided: no inputs gathered nor key hashed, unless a dependent's key needs its
/// key. Its explanation is the verdict's text, borrowed.
pub fn dry_run(
    store: &Store,
    file: &TaskFile,
    plan: &crate::runner::Plan,
    params: &BTreeMap<String, String>,
    mode: Mode,
) -> Vec<std::borrow::Cow<'static, str>> {
    dry_run_with(&Memory::new(store.clone(), 0, mode), file, plan, params)
}

/// [`dry_run`], deciding with `memory`.
fn dry_run_with(
    memory: &Memory,
    file: &TaskFile,
    plan: &crate::runner::Plan,
    params: &BTreeMap<String, String>,
) -> Vec<std::borrow::Cow<'static, str>> {
    use std::borrow::Cow;
    let mode = memory.mode;
    // Each step's task, looked up once.
    let defined: Vec<Option<&crate::taskfile::Task>> = plan
        .tasks
        .iter()
        .map(|p| file.task(&p.defined_as))
        .collect();
    // Whether each task is decided by its key: its key decides its verdict, or a decided
    // dependent's key is made of it. A plan lists a task's dependencies before it, so one
    // walk from the end finds them all (none under --force: every verdict is "--force"
    // whatever the keys).
    // The steps' positions by name are made only when some step's own key counts (none in a
    // plan of tasks that all run anyway).
    let mut keyed: Vec<bool> = if mode.force {
        vec![false; plan.tasks.len()]
    } else {
        defined
            .iter()
            .map(|t| t.is_none_or(|t| runs_anyway(mode, t).is_none()))
            .collect()
    };
    if keyed.contains(&true) {
        let at: foldhash::HashMap<&str, usize> = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, p)| (&*p.name, i))
            .collect();
        for (i, p) in plan.tasks.iter().enumerate().rev() {
            if keyed[i] {
                for d in &p.deps {
                    if let Some(&j) = at.get(&**d) {
                        keyed[j] = true;
                    }
                }
            }
        }
    }
    plan.tasks
        .iter()
        .zip(keyed)
        .zip(defined)
        .map(|((p, keyed), defined)| {
            if !keyed
                && let Some(task) = defined
                && task.sources.is_empty()
                && let Some(text) = runs_anyway(mode, task)
            {
                return Cow::Borrowed(text);
            }
            let Some((task, args)) = file.resolve(&p.name) else {
                return Cow::Borrowed("missing: nothing defines it");
            };
            DRY_RUN_DECIDED.with(|n| n.set(n.get() + 1));
            let run = TaskRun::planned(file, task, &p.name, &args, params);
            let text = match memory.decide(&run, &p.deps) {
                Ok(d) => d.explain(),
                Err(e) => {
                    // A source a dependency makes does not exist yet: it would run.
                    if let Ok(mut d) = memory.decided.lock() {
                        d.insert(
                            p.name.to_string(),
                            Decided {
                                key: [0; 32],
                                runs: true,
                            },
                        );
                    }
                    format!("runs: {e}")
                }
            };
            Cow::Owned(text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dry run's decisions, each made as the run makes it: every task's inputs gathered
    /// and its key hashed, in plan order.
    fn every_task_decided(
        memory: &Memory,
        file: &TaskFile,
        plan: &crate::runner::Plan,
    ) -> Vec<String> {
        plan.tasks
            .iter()
            .map(|p| {
                let (task, args) = file.resolve(&p.name).unwrap();
                let run = TaskRun::planned(file, task, &p.name, &args, &file.params);
                match memory.decide(&run, &p.deps) {
                    Ok(d) => d.explain(),
                    Err(e) => format!("runs: {e}"),
                }
            })
            .collect()
    }

    #[test]
    fn a_dry_run_decides_by_key_only_the_tasks_whose_keys_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.c"), "int a;").unwrap();
        let path = dir.path().join("parade.toml");
        std::fs::write(
            &path,
            "[task.gen]\nrun = \"true\"\n[task.\"t::[x]\"]\nchoices = { x = [1, 2, 3] }\n\
             run = \"echo {x}\"\ndeps = [\"gen\"]\n[task.lint]\nrun = \"true\"\n\
             [task.cc]\nrun = \"cc a.c\"\nsources = [\"a.c\"]\ndeps = [\"t::*\"]\n\
             [task.gone]\nrun = \"true\"\nsources = [\"b.c\"]\n\
             [task.all]\nrun = \"true\"\ndeps = [\"cc\", \"lint\", \"gone\"]\n",
        )
        .unwrap();
        let file = crate::taskfile::load(Some(&path)).unwrap();
        let plan = crate::runner::plan(&file, &["all".to_owned()], &file.params).unwrap();
        assert_eq!(plan.tasks.len(), 8);
        let store = Store::in_memory().unwrap();
        for (mode, decided) in [
            // cc and gone have sources; the t::* instances (and gen, theirs) are what cc's
            // key is made of.
            (Mode::default(), 6),
            // Every task runs, whatever its key: only the tasks with sources gather them
            // (one that cannot be read is the reason given).
            (
                Mode {
                    force: true,
                    resume: false,
                },
                2,
            ),
            (
                Mode {
                    force: false,
                    resume: true,
                },
                8,
            ),
        ] {
            let before = DRY_RUN_DECIDED.with(std::cell::Cell::get);
            let dry = Memory::new(store.clone(), 0, mode);
            let texts = dry_run_with(&dry, &file, &plan, &file.params);
            let made = DRY_RUN_DECIDED.with(std::cell::Cell::get) - before;
            assert_eq!(made, decided, "{mode:?}");
            let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
            let every = Memory::new(store.clone(), 0, mode);
            assert_eq!(texts, every_task_decided(&every, &file, &plan), "{mode:?}");
            // The keys that decide are the run's own.
            if !mode.force {
                assert_eq!(dry.decided("cc"), every.decided("cc"), "{mode:?}");
                assert!(dry.decided("cc").is_some());
            }
        }
    }

    /// The bytes a decision of `all`, needing `n` tasks, keeps and hands the store.
    fn inputs_bytes(n: usize) -> usize {
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parade.toml");
        let mut text = String::new();
        for i in 0..n {
            let _ = write!(text, "[task.dependency{i}]\nrun = \"true\"\n");
        }
        let deps: Vec<String> = (0..n).map(|i| format!("\"dependency{i}\"")).collect();
        text += "[task.all]\nrun = \"true\"\ndeps = [";
        text += &deps.join(", ");
        text += "]\n";
        std::fs::write(&path, text).unwrap();
        let file = crate::taskfile::load(Some(&path)).unwrap();
        let plan = crate::runner::plan(&file, &["all".to_owned()], &file.params).unwrap();
        let memory = Memory::new(Store::in_memory().unwrap(), 0, Mode::default());
        let mut last = None;
        for p in &plan.tasks {
            let (task, args) = file.resolve(&p.name).unwrap();
            let run = TaskRun::planned(&file, task, &p.name, &args, &file.params);
            last = Some(memory.decide(&run, &p.deps).unwrap());
        }
        let all = last.unwrap();
        assert!(matches!(all.verdict, Verdict::Run(_)));
        all.inputs.to_string().len()
    }

    #[test]
    fn a_decisions_inputs_do_not_grow_with_its_dependencies() {
        // The dependencies are one digest: as many bytes for 100 as for 1 (a map of their
        // keys was 7 KB for 100).
        let (one, hundred) = (inputs_bytes(1), inputs_bytes(100));
        assert_eq!(
            one, hundred,
            "{one} bytes for 1 dependency, {hundred} for 100"
        );
        assert!(hundred < 512, "{hundred}");
    }

    #[test]
    fn differences_are_named() {
        let old = json!({"command": "cc a.c", "sources": {"a.c": "1", "b.c": "2"}, "deps": {}});
        let changed = json!({"command": "cc a.c", "sources": {"a.c": "1", "b.c": "3"}, "deps": {}});
        assert_eq!(
            difference(&old, &changed, None, &|| None).as_deref(),
            Some("source b.c changed")
        );
        let cmd = json!({"command": "cc -O2 a.c", "sources": {"a.c": "1", "b.c": "2"}});
        assert_eq!(
            difference(&old, &cmd, None, &|| None).as_deref(),
            Some("command changed")
        );
        let removed = json!({"command": "cc a.c", "sources": {"a.c": "1"}, "deps": {}});
        assert_eq!(
            difference(&old, &removed, None, &|| None).as_deref(),
            Some("source b.c removed")
        );
        assert_eq!(
            difference(&old, &old, Some("gen"), &|| None).as_deref(),
            Some("dependency \"gen\" ran again")
        );
        assert_eq!(difference(&old, &old, None, &|| None), None);
        // Dependencies as one digest: the one that succeeded since is named, if one did.
        let digest = |d: &str| json!({"command": "cc a.c", "deps": d});
        assert_eq!(
            difference(&digest("1"), &digest("2"), None, &|| Some("gen")).as_deref(),
            Some("dependency \"gen\" changed")
        );
        assert_eq!(
            difference(&digest("1"), &digest("2"), None, &|| None).as_deref(),
            Some("dependencies changed")
        );
        assert_eq!(
            difference(&digest("1"), &digest("1"), None, &|| Some("gen")),
            None
        );
        // A store written before the digest: its map against a digest.
        let map = json!({"command": "cc a.c", "deps": {"gen": "ab"}});
        assert_eq!(
            difference(&map, &digest("2"), None, &|| None).as_deref(),
            Some("dependencies changed")
        );
    }

    #[test]
    fn a_glob_in_one_directory_matches_as_the_glob_crate_does() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.c", "b.c", ".hidden.c", "x.h", "sub.c/inner.c"] {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        for pattern in ["*.c", "?.c", "[ab].c", "*", "nothing*", "missing/*.c"] {
            let full = dir.path().join(pattern);
            let mut slow: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
                .unwrap()
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            slow.sort();
            assert_eq!(glob_in_one_dir(&full), Some(slow), "{pattern}");
        }
        assert_eq!(glob_in_one_dir(&dir.path().join("*/inner.c")), None);
        assert_eq!(glob_in_one_dir(&dir.path().join("**")), None);
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normal(Path::new("./a/../b/c")), PathBuf::from("b/c"));
    }
}
