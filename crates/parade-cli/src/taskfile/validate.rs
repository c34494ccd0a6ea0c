//! From text to a checked [`TaskFile`]: TOML and serde errors, then the checks serde cannot
//! make (placeholders, choices, dependencies), every problem with its place in the file.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::diagnostic::{HELP_MARK, Problem, SourceFile, TaskFileError, did_you_mean, suggest};
use super::include::{Included, read_includes};
use super::model::{
    Dep, Rare, RawFile, RawParam, RawTask, SPECIAL_DEPS, Settings, Task, TaskFile, TemplateSpec,
};
use super::pattern::{Pattern, glob_match, has_brackets, is_glob};

/// Reads and checks a task file's text. Every problem found is reported, in file order.
/// Equal dependency names (of the file and the files it includes) are one shared string
/// ([`super::names`]).
pub fn parse(path: PathBuf, source: SourceFile) -> Result<TaskFile, TaskFileError> {
    super::names::reading(|| parse_sharing(path, source))
}

fn parse_sharing(path: PathBuf, source: SourceFile) -> Result<TaskFile, TaskFileError> {
    let raw = super::read::raw_file(&source.text)
        .map_err(|e| TaskFileError::from_problems(&source, vec![serde_problem(&source, &e)]))?;
    let mut included = Vec::new();
    let mut include_problems = Vec::new();
    read_includes(
        &path,
        &source,
        &raw,
        &mut Vec::new(),
        &mut included,
        &mut include_problems,
    );
    let mut check = Check {
        file: &source,
        problems: include_problems,
        warnings: Vec::new(),
        shared_choices: shared_choices(&raw),
    };
    let mut settings = check.settings(&raw);
    Check::more_settings(&raw, &mut settings);
    let (mut params, mut param_commands) = params(&raw);
    let mut env: Vec<(String, String)> = raw
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.get_ref().text()))
        .collect();
    merge_included(
        &included,
        &mut check,
        &mut params,
        &mut param_commands,
        &mut env,
    );
    let mut entries: Vec<(&Spanned<String>, &Spanned<RawTask>)> =
        raw.task.iter().map(|(k, v)| (k, v)).collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    // Each task with the entry it is made from (no map of names to entries).
    let mut tasks: Vec<Task> = Vec::with_capacity(entries.len());
    let mut made_from: Vec<&Spanned<RawTask>> = Vec::with_capacity(entries.len());
    for (name, raw) in &entries {
        if let Some(task) = check.task(name, raw, &settings, &params) {
            tasks.push(task);
            made_from.push(raw);
        }
    }
    for (task, raw) in tasks.iter_mut().zip(&made_from) {
        check.task_extras(task, raw, &settings);
    }
    check.names(&tasks, &entries, &raw, &settings);
    check.shared_env(&raw, &tasks, &params);
    // The main file's tasks are their own views (a task is made from every entry whose name
    // parses); an included file's tasks are seen before they are checked.
    let snapshots: Vec<Snapshot> = included
        .iter()
        .flat_map(|inc| {
            let inc_entries: Vec<_> = inc.raw.task.iter().map(|(k, v)| (k, v)).collect();
            tasks_snapshot(&inc_entries, &check.shared_choices)
        })
        .collect();
    let views = Views::of(&tasks, &snapshots);
    for (task, raw) in tasks.iter().zip(&made_from) {
        check.references(raw, task, &views, &settings);
    }
    let mut added = Vec::new();
    check_included(
        &included, &mut check, &tasks, &mut added, &views, &settings, &params,
    );
    drop(views);
    tasks.append(&mut added);
    let Check {
        problems, warnings, ..
    } = check;
    drop(made_from);
    drop(entries);
    crate::discard::discard((raw, included), tasks.len());
    if problems.is_empty() {
        Ok(TaskFile {
            path,
            source,
            settings,
            params,
            tasks,
            env,
            dotenv: Vec::new(),
            param_commands,
            warnings,
            index: super::TaskIndex::default(),
        })
    } else {
        Err(TaskFileError::from_problems(&source, problems))
    }
}

/// A lightweight view of every task for reference checks: name, pattern, choices.
struct View<'a> {
    name: &'a str,
    pattern: &'a Pattern,
    choices: &'a BTreeMap<String, Vec<String>>,
}

/// What a [`View`] of an included file's task is made from, before the task is checked.
struct Snapshot {
    name: String,
    pattern: Pattern,
    choices: BTreeMap<String, Vec<String>>,
}

/// Every task's view, with an index by exact name and the list of patterns, so a reference
/// costs one hash lookup (and a walk over the patterns only when it names no task): checking
/// is linear in the number of tasks and references.
struct Views<'a> {
    all: Vec<View<'a>>,
    by_name: foldhash::HashSet<&'a str>,
    patterns: Vec<usize>,
}

impl<'a> Views<'a> {
    /// The views of checked tasks, then of included files' tasks.
    fn of(tasks: &'a [Task], snapshots: &'a [Snapshot]) -> Self {
        Self::new(
            tasks
                .iter()
                .map(|t| View {
                    name: &t.name,
                    pattern: &t.pattern,
                    choices: &t.choices,
                })
                .chain(snapshots.iter().map(|s| View {
                    name: &s.name,
                    pattern: &s.pattern,
                    choices: &s.choices,
                }))
                .collect(),
        )
    }

