//! Plans as text for people and tools: the dry run, and `parade graph` as Graphviz `dot`,
//! a Mermaid flowchart or indented text.

use crate::runner::Plan;

/// The widest a name column gets in listings; longer names overflow it.
pub const MAX_COLUMN: usize = 60;

/// The dry run: the tasks in the order they would start, grouped by wave, each with its locks,
/// why it is in the plan, and the command it would run (placeholders filled, indented under it,
/// as `make -n` prints commands).
pub fn dry_run(plan: &Plan) -> String {
    written(|out| write_dry_run::<&str>(plan, None, out))
}

/// [`dry_run`] written to `out` as it is made: the text of a large plan is never held whole
/// (give a buffered writer). With `decisions` (one per task of the plan, in its order:
/// `runs: never ran`, as [`crate::uptodate::dry_run`] gives them), each task's decision follows
/// it, and a footer counts what would run and what is up to date.
///
/// Errors: those of `out`.
pub fn write_dry_run<S: AsRef<str>>(
    plan: &Plan,
    decisions: Option<&[S]>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write as _;
    // Capped: a longer name overflows its column (and a format width must stay small).
    let width = plan
        .tasks
        .iter()
        .map(|t| columns(&t.name))
        .max()
        .unwrap_or(0)
        .min(MAX_COLUMN);
    let waves = plan.tasks.iter().any(|t| t.wave > 0);
    let mut wave = None;
    // Lines are made in one buffer of bytes and handed to `out` a chunk at a time: a glob's
    // million tasks were fourteen calls each through `out`.
    let mut buf = Chunks::new(out);
    for (i, t) in plan.tasks.iter().enumerate() {
        let line = &mut buf.bytes;
        if waves && wave != Some(t.wave) {
            writeln!(line, "wave {}:", t.wave)?;
            wave = Some(t.wave);
        }
        // `{:>4}. {:<width$}  {}`, written without the formatting machinery (a million
        // lines of it were a tenth of a glob's dry run).
        let mut number = itoa_buffer();
        let number = decimal(i + 1, &mut number);
        line.extend_from_slice(&b"    "[number.len().min(4)..]);
        line.extend_from_slice(number);
        line.extend_from_slice(b". ");
        line.extend_from_slice(t.name.as_bytes());
        pad(line, width.saturating_sub(columns(&t.name)));
        line.extend_from_slice(b"  ");
        line.extend_from_slice(t.why.as_bytes());
        if !t.locks.is_empty() {
            write!(line, "; locks: {}", t.locks.join(", "))?;
        }
        if t.missing {
            line.extend_from_slice(b"; missing: nothing defines it");
        }
        line.push(b'\n');
        for command in t.command.iter().flat_map(|c| c.trim_end().lines()) {
            line.extend_from_slice(b"        $ ");
            line.extend_from_slice(command.as_bytes());
            line.push(b'\n');
        }
        buf.written()?;
    }
    let Some(decisions) = decisions else {
        buf.bytes
            .extend_from_slice(dry_run_footer(plan.tasks.len(), 0).as_bytes());
        return buf.finish();
    };
    let mut up = 0;
    for (t, why) in plan.tasks.iter().zip(decisions) {
        let why = why.as_ref();
        up += usize::from(why.starts_with("up to date"));
        let line = &mut buf.bytes;
        line.extend_from_slice(b"  ");
        line.extend_from_slice(t.name.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(why.as_bytes());
        line.push(b'\n');
        buf.written()?;
    }
    buf.bytes
        .extend_from_slice(dry_run_footer(plan.tasks.len() - up, up).as_bytes());
    buf.finish()
}

/// How many columns `name` takes: its characters (its bytes, for ASCII).
fn columns(name: &str) -> usize {
    if name.is_ascii() {
        name.len()
    } else {
        name.chars().count()
    }
}

/// Bytes made in memory and handed to a writer a chunk at a time.
struct Chunks<'o> {
    bytes: Vec<u8>,
    out: &'o mut dyn std::io::Write,
}

impl<'o> Chunks<'o> {
    /// About what a chunk holds before it is handed on.
    const CHUNK: usize = 1 << 16;

    fn new(out: &'o mut dyn std::io::Write) -> Self {
        Self {
            bytes: Vec::with_capacity(Self::CHUNK + 1024),
            out,
        }
    }

    /// Hands the bytes on once they fill a chunk.
    fn written(&mut self) -> std::io::Result<()> {
        if self.bytes.len() >= Self::CHUNK {
            self.out.write_all(&self.bytes)?;
            self.bytes.clear();
        }
        Ok(())
    }

    /// Hands the rest on.
    fn finish(self) -> std::io::Result<()> {
        self.out.write_all(&self.bytes)
    }
}

/// Room for a `usize` in decimal.
fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        // A digit: `n % 10` is below 10.
        buf[at] = b'0' + u8::try_from(n % 10).expect("a digit");
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// `n` spaces.
fn pad(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, b' ');
}

/// What `write` wrote, as text.
fn written(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("the plan's text is text")
}

/// `3 tasks would run, 2 up to date (dry run: nothing ran)`.
fn dry_run_footer(run: usize, up_to_date: usize) -> String {
    let s = if run == 1 { "" } else { "s" };
    if up_to_date == 0 {
        format!("{run} task{s} would run (dry run: nothing ran)\n")
    } else {
        format!("{run} task{s} would run, {up_to_date} up to date (dry run: nothing ran)\n")
    }
}

/// A plan as Graphviz `dot`.
pub fn dot(plan: &Plan) -> String {
    written(|out| write_dot(plan, out))
}

