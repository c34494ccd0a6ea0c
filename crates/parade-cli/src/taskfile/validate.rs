//! From text to a checked [`TaskFile`]: TOML and serde errors, then the checks serde cannot
//! make (placeholders, choices, dependencies), every problem with its place in the file.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::diagnostic::{HELP_MARK, Problem, SourceFile, TaskFileError, did_you_mean, suggest};
use super::model::{Dep, RawFile, RawTask, SPECIAL_DEPS, Settings, Task, TaskFile, TemplateSpec};
use super::pattern::{Pattern, glob_match, is_glob};

/// Reads and checks a task file's text. Every problem found is reported, in file order.
pub fn parse(path: PathBuf, source: SourceFile) -> Result<TaskFile, TaskFileError> {
    let raw: RawFile = toml::from_str(&source.text)
        .map_err(|e| TaskFileError::from_problems(&source, vec![serde_problem(&source, &e)]))?;
    let mut check = Check {
        file: &source,
        problems: Vec::new(),
    };
    let settings = check.settings(&raw);
    let params: BTreeMap<String, String> = raw
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.text()))
        .collect();
    let mut entries: Vec<(&Spanned<String>, &Spanned<RawTask>)> = raw.task.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    // Each checked task keeps the index of its entry: no search by name per task.
    let checked: Vec<(usize, Task)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, (name, raw))| Some((i, check.task(name, raw, &settings, &params)?)))
        .collect();
    let views = Views::new(&entries);
    for (i, task) in &checked {
        check.references(entries[*i].1, task, &views, &settings);
    }
    let tasks: Vec<Task> = checked.into_iter().map(|(_, t)| t).collect();
    if check.problems.is_empty() {
        Ok(TaskFile {
            path,
            source,
            settings,
            params,
            tasks,
        })
    } else {
        Err(TaskFileError::from_problems(&source, check.problems))
    }
}

/// A lightweight view of every task for reference checks: name, pattern, choices.
struct View {
    name: String,
    pattern: Pattern,
    choices: BTreeMap<String, Vec<String>>,
}

/// Every task's view, with an index by exact name and the list of patterns, so a reference
/// costs one hash lookup (and a walk over the patterns only when it names no task): checking
/// is linear in the number of tasks and references.
struct Views {
    all: Vec<View>,
    by_name: HashSet<String>,
    patterns: Vec<usize>,
}

impl Views {
    fn new(entries: &[(&Spanned<String>, &Spanned<RawTask>)]) -> Self {
        let all: Vec<View> = entries
            .iter()
            .filter_map(|(name, raw)| {
                Some(View {
                    name: name.get_ref().clone(),
                    pattern: Pattern::parse(name.get_ref()).ok()?,
                    choices: raw
                        .get_ref()
                        .choices
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.get_ref().clone(),
                                v.iter().map(super::Scalar::text).collect(),
                            )
                        })
                        .collect(),
                })
            })
            .collect();
        let by_name = all.iter().map(|v| v.name.clone()).collect();
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
    fn matching(&self, name: &str, sep: &str) -> Option<(&View, BTreeMap<String, String>)> {
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

/// Every string in `value`, depth first.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
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
}

impl Check<'_> {
    fn settings(&mut self, raw: &RawFile) -> Settings {
        let s = &raw.settings;
        let mut out = Settings::default();
        if let Some(p) = &s.parallel {
            match usize::try_from(*p.get_ref()) {
                Ok(n) if n >= 1 => out.parallel = Some(n),
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
        let template = self.command(raw, &holes, params);
        let deps = t
            .deps
            .iter()
            .filter_map(|d| {
                if d.get_ref().starts_with('@') {
                    if d.get_ref() == "@no-failures" {
                        Some(Dep::NoFailures)
                    } else {
                        self.push(
                            Problem::new(
                                self.file,
                                d.span(),
                                format!("unknown special dependency `{}`", d.get_ref()),
                            )
                            .with_label("unknown")
                            .maybe_help(
                                did_you_mean(&suggest(d.get_ref(), SPECIAL_DEPS)).or_else(|| {
                                    Some(format!(
                                        "special dependencies: {}",
                                        SPECIAL_DEPS.join(", ")
                                    ))
                                }),
                            ),
                        );
                        None
                    }
                } else {
                    Some(Dep::Task(d.get_ref().clone()))
                }
            })
            .collect();
        let plain = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.get_ref().clone()).collect();
        Some(Task {
            name: name.get_ref().clone(),
            pattern,
            description: t.description.clone(),
            run: t
                .run
                .as_ref()
                .map(|r| r.get_ref().clone())
                .unwrap_or_default(),
            template,
            choices: t
                .choices
                .iter()
                .map(|(k, v)| {
                    (
                        k.get_ref().clone(),
                        v.iter().map(super::Scalar::text).collect(),
                    )
                })
                .collect(),
            deps,
            rdeps: plain(&t.rdeps),
            when_scheduled: plain(&t.when_scheduled),
            when_target_scheduled: plain(&t.when_target_scheduled),
            locks: t.locks.clone(),
            uses: self.uses(&t.uses, settings),
            env: t.env.iter().map(|(k, v)| (k.clone(), v.text())).collect(),
            cwd: t.cwd.as_ref().map(PathBuf::from),
            timeout: t.timeout.map(|d| d.0).or(settings.timeout),
            wave: t.wave,
            resources: parade::exec::Resources {
                cpus: t.cpus,
                mem: t.mem.clone(),
                time: t.time.clone(),
                partition: t.partition.clone(),
                account: t.account.clone(),
                extra: t.sbatch_args.clone(),
            },
            offset: raw.span().start,
        })
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

    /// `{name}` and `{params.key}` in the text of `key` must name a placeholder or a param.
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
        all: &Views,
        settings: &Settings,
    ) {
        let t = raw.get_ref();
        let lists = [
            &t.deps,
            &t.rdeps,
            &t.when_scheduled,
            &t.when_target_scheduled,
        ];
        for item in lists.into_iter().flatten() {
            if item.get_ref().starts_with('@') {
                continue;
            }
            if let Some(p) = self.reference(item, task, all, settings) {
                self.push(p);
            }
        }
    }

    fn reference(
        &self,
        item: &Spanned<String>,
        task: &Task,
        all: &Views,
        settings: &Settings,
    ) -> Option<Problem> {
        let text = item.get_ref();
        let at = item.span();
        let dep = match Pattern::parse(text) {
            Ok(p) => p,
            Err(e) => return Some(Problem::new(self.file, at, e).with_label("bad task name")),
        };
        let holes = task.pattern.placeholders();
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

    /// A concrete (possibly globbed) name must be a task or an allowed instance of a pattern.
    fn concrete(
        &self,
        name: &str,
        shown: &str,
        at: Range<usize>,
        all: &Views,
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
            let help = did_you_mean(&suggest(shown, all.all.iter().map(|v| v.name.as_str())))
                .or_else(|| {
                    Some(format!(
                        "tasks: {}",
                        all.all
                            .iter()
                            .map(|v| v.name.as_str())
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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn parse_text(text: String) -> Result<TaskFile, TaskFileError> {
        let source = SourceFile {
            name: "parade.toml".into(),
            text,
        };
        parse(PathBuf::from("parade.toml"), source)
    }

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
            "[task.build]\nrun = \"true\"\n[task.all]\nrun = \"true\"\ndeps = [\"biuld\"]\n".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown task \"biuld\""), "{err}");
    }
}