    fn new(all: Vec<View<'a>>) -> Self {
        let by_name = all.iter().map(|v| v.name).collect();
        let patterns = (0..all.len())
            .filter(|&i| !all[i].pattern.is_concrete())
            .collect();
        Self {
            all,
            by_name,
            patterns,
        }
    }

    /// Whether a task is named exactly `name`.
    fn has(&self, name: &str) -> bool {
        LOOKUPS.with(|c| c.set(c.get() + 1));
        self.by_name.contains(name)
    }

    /// The first pattern `name` is an instance of, with its placeholder values.
    fn matching(&self, name: &str, sep: &str) -> Option<(&View<'a>, BTreeMap<String, String>)> {
        self.patterns.iter().find_map(|&i| {
            LOOKUPS.with(|c| c.set(c.get() + 1));
            let v = &self.all[i];
            v.pattern.matches(name, sep).map(|args| (v, args))
        })
    }
}

thread_local! {
    /// Name lookups made by reference checks on this thread (for the test that checking stays
    /// linear).
    static LOOKUPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many name lookups reference checks have made on this thread so far: one per reference
/// to a task, plus one per pattern tried for a reference that names no task exactly.
pub fn name_lookups() -> u64 {
    LOOKUPS.with(std::cell::Cell::get)
}

fn tasks_snapshot(
    entries: &[(&Spanned<String>, &Spanned<RawTask>)],
    shared: &BTreeMap<String, Vec<String>>,
) -> Vec<Snapshot> {
    entries
        .iter()
        .filter_map(|(name, raw)| {
            let pattern = Pattern::parse(name.get_ref()).ok()?;
            let choices = with_shared_choices(&pattern, task_choices(raw.get_ref()), shared);
            Some(Snapshot {
                name: name.get_ref().clone(),
                pattern,
                choices,
            })
        })
        .collect()
}

/// A task's own `choices`, as text.
fn task_choices(t: &RawTask) -> BTreeMap<String, Vec<String>> {
    t.choices
        .iter()
        .map(|(k, v)| {
            (
                k.get_ref().clone(),
                v.iter().map(super::Scalar::text).collect(),
            )
        })
        .collect()
}

/// Top-level `[choices]`, as text.
fn shared_choices(raw: &RawFile) -> BTreeMap<String, Vec<String>> {
    raw.choices
        .iter()
        .map(|(k, v)| {
            (
                k.get_ref().clone(),
                v.iter().map(super::Scalar::text).collect(),
            )
        })
        .collect()
}

/// A task's choices with the top-level `[choices]` of every placeholder that declares none.
fn with_shared_choices(
    pattern: &Pattern,
    mut own: BTreeMap<String, Vec<String>>,
    shared: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    for hole in pattern.placeholders() {
        if !own.contains_key(hole)
            && let Some(values) = shared.get(hole)
        {
            own.insert(hole.to_owned(), values.clone());
        }
    }
    own
}

/// `[params]` as text, and the params whose value is a command's output (their text is empty
/// until the command runs).
fn params(raw: &RawFile) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut values = BTreeMap::new();
    let mut commands = BTreeMap::new();
    for (k, v) in &raw.params {
        match v {
            RawParam::Value(v) => {
                values.insert(k.clone(), v.text());
            }
            RawParam::Command { run } => {
                values.insert(k.clone(), String::new());
                commands.insert(k.clone(), run.clone());
            }
        }
    }
    (values, commands)
}

/// Every string in `value`, depth first.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// A TOML or serde error in `file` as a problem.
pub(crate) fn toml_problem(file: &SourceFile, e: &toml::de::Error) -> Problem {
    serde_problem(file, e)
}

/// A TOML or serde error as a problem, with a friendlier message where we can give one.
fn serde_problem(file: &SourceFile, e: &toml::de::Error) -> Problem {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim_end();
    if let Some((msg, help)) = message.split_once(HELP_MARK) {
        return Problem::new(file, span, msg.trim())
            .with_label("not a duration")
            .with_help(help.trim());
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let help = did_you_mean(&suggest(field, allowed.iter().copied()))
            .or_else(|| Some(format!("allowed keys: {}", allowed.join(", "))));
        return Problem::new(file, span, format!("unknown key `{field}`"))
            .with_label("unknown key")
            .maybe_help(help);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let help = (field == "run").then(|| "every task needs a command: run = \"...\"".to_owned());
        return Problem::new(file, span, format!("missing key `{field}`"))
            .with_label("in this table")
            .maybe_help(help);
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return Problem::new(file, span, message).with_label("wrong type");
    }
    Problem::new(file, span, message).with_label("here")
}

struct Check<'a> {
    file: &'a SourceFile,
    problems: Vec<Problem>,
    warnings: Vec<String>,
    shared_choices: BTreeMap<String, Vec<String>>,
}