/// [`dot`] written to `out` as it is made (give a buffered writer): a large plan's text is
/// never held whole.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("parade.toml");
/// # std::fs::write(&path, "[task.a]\nrun = \"true\"\n[task.b]\nrun = \"true\"\ndeps = [\"a\"]\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// let plan = parade_cli::runner::plan_order(&file, &["b".to_owned()], &file.params).unwrap();
/// let mut out = Vec::new();
/// parade_cli::render::write_dot(&plan, &mut out).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "digraph parade {\n  rankdir=LR;\n  \"a\";\n  \"b\";\n  \"a\" -> \"b\";\n}\n"
/// );
/// ```
///
/// Errors: those of `out`.
pub fn write_dot(plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"digraph parade {\n  rankdir=LR;\n")?;
    for t in &plan.tasks {
        out.write_all(b"  ")?;
        write_quoted(out, &t.name)?;
        out.write_all(b";\n")?;
        for d in &t.deps {
            out.write_all(b"  ")?;
            write_quoted(out, d)?;
            out.write_all(b" -> ")?;
            write_quoted(out, &t.name)?;
            out.write_all(b";\n")?;
        }
    }
    out.write_all(b"}\n")
}

/// `name` quoted as Rust's `{:?}` quotes it: as is between quotes when nothing in it needs an
/// escape (a printable ASCII name without `"` or `\\`, the common case, copied without the
/// formatting machinery), else through `{:?}`.
fn write_quoted(out: &mut dyn std::io::Write, name: &str) -> std::io::Result<()> {
    let plain = name
        .bytes()
        .all(|b| (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\');
    if plain {
        out.write_all(b"\"")?;
        out.write_all(name.as_bytes())?;
        out.write_all(b"\"")
    } else {
        write!(out, "{name:?}")
    }
}

/// A plan as a Mermaid flowchart.
pub fn mermaid(plan: &Plan) -> String {
    written(|out| write_mermaid(plan, out))
}

/// [`mermaid`] written to `out` as it is made (give a buffered writer). Nodes are numbered by
/// their position in the plan; a dependency's number is looked up in a hash map of the names,
/// made only when some task has dependencies.
///
/// Errors: those of `out`.
pub fn write_mermaid(plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"flowchart LR\n")?;
    for (i, t) in plan.tasks.iter().enumerate() {
        out.write_all(b"  t")?;
        out.write_all(decimal(i, &mut itoa_buffer()))?;
        out.write_all(b"[\"")?;
        if t.name.contains('"') {
            out.write_all(t.name.replace('"', "#quot;").as_bytes())?;
        } else {
            out.write_all(t.name.as_bytes())?;
        }
        out.write_all(b"\"]\n")?;
    }
    if plan.tasks.iter().all(|t| t.deps.is_empty()) {
        return Ok(());
    }
    let mut index: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    index.reserve(plan.tasks.len());
    for (i, t) in plan.tasks.iter().enumerate() {
        // The last task of a name wins, as it did in the ordered map this replaced (a plan's
        // names are unique).
        index.insert(&t.name, i);
    }
    for (i, t) in plan.tasks.iter().enumerate() {
        for d in &t.deps {
            if let Some(&j) = index.get(&**d) {
                out.write_all(b"  t")?;
                out.write_all(decimal(j, &mut itoa_buffer()))?;
                out.write_all(b" --> t")?;
                out.write_all(decimal(i, &mut itoa_buffer()))?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// A plan as text: each task, then what it waits for.
pub fn text(plan: &Plan) -> String {
    written(|out| write_text(plan, out))
}

/// [`text`] written to `out` as it is made (give a buffered writer).
///
/// Errors: those of `out`.
pub fn write_text(plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for t in &plan.tasks {
        out.write_all(t.name.as_bytes())?;
        if t.wave > 0 {
            write!(out, " (wave {})", t.wave)?;
        }
        out.write_all(b"\n")?;
        for d in &t.deps {
            out.write_all(b"  <- ")?;
            out.write_all(d.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Planned;

    fn plan() -> Plan {
        let task = |name: &str, deps: &[&str], wave, why: &str| Planned {
            name: name.into(),
            defined_as: name.into(),
            deps: deps.iter().map(|d| (*d).into()).collect(),
            wave,
            locks: if wave > 0 {
                vec!["cluster".into()]
            } else {
                vec![]
            },
            why: why.into(),
            missing: false,
            command: (wave > 0).then(|| "make build\n  --release\n".to_owned()),
        };
        Plan {
            tasks: vec![
                task("setup", &[], 0, "dependency of \"build::prod\""),
                task("build::prod", &["setup"], 1, "requested"),
            ],
        }
    }

    #[test]
    fn numbers_and_padding_are_those_of_format() {
        for n in [0, 1, 9, 10, 999, 1000, 9999, 10_000, 1_000_001, usize::MAX] {
            let mut buf = itoa_buffer();
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
        for n in [0, 1, 63, 64, 65, 200] {
            let mut out = Vec::new();
            pad(&mut out, n);
            assert_eq!(out, format!("{:n$}", "").into_bytes());
        }
    }

    #[test]
    fn dot_quotes_names_as_debug_does() {
        for name in [
            "t::0::1",
            "a b",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "é",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            write_quoted(&mut out, name).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{name:?}"));
        }
    }

    #[test]
    fn renderings() {
        assert!(dot(&plan()).contains("  \"setup\" -> \"build::prod\";\n"));
        assert!(mermaid(&plan()).contains("  t0 --> t1\n"));
        assert_eq!(text(&plan()), "setup\nbuild::prod (wave 1)\n  <- setup\n");
        assert_eq!(
            dry_run(&plan()),
            "wave 0:\n   1. setup        dependency of \"build::prod\"\nwave 1:\n   2. build::prod  requested; locks: cluster\n        $ make build\n        $   --release\n2 tasks would run (dry run: nothing ran)\n"
        );
    }
}
