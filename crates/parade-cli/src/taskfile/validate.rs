//! From text to a checked [`TaskFile`]: TOML and serde errors, then the checks serde cannot
//! make (placeholders, choices, dependencies), every problem with its place in the file.

use std::collections::BTreeMap;
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
    let tasks: Vec<Task> = entries
        .iter()
        .filter_map(|(name, raw)| check.task(name, raw, &settings, &params))
        .collect();
    let views = tasks_snapshot(&entries);
    for task in &tasks {
        if let Some((_, raw)) = entries.iter().find(|(k, _)| *k.get_ref() == task.name) {
            check.references(raw, task, &views, &settings);
        }
    }
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

fn tasks_snapshot(entries: &[(&Spanned<String>, &Spanned<RawTask>)]) -> Vec<View> {
    entries
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
        .collect()
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
            args: t.args.iter().map(|(k, v)| (k.clone(), v.text())).collect(),
            deps,
            rdeps: plain(&t.rdeps),
            when_scheduled: plain(&t.when_scheduled),
            when_target_scheduled: plain(&t.when_target_scheduled),
            locks: t.locks.clone(),
            env: t.env.iter().map(|(k, v)| (k.clone(), v.text())).collect(),
            cwd: t.cwd.as_ref().map(PathBuf::from),
            timeout: t.timeout.map(|d| d.0).or(settings.timeout),
            wave: t.wave,
            resources: parade::exec::ResourceHints {
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
        all: &[View],
        settings: &Settings,
    ) {
        let t = raw.get_ref();
        // Rdeps (and their `when_*` forms) are rules matched against the tasks wanted: a
        // placeholder the task lacks stands for any value (parproc's `rdeps=["deploy::[env]"]`
        // on a plain `setup`: every wanted `deploy::*`).
        let lists = [
            (&t.deps, false),
            (&t.rdeps, true),
            (&t.when_scheduled, true),
            (&t.when_target_scheduled, true),
        ];
        for (list, rule) in lists {
            for item in list {
                if item.get_ref().starts_with('@') {
                    continue;
                }
                if let Some(p) = self.reference(item, task, all, settings, rule) {
                    self.push(p);
                }
            }
        }
    }

    fn reference(
        &self,
        item: &Spanned<String>,
        task: &Task,
        all: &[View],
        settings: &Settings,
        rule: bool,
    ) -> Option<Problem> {
        let text = item.get_ref();
        let at = item.span();
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
        if all.iter().any(|v| &v.name == text) {
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
        all: &[View],
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
        let known = all
            .iter()
            .any(|v| v.name == shown || v.name == name || v.pattern.matches(&name, sep).is_some());
        if known || settings.allow_missing_deps {
            return None;
        }
        let help = did_you_mean(&suggest(shown, all.iter().map(|v| v.name.as_str())));
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
        all: &[View],
        settings: &Settings,
    ) -> Option<Problem> {
        let sep = &settings.separator;
        if all.iter().any(|v| v.name == name) {
            return None;
        }
        let matched = all
            .iter()
            .filter(|v| !v.pattern.is_concrete())
            .find_map(|v| v.pattern.matches(name, sep).map(|args| (v, args)));
        let Some((view, args)) = matched else {
            if settings.allow_missing_deps {
                return None;
            }
            let help =
                did_you_mean(&suggest(shown, all.iter().map(|v| v.name.as_str()))).or_else(|| {
                    Some(format!(
                        "tasks: {}",
                        all.iter()
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