impl Check<'_> {
    fn settings(&mut self, raw: &RawFile) -> Settings {
        let s = &raw.settings;
        let mut out = Settings::default();
        if let Some(p) = &s.parallel {
            match usize::try_from(*p.get_ref()) {
                Ok(n) if (1..=MAX_PARALLEL).contains(&n) => out.parallel = Some(n),
                Ok(n) if n > MAX_PARALLEL => self.push(
                    Problem::new(
                        self.file,
                        p.span(),
                        format!("`parallel` must be at most {MAX_PARALLEL}"),
                    )
                    .with_label("too many"),
                ),
                _ => self.push(
                    Problem::new(self.file, p.span(), "`parallel` must be at least 1")
                        .with_label("not a task count")
                        .with_help("leave it out to run one task per CPU"),
                ),
            }
        }
        if let Some(sep) = &s.separator {
            if sep.get_ref().is_empty() || sep.get_ref().contains(['[', ']']) {
                self.push(
                    Problem::new(
                        self.file,
                        sep.span(),
                        "`separator` must be non-empty text without `[` or `]`",
                    )
                    .with_label("bad separator"),
                );
            } else {
                out.separator.clone_from(sep.get_ref());
            }
        }
        if let Some(shell) = &s.shell {
            if shell.get_ref().is_empty() {
                self.push(
                    Problem::new(self.file, shell.span(), "`shell` needs a program")
                        .with_label("empty")
                        .with_help(
                            "for example: shell = [\"bash\", \"-euo\", \"pipefail\", \"-c\"]",
                        ),
                );
            } else {
                out.shell.clone_from(shell.get_ref());
            }
        }
        out.allow_missing_deps = s.allow_missing_deps;
        if let Some(g) = s.grace {
            out.grace = g.0;
        }
        out.timeout = s.timeout.map(|t| t.0);
        out.log_dir = s.log_dir.as_ref().map(PathBuf::from);
        out.executor = s.executor.unwrap_or_default();
        out.output = s.output;
        for (name, capacity) in &s.resources {
            match u32::try_from(*capacity.get_ref()) {
                Ok(n) if n >= 1 => {
                    out.resources.insert(name.get_ref().clone(), n);
                }
                _ => self.push(
                    Problem::new(
                        self.file,
                        capacity.span(),
                        format!(
                            "the capacity of `{}` must be a whole number, at least 1",
                            name.get_ref()
                        ),
                    )
                    .with_label("not a capacity")
                    .with_help("for example: resources = { gpu = 2 }"),
                ),
            }
        }
        out
    }

    /// A task's `uses`: each names a resource of `[settings] resources` and fits in its
    /// capacity.
    fn uses(
        &mut self,
        raw: &BTreeMap<Spanned<String>, Spanned<i64>>,
        settings: &Settings,
    ) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for (name, amount) in raw {
            let Some(&capacity) = settings.resources.get(name.get_ref()) else {
                let help = did_you_mean(&suggest(
                    name.get_ref(),
                    settings.resources.keys().map(String::as_str),
                ))
                .or_else(|| {
                    Some(format!(
                        "declare it with its capacity: [settings] resources = {{ {} = N }}",
                        name.get_ref()
                    ))
                });
                self.push(
                    Problem::new(
                        self.file,
                        name.span(),
                        format!("unknown resource `{}`", name.get_ref()),
                    )
                    .with_label("not in [settings] resources")
                    .maybe_help(help),
                );
                continue;
            };
            match u32::try_from(*amount.get_ref()) {
                Ok(n) if n <= capacity => {
                    out.insert(name.get_ref().clone(), n);
                }
                Ok(n) => self.push(
                    Problem::new(
                        self.file,
                        amount.span(),
                        format!(
                            "uses {n} of `{}`, whose capacity is {capacity}: it could never run",
                            name.get_ref()
                        ),
                    )
                    .with_label("over the capacity")
                    .with_help(format!(
                        "use at most {capacity}, or raise it in [settings] resources"
                    )),
                ),
                Err(_) => self.push(
                    Problem::new(
                        self.file,
                        amount.span(),
                        format!(
                            "a use of `{}` must be a whole number, 0 or more",
                            name.get_ref()
                        ),
                    )
                    .with_label("not an amount"),
                ),
            }
        }
        out
    }

    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Checks what a task says about itself: its name, choices and command.
    #[allow(clippy::too_many_lines)]
    fn task(
        &mut self,
        name: &Spanned<String>,
        raw: &Spanned<RawTask>,
        settings: &Settings,
        params: &BTreeMap<String, String>,
    ) -> Option<Task> {
        let pattern = match Pattern::parse(name.get_ref()) {
            Ok(p) => p,
            Err(e) => {
                self.push(Problem::new(self.file, name.span(), e).with_label("bad task name"));
                return None;
            }
        };
        if let Some(found) = pattern.bad_separator(&settings.separator) {
            self.push(
                Problem::new(
                    self.file,
                    name.span(),
                    format!(
                        "placeholders in \"{}\" must be separated by \"{}\", found \"{found}\"",
                        name.get_ref(),
                        settings.separator
                    ),
                )
                .with_label("bad separator")
                .with_help("change the name, or set `separator` in [settings]"),
            );
        }
        let holes = pattern.placeholders();
        let t = raw.get_ref();
        for key in t.choices.keys() {
            if !holes.contains(&key.get_ref().as_str()) {
                let help =
                    did_you_mean(&suggest(key.get_ref(), holes.iter().copied())).or_else(|| {
                        Some(if holes.is_empty() {
                            format!(
                                "\"{}\" has no placeholders; choices name them, as in build::[env]",
                                name.get_ref()
                            )
                        } else {
                            format!(
                                "placeholders of \"{}\": {}",
                                name.get_ref(),
                                holes.join(", ")
                            )
                        })
                    });
                self.push(
                    Problem::new(
                        self.file,
                        key.span(),
                        format!(
                            "`{}` is not a placeholder of \"{}\"",
                            key.get_ref(),
                            name.get_ref()
                        ),
                    )
                    .with_label("not in the task name")
                    .maybe_help(help),
                );
            }
        }
        // The command may use the task's own `args` as well as its placeholders.
        let fields: Vec<&str> = holes
            .iter()
            .copied()
            .chain(
                t.args
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !holes.contains(k)),
            )
            .collect();
        let template = self.command(raw, &fields, params);
        for (key, list) in [("sources", &t.sources), ("outputs", &t.outputs)] {
            for path in list {
                self.fields(path.get_ref(), path.span(), key, &fields, params);
            }
        }
        for value in t.env.values() {
            self.fields(
                &value.get_ref().text(),
                value.span(),
                "env",
                &fields,
                params,
            );
        }
        if let Some(cwd) = &t.cwd {
            self.fields(cwd.get_ref(), cwd.span(), "cwd", &fields, params);
        }
        let mut deps = Vec::with_capacity(t.deps.len());
        deps.extend(t.deps.iter().filter_map(|d| {
            if d.get_ref().starts_with('@') {
                if &**d.get_ref() == "@no-failures" {
                    Some(Dep::NoFailures)
                } else {
                    self.push(
                        Problem::new(
                            self.file,
                            d.span(),
                            format!("unknown special dependency `{}`", &**d.get_ref()),
                        )
                        .with_label("unknown")
                        .maybe_help(
                            did_you_mean(&suggest(d.get_ref(), SPECIAL_DEPS)).or_else(|| {
                                Some(format!("special dependencies: {}", SPECIAL_DEPS.join(", ")))
                            }),
                        ),
                    );
                    None
                }
            } else {
                Some(Dep::Task(d.get_ref().0.clone()))
            }
        }));
        self.log_ignore(&t.log_ignore, &t.log_ignore_if_succeeded);
        let plain = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.get_ref().clone()).collect();
        let choices = with_shared_choices(&pattern, task_choices(t), &self.shared_choices);
        let rare = Rare {
            template,
            choices,
            args: t.args.iter().map(|(k, v)| (k.clone(), v.text())).collect(),
            rdeps: plain(&t.rdeps),
            when_scheduled: plain(&t.when_scheduled),
            when_target_scheduled: plain(&t.when_target_scheduled),
            locks: t.locks.clone(),
            uses: self.uses(&t.uses, settings),
            env: t
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().text()))
                .collect(),
            cwd: t.cwd.as_ref().map(|c| PathBuf::from(c.get_ref())),
            resources: parade::exec::ResourceHints {
                cpus: t.cpus,
                mem: t.mem.clone(),
                time: t.time.clone(),
                partition: t.partition.clone(),
                account: t.account.clone(),
                extra: t.sbatch_args.clone(),
            },
            shell: None,
            aliases: Vec::new(),
            log_ignore: plain(&t.log_ignore),
            log_ignore_if_succeeded: plain(&t.log_ignore_if_succeeded),
        };
        let run = t
            .run
            .as_ref()
            .map(|r| r.get_ref().clone())
            .unwrap_or_default();
        let mut task = Task::new(
            name.get_ref().clone(),
            pattern,
            run,
            deps,
            raw.span().start,
            rare,
        );
        task.description.clone_from(&t.description);
        task.timeout = t.timeout.map(|d| d.0).or(settings.timeout);
        task.wave = t.wave;
        task.sources = plain(&t.sources);
        task.outputs = plain(&t.outputs);
        Some(task)
    }

    /// Every `log_ignore` pattern is a valid regular expression.
    fn log_ignore(&mut self, always: &[Spanned<String>], if_succeeded: &[Spanned<String>]) {
        for (key, pattern) in always
            .iter()
            .map(|p| ("log_ignore", p))
            .chain(if_succeeded.iter().map(|p| ("log_ignore_if_succeeded", p)))
        {
            if let Err(e) = parade::display::LogIgnore::new().always(pattern.get_ref()) {
                self.push(
                    Problem::new(
                        self.file,
                        pattern.span(),
                        format!("`{key}` pattern {:?} is not a regular expression", e.pattern),
                    )
                    .with_label(e.message)
                    .maybe_help(Some(
                        "patterns use Rust's regex syntax (https://docs.rs/regex); escape a literal `(` as `\\(`"
                            .to_owned(),
                    )),
                );
            }
        }
    }

    /// A task has `run` or `template`, not both and not neither; the template keys go with
    /// `template`; fields in either must be known. Returns the template job, if it is one.
    fn command(
        &mut self,
        raw: &Spanned<RawTask>,
        holes: &[&str],
        params: &BTreeMap<String, String>,
    ) -> Option<TemplateSpec> {
        let t = raw.get_ref();
        if let Some(run) = &t.run {
            self.fields(run.get_ref(), run.span(), "run", holes, params);
        }
        let Some(template) = &t.template else {
            if t.run.is_none() {
                self.push(
                    Problem::new(self.file, raw.span(), "missing key `run`")
                        .with_label("in this table")
                        .with_help(
                            "every task needs a command: run = \"...\", or a template job: \
                             template = \"DIR\"",
                        ),
                );
            }
            let stray = [
                ("job_dir", t.job_dir.as_ref().map(Spanned::span)),
                ("kwargs", t.kwargs.as_ref().map(Spanned::span)),
                ("inputs", t.inputs.first().map(Spanned::span)),
                ("script", t.script.as_ref().map(Spanned::span)),
            ];
            for (key, span) in stray {
                if let Some(span) = span {
                    self.push(
                        Problem::new(self.file, span, format!("`{key}` needs `template`"))
                            .with_label("only for template jobs")
                            .with_help("name the template directory: template = \"DIR\""),
                    );
                }
            }
            return None;
        };
        if t.run.is_some() {
            self.push(
                Problem::new(
                    self.file,
                    template.span(),
                    "a task has either `run` or `template`, not both",
                )
                .with_label("a second command")
                .with_help(
                    "a template job runs its template's script: remove `run`, or remove \
                     `template` to run a shell command",
                ),
            );
        }
        self.fields(
            template.get_ref(),
            template.span(),
            "template",
            holes,
            params,
        );
        if let Some(dir) = &t.job_dir {
            self.fields(dir.get_ref(), dir.span(), "job_dir", holes, params);
        }
        if let Some(script) = &t.script {
            self.fields(script.get_ref(), script.span(), "script", holes, params);
        }
        for input in &t.inputs {
            self.fields(input.get_ref(), input.span(), "inputs", holes, params);
        }
        let kwargs = match &t.kwargs {
            Some(table) => {
                let value = serde_json::to_value(table.get_ref()).unwrap_or_default();
                let mut texts = Vec::new();
                strings(&value, &mut texts);
                for text in texts {
                    self.fields(&text, table.span(), "kwargs", holes, params);
                }
                value
            }
            None => serde_json::Value::Object(serde_json::Map::new()),
        };
        Some(TemplateSpec {
            dir: template.get_ref().clone(),
            job_dir: t.job_dir.as_ref().map(|d| d.get_ref().clone()),
            kwargs,
            inputs: t.inputs.iter().map(|i| i.get_ref().clone()).collect(),
            script: t.script.as_ref().map(|s| s.get_ref().clone()),
            can_resume: t.can_resume,
        })
    }

    /// `{name}` and `{params.key}` in the text of `key` must name a placeholder or a param;
    /// in the keys whose other braces are left as written ([`LEFT_AS_WRITTEN`]), an unknown
    /// `{name}` is a warning when it is close to a field.
    fn fields(
        &mut self,
        text: &str,
        span: Range<usize>,
        key: &str,
        holes: &[&str],
        params: &BTreeMap<String, String>,
    ) {
        for field in crate::shell::fields(text) {
            let known = match field.strip_prefix("params.") {
                Some(key) => params.contains_key(key),
                None => holes.contains(&field),
            };
            if known {
                continue;
            }
            if LEFT_AS_WRITTEN.contains(&key) && !field.starts_with("params.") {
                // Shell code and environment values: braces that are no field are left as
                // written (`${x}`, `{a,b}`); `check` warns when one is close to a field.
                if !text.contains(&format!("${{{field}}}")) {
                    self.maybe_misspelt(field, &span, holes, params);
                }
                continue;
            }
            let token = format!("{{{field}}}");
            let at = self.file.text[span.clone()]
                .find(&token)
                .map_or(span.clone(), |i| {
                    span.start + i..span.start + i + token.len()
                });
            let candidates: Vec<String> = holes
                .iter()
                .map(|h| (*h).to_owned())
                .chain(params.keys().map(|k| format!("params.{k}")))
                .collect();
            let help = did_you_mean(&suggest(field, candidates.iter().map(String::as_str)))
                .or_else(|| Some(format!("`{key}` can use the task's placeholders, {{params.KEY}}, and {{{{ }}}} for literal braces")));
            self.push(
                Problem::new(
                    self.file,
                    at,
                    format!("`{{{field}}}` is neither a placeholder of this task nor a param"),
                )
                .with_label("unknown field")
                .maybe_help(help),
            );
        }
    }

    /// Dependencies and rdeps must name tasks that exist, with placeholders the task has.
    fn references(
        &mut self,
        raw: &Spanned<RawTask>,
        task: &Task,
        all: &Views<'_>,
        settings: &Settings,
    ) {
        let t = raw.get_ref();
        // Rdeps (and their `when_*` forms) are rules matched against the tasks wanted: a
        // placeholder the task lacks stands for any value (parproc's `rdeps=["deploy::[env]"]`
        // on a plain `setup`: every wanted `deploy::*`).
        let deps = t.deps.iter().map(|d| (&**d.get_ref(), d.span(), false));
        let rules = [&t.rdeps, &t.when_scheduled, &t.when_target_scheduled]
            .into_iter()
            .flatten()
            .map(|d| (d.get_ref().as_str(), d.span(), true));
        for (text, at, rule) in deps.chain(rules) {
            if text.starts_with('@') {
                continue;
            }
            if let Some(p) = self.reference(text, at, task, all, settings, rule) {
                self.push(p);
            }
        }
    }

    fn reference(
        &self,
        text: &str,
        at: Range<usize>,
        task: &Task,
        all: &Views<'_>,
        settings: &Settings,
        rule: bool,
    ) -> Option<Problem> {
        if !has_brackets(text) {
            // No placeholders (most references): the name is looked up as it is, with no
            // pattern parsed nor placeholders gathered.
            return if all.has(text) {
                None
            } else {
                self.concrete(text, text, at, all, settings)
            };
        }
        let dep = match Pattern::parse(text) {
            Ok(p) => p,
            Err(e) => return Some(Problem::new(self.file, at, e).with_label("bad task name")),
        };
        let mut holes = task.pattern.placeholders();
        holes.extend(
            task.args
                .keys()
                .map(String::as_str)
                .filter(|k| !task.pattern.placeholders().contains(k)),
        );
        let free: Vec<&str> = dep
            .placeholders()
            .into_iter()
            .filter(|h| !holes.contains(h))
            .collect();
        if rule && !free.is_empty() {
            return self.rule_target(&dep, text, at, task, all, settings);
        }
        for h in dep.placeholders() {
            if !holes.contains(&h) {
                let help = did_you_mean(&suggest(h, holes.iter().copied())).or_else(|| {
                    Some(if holes.is_empty() {
                        format!("\"{}\" has no placeholders to pass on", task.name)
                    } else {
                        format!("placeholders of \"{}\": {}", task.name, holes.join(", "))
                    })
                });
                return Some(
                    Problem::new(
                        self.file,
                        at,
                        format!("`[{h}]` is not a placeholder of \"{}\"", task.name),
                    )
                    .with_label("unknown placeholder")
                    .maybe_help(help),
                );
            }
        }
        if all.has(text) {
            return None;
        }
        // Fill the dependency's placeholders with the task's choices (or a stand-in value).
        let mut candidates = vec![BTreeMap::new()];
        for h in dep.placeholders() {
            let values = task
                .choices
                .get(h)
                .cloned()
                .or_else(|| task.args.get(h).map(|v| vec![v.clone()]))
                .unwrap_or_else(|| vec!["x".to_owned()]);
            candidates = candidates
                .into_iter()
                .flat_map(|args: BTreeMap<String, String>| {
                    values.iter().map(move |v| {
                        let mut a = args.clone();
                        a.insert(h.to_owned(), v.clone());
                        a
                    })
                })
                .take(1000)
                .collect();
        }
        for args in candidates {
            let name = dep.fill(&args);
            if let Some(p) = self.concrete(&name, text, at.clone(), all, settings) {
                return Some(p);
            }
        }
        None
    }

    /// An rdep rule with placeholders the task lacks must match some task: filled from the
    /// task's own values (a stand-in for the free ones), some task's name or pattern takes it.
    fn rule_target(
        &self,
        dep: &Pattern,
        shown: &str,
        at: Range<usize>,
        task: &Task,
        all: &Views<'_>,
        settings: &Settings,
    ) -> Option<Problem> {
        let args: BTreeMap<String, String> = dep
            .placeholders()
            .into_iter()
            .map(|h| {
                let v = task
                    .args
                    .get(h)
                    .or_else(|| task.choices.get(h).and_then(|c| c.first()))
                    .map_or("x", String::as_str);
                (h.to_owned(), v.to_owned())
            })
            .collect();
        let name = dep.fill(&args);
        let sep = &settings.separator;
        let known = all.has(shown) || all.has(&name) || all.matching(&name, sep).is_some();
        if known || settings.allow_missing_deps {
            return None;
        }
        let help = did_you_mean(&suggest(shown, all.all.iter().map(|v| v.name)));
        Some(
            Problem::new(self.file, at, format!("no task matches \"{shown}\""))
                .with_label("no such task")
                .maybe_help(help),
        )
    }

    /// A concrete (possibly globbed) name must be a task or an allowed instance of a pattern.
    fn concrete(
        &self,
        name: &str,
        shown: &str,
        at: Range<usize>,
        all: &Views<'_>,
        settings: &Settings,
    ) -> Option<Problem> {
        let sep = &settings.separator;
        if all.has(name) {
            return None;
        }
        let matched = all.matching(name, sep);
        let Some((view, args)) = matched else {
            if settings.allow_missing_deps {
                return None;
            }
            let help =
                did_you_mean(&suggest(shown, all.all.iter().map(|v| v.name))).or_else(|| {
                    Some(format!(
                        "tasks: {}",
                        all.all
                            .iter()
                            .map(|v| v.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                });
            return Some(
                Problem::new(self.file, at, format!("unknown task \"{shown}\""))
                    .with_label("no such task")
                    .maybe_help(help),
            );
        };
        for (key, value) in &args {
            let choices = view.choices.get(key);
            if is_glob(value) {
                let Some(choices) = choices else {
                    return Some(
                        Problem::new(self.file, at, format!("glob \"{value}\" for `{key}` of \"{}\" needs choices to expand over", view.name))
                            .with_label("glob without choices")
                            .with_help(format!("add choices = {{ {key} = [...] }} to \"{}\", or name one task", view.name)),
                    );
                };
                if !choices.iter().any(|c| glob_match(value, c)) {
                    return Some(
                        Problem::new(
                            self.file,
                            at,
                            format!("glob \"{value}\" matches none of the choices for `{key}`"),
                        )
                        .with_label("matches nothing")
                        .with_help(format!("choices: {}", choices.join(", "))),
                    );
                }
            } else if let Some(choices) = choices
                && !choices.contains(value)
            {
                return Some(
                    Problem::new(
                        self.file,
                        at,
                        format!(
                            "\"{value}\" is not a choice for `{key}` of \"{}\"",
                            view.name
                        ),
                    )
                    .with_label("not a choice")
                    .with_help(format!("choices: {}", choices.join(", "))),
                );
            }
        }
        None
    }
}

/// The most tasks `parallel` lets run at once (as `parade run -j`).
pub const MAX_PARALLEL: usize = 4096;

/// The keys whose `{name}` that is no field is left as written (shell code, environment
/// values, the working directory), as `run` leaves it: `check` warns about a misspelt one
/// instead of refusing it. An unknown `{params.KEY}` is an error everywhere.
const LEFT_AS_WRITTEN: [&str; 3] = ["run", "env", "cwd"];

/// The longest task name, alias or target accepted, in bytes.
pub const MAX_NAME_LEN: usize = 1024;

/// Checks of the keys for shells, arguments and shared definitions (`shell`, `aliases`,
/// `retries`, `[settings] default`, `dotenv`), and warnings about misspelt fields.
impl Check<'_> {
    fn more_settings(raw: &RawFile, out: &mut Settings) {
        let s = &raw.settings;
        out.default = s.default.as_ref().map(|d| d.get_ref().clone());
        out.dotenv = s.dotenv.as_ref().map(PathBuf::from);
        out.retries = s.retries.unwrap_or(0);
    }

    /// A task's `shell`, `aliases` and `retries`; a `#!` script in a language other than the
    /// shell may not use fields.
    fn task_extras(&mut self, task: &mut Task, raw: &Spanned<RawTask>, settings: &Settings) {
        let t = raw.get_ref();
        if let Some(shell) = &t.shell {
            if shell.get_ref().is_empty() {
                self.push(
                    Problem::new(self.file, shell.span(), "`shell` needs a program")
                        .with_label("empty")
                        .with_help(
                            "for example: shell = [\"bash\", \"-e\", \"-o\", \"pipefail\", \"-c\"]",
                        ),
                );
            } else {
                task.rare_mut().shell = Some(shell.get_ref().clone());
            }
        }
        if !t.aliases.is_empty() {
            task.rare_mut().aliases = t.aliases.iter().map(|a| a.get_ref().clone()).collect();
        }
        task.retries = t.retries.unwrap_or(settings.retries);
        if let (Some(run), Some(line)) = (&t.run, crate::shell::shebang(&task.run))
            && !line.is_shell()
        {
            let holes = task.pattern.placeholders();
            if let Some(field) = crate::shell::fields(&task.run)
                .into_iter()
                .find(|f| holes.contains(f) || f.starts_with("params."))
            {
                self.push(
                    Problem::new(
                        self.file,
                        run.span(),
                        format!("`{{{field}}}` in a `{}` script", line.program),
                    )
                    .with_label("not a shell script")
                    .with_help(
                        "only shell scripts get fields filled (a value must never become code); \
                         read it from the environment: PARADE_ARG_<NAME>, PARADE_PARAM_<KEY>",
                    ),
                );
            }
        }
    }

    /// Names, aliases and the default task: not too long, each alias one task's, the default a
    /// task.
    fn names(
        &mut self,
        tasks: &[Task],
        entries: &[(&Spanned<String>, &Spanned<RawTask>)],
        raw: &RawFile,
        settings: &Settings,
    ) {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        // The task names, to find an alias that is one, made only when some task has aliases.
        let mut names: Option<foldhash::HashSet<&str>> = None;
        for task in tasks {
            let long = task
                .choices
                .iter()
                .flat_map(|(k, v)| v.iter().map(move |v| (k, v)));
            if let Some((key, value)) = long.into_iter().find(|(_, v)| v.len() > MAX_NAME_LEN) {
                self.push(
                    Problem::new(
                        self.file,
                        task.offset..task.offset + 1,
                        format!(
                            "a choice of {} bytes for `{key}`; names are at most {MAX_NAME_LEN} bytes",
                            value.len()
                        ),
                    )
                    .with_label("in this task"),
                );
            }
        }
        for (name, raw) in entries {
            if name.get_ref().len() > MAX_NAME_LEN {
                self.push(
                    Problem::new(
                        self.file,
                        name.span().start..name.span().start + 1,
                        format!(
                            "a task name of {} bytes; names are at most {MAX_NAME_LEN} bytes",
                            name.get_ref().len()
                        ),
                    )
                    .with_label("name too long"),
                );
            }
            for alias in &raw.get_ref().aliases {
                let a = alias.get_ref().as_str();
                let names =
                    names.get_or_insert_with(|| tasks.iter().map(|t| t.name.as_str()).collect());
                let clash = if names.contains(a) {
                    Some(format!("`{a}` is already the name of a task"))
                } else {
                    seen.insert(a, name.get_ref())
                        .map(|other| format!("`{a}` is already an alias of \"{other}\""))
                };
                if let Some(message) = clash {
                    self.push(
                        Problem::new(self.file, alias.span(), message)
                            .with_label("alias taken")
                            .with_help("an alias names one task"),
                    );
                }
            }
        }
        if let (Some(default), Some(name)) = (&raw.settings.default, &settings.default) {
            let known = tasks.iter().any(|t| {
                &t.name == name
                    || t.aliases.contains(name)
                    || t.pattern.matches(name, &settings.separator).is_some()
            });
            if !known {
                let names = tasks.iter().map(|t| t.name.as_str());
                let help = did_you_mean(&suggest(name, names.clone()))
                    .unwrap_or_else(|| format!("tasks: {}", names.collect::<Vec<_>>().join(", ")));
                self.push(
                    Problem::new(
                        self.file,
                        default.span(),
                        format!("unknown task \"{name}\""),
                    )
                    .with_label("the default task")
                    .with_help(help),
                );
            }
        }
    }

    /// Top-level `[env]` values are filled with each task's fields: a `{name}` that is a field
    /// of no task is left as written, and warned about when it is close to one.
    fn shared_env(&mut self, raw: &RawFile, tasks: &[Task], params: &BTreeMap<String, String>) {
        let mut holes: Vec<&str> = tasks
            .iter()
            .flat_map(|t| {
                t.pattern
                    .placeholders()
                    .into_iter()
                    .chain(t.args.keys().map(String::as_str))
            })
            .collect();
        holes.sort_unstable();
        holes.dedup();
        for value in raw.env.values() {
            self.fields(&value.get_ref().text(), value.span(), "env", &holes, params);
        }
    }

    /// `{field}` that is no field is left as written; when it is close to one, `check` warns.
    fn maybe_misspelt(
        &mut self,
        field: &str,
        span: &Range<usize>,
        holes: &[&str],
        params: &BTreeMap<String, String>,
    ) {
        let candidates: Vec<String> = holes
            .iter()
            .map(|h| (*h).to_owned())
            .chain(params.keys().map(|k| format!("params.{k}")))
            .collect();
        // A param named without `params.` is the likeliest slip of all.
        let best = suggest(field, candidates.iter().map(String::as_str))
            .first()
            .map(|c| (*c).to_owned())
            .or_else(|| {
                suggest(field, params.keys().map(String::as_str))
                    .first()
                    .map(|k| format!("params.{k}"))
            });
        let Some(best) = best else {
            return;
        };
        let token = format!("{{{field}}}");
        let at = self.file.text[span.clone()]
            .find(&token)
            .map_or(span.start, |i| span.start + i);
        let (line, col) = self.file.line_col(at);
        self.warnings.push(format!(
            "{}:{line}:{col}: `{token}` is not a field of this task and is left as written; \
             did you mean `{{{best}}}`?",
            self.file.name
        ));
    }
}

/// What included files add to `[params]`, `[env]` and `[choices]`: what the including file
/// says wins.
fn merge_included(
    included: &[Included],
    check: &mut Check<'_>,
    params: &mut BTreeMap<String, String>,
    param_commands: &mut BTreeMap<String, String>,
    env: &mut Vec<(String, String)>,
) {
    for inc in included {
        for (k, v) in shared_choices(&inc.raw) {
            check.shared_choices.entry(k).or_insert(v);
        }
        let (p, c) = self::params(&inc.raw);
        for (k, v) in p {
            if let std::collections::btree_map::Entry::Vacant(slot) = params.entry(k) {
                if let Some(cmd) = c.get(slot.key()) {
                    param_commands.insert(slot.key().clone(), cmd.clone());
                }
                slot.insert(v);
            }
        }
        for (k, v) in &inc.raw.env {
            if !env.iter().any(|(e, _)| e == k) {
                env.insert(0, (k.clone(), v.get_ref().text()));
            }
        }
    }
}

/// Checks the tasks of included files, each against its own text (problems point into it),
/// and adds them to `tasks`; a name defined twice is an error.
fn check_included<'a>(
    included: &'a [Included],
    main: &mut Check<'_>,
    tasks: &'a [Task],
    added: &mut Vec<Task>,
    views: &Views<'_>,
    settings: &Settings,
    params: &BTreeMap<String, String>,
) {
    // Every name defined so far (the main file's, then each included file's in turn): one
    // lookup per included task, not a search of every task.
    let mut defined: foldhash::HashSet<&'a str> = tasks.iter().map(|t| t.name.as_str()).collect();
    for inc in included {
        let mut check = Check {
            file: &inc.source,
            problems: Vec::new(),
            warnings: Vec::new(),
            shared_choices: main.shared_choices.clone(),
        };
        let mut entries: Vec<(&Spanned<String>, &Spanned<RawTask>)> =
            inc.raw.task.iter().map(|(k, v)| (k, v)).collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (name, raw) in &entries {
            if defined.contains(name.get_ref().as_str()) {
                check.push(
                    Problem::new(
                        &inc.source,
                        name.span(),
                        format!("task \"{}\" is defined already", name.get_ref()),
                    )
                    .with_label("a second definition")
                    .with_help("a name is defined in one file; rename one of them"),
                );
                continue;
            }
            let Some(mut task) = check.task(name, raw, settings, params) else {
                continue;
            };
            check.task_extras(&mut task, raw, settings);
            check.references(raw, &task, views, settings);
            defined.insert(name.get_ref());
            added.push(task);
        }
        main.problems.append(&mut check.problems);
        main.warnings.append(&mut check.warnings);
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    use crate::taskfile::parse_text;

    /// A 100k-task file checks with a constant number of name lookups per reference: the
    /// references are resolved through an index, not by a walk over every task.
    #[test]
    fn checking_a_100k_task_file_is_linear_in_references() {
        let n = 100_000;
        let mut text = String::with_capacity(n * 48);
        for i in 0..n {
            let _ = write!(text, "[task.t{i}]\nrun = \"echo {i}\"\n");
            if i > 0 {
                let _ = writeln!(text, "deps = [\"t{}\", \"t{}\"]", i - 1, i / 2);
            }
        }
        // One pattern, with references to its instances: each costs a miss and one match.
        text.push_str("[task.\"p::[x]\"]\nrun = \"echo {x}\"\nchoices = { x = [\"a\", \"b\"] }\n");
        text.push_str("[task.all]\nrun = \"true\"\ndeps = [\"p::a\", \"p::*\", \"t99999\"]\n");
        let references = 2 * (n as u64 - 1) + 3;
        let before = name_lookups();
        let file = parse_text(text).expect("the file checks");
        let lookups = name_lookups() - before;
        assert_eq!(file.tasks.len(), n + 2);
        assert!(
            lookups <= 2 * references,
            "{lookups} name lookups for {references} references"
        );
        assert!(lookups >= references, "every reference is looked up");
    }

    #[test]
    fn an_unknown_reference_is_still_reported_with_a_suggestion() {
        let err = parse_text(
            "[task.build]\nrun = \"true\"\n[task.all]\nrun = \"true\"\ndeps = [\"biuld\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown task \"biuld\""), "{err}");
    }
}
