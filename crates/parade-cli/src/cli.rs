//! The command line: `parade run`, `parade list`, `parade graph`, as clap derives.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::output::{ColorWhen, Output};
use crate::taskfile::ExecutorKind;

/// Run task files of shell commands in parallel.
#[derive(Parser, Debug)]
#[command(name = "parade", version, about, long_about = None)]
pub struct Cli {
    /// The task file (default: the nearest parade.toml here or above).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Colours: auto (a terminal, unless `NO_COLOR` or `TERM=dumb`; `CLICOLOR_FORCE` forces
    /// them), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run tasks and what they depend on.
    Run(RunArgs),
    /// List the tasks of the task file.
    List(ListArgs),
    /// Show what a run would do, as a graph.
    Graph(GraphArgs),
    /// Check the task file and report every problem.
    Check,
    /// Write a recorded run as one HTML page (timeline, dependency graph, summary) and print
    /// its path.
    Report(ReportArgs),
    /// Job directories of template jobs (`parade::exec::slurm::TemplateJob`).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Write a commented starter parade.toml here (never over an existing one).
    Init,
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `parade man | man -l -`.
    Man,
    /// What the run store (`.parade/state.db`) remembers: show it, or forget it.
    #[command(subcommand)]
    State(StateCommand),
}

/// `parade completions`.
#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `parade state`.
#[derive(Subcommand, Debug, Clone)]
pub enum StateCommand {
    /// Print what is remembered about a task: its recent executions, keys, reasons, results.
    Show(StateShowArgs),
    /// Forget a task (or, with `--all`, everything): it runs again next time.
    Clean(StateCleanArgs),
}

/// `parade state show`.
#[derive(Args, Debug, Clone)]
pub struct StateShowArgs {
    /// The task's concrete name (none: list the remembered tasks and the last runs).
    #[arg(value_name = "TASK")]
    pub task: Option<String>,
}

/// `parade state clean`.
#[derive(Args, Debug, Clone)]
pub struct StateCleanArgs {
    /// Tasks to forget.
    #[arg(value_name = "TASK", required_unless_present = "all")]
    pub tasks: Vec<String>,
    /// Forget everything: every task, finished runs and file fingerprints.
    #[arg(long, conflicts_with = "tasks")]
    pub all: bool,
}

/// `parade jobs`.
#[derive(Subcommand, Debug, Clone)]
pub enum JobsCommand {
    /// Remove job directories that never finished (a `kwargs.json` without a `result.json`).
    Clean(CleanArgs),
}

/// `parade jobs clean`.
#[derive(Args, Debug, Clone)]
pub struct CleanArgs {
    /// Where to look, recursively (default: the current directory).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Only list what would be removed.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// `parade run`.
#[derive(Args, Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // each flag is one switch of the command line
pub struct RunArgs {
    /// Tasks to run: names, aliases, instances of patterns (`build::prod`) or globs
    /// (`build::*`); none: the task file's `default`.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Arguments for the one target's command, after `--`: its `"$@"`.
    #[arg(last = true, value_name = "ARGS")]
    pub extra_args: Vec<String>,
    /// Most tasks at once, at most 4096 (default: the task file's `parallel`, else one per CPU).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_JOBS)))]
    pub jobs: Option<u32>,
    /// Set a param: `--param region=us` (repeatable; overrides `[params]`).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Show what would run, in order, without running anything.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// What to show (default: `[settings] output`, else one task's output as it is, the live
    /// display on a terminal, prefixed lines otherwise).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    /// Show a failed task's whole log, not only the interesting part.
    #[arg(long)]
    pub full_log: bool,
    /// After the first failure, start nothing new (running tasks finish).
    #[arg(long)]
    pub fail_fast: bool,
    /// Where tasks run (default: the task file's `executor`, else threads).
    #[arg(short = 'x', long, value_enum)]
    pub executor: Option<ExecutorKind>,
    /// With `--executor slurm`: run the tasks on N long-lived pilot jobs that pull them, instead
    /// of one Slurm job per task.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub pilots: Option<u32>,
    /// What each pilot job reserves, e.g. `cpus=4,mem=8G,time=1:00:00,gres=gpu:1` (default:
    /// one CPU), and the counted resources it offers (`uses=licence:2`); tasks go to pilots
    /// with enough of it free.
    #[arg(long, value_name = "RESOURCES", requires = "pilots", value_parser = crate::slurm::parse_pilot_resources_arg)]
    pub pilot_resources: Option<Box<crate::slurm::PilotResources>>,
    /// The address of this machine that the pilots (and workers) connect to (default:
    /// 127.0.0.1, pilots on this machine only).
    #[arg(long, value_name = "IP", requires = "pilots")]
    pub listen: Option<std::net::IpAddr>,
    /// With `--executor slurm`: submit one Slurm job per task, never a job array (by default
    /// tasks submitted together that ask for the same resources share one `sbatch --array`).
    #[arg(long)]
    pub no_job_arrays: bool,
    /// Run every wanted task, up to date or not (make -B).
    #[arg(short = 'B', long)]
    pub force: bool,
    /// Print, for every task, why it runs or is up to date.
    #[arg(long)]
    pub explain: bool,
    /// Reuse tasks that succeeded earlier with the same key, even without sources or outputs
    /// (to pick up an interrupted run where it stopped).
    #[arg(long)]
    pub resume: bool,
    /// After the run, watch the sources of the wanted tasks and rerun what a change makes
    /// stale (and its dependents), until Ctrl-C.
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// Say more about the run: how tasks' processes are kept together (cgroups or process
    /// groups), the run file.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Also write the run as Chrome trace-event JSON (opens in Perfetto or `chrome://tracing`).
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub trace: Option<PathBuf>,
}

/// `parade report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Which run: a run id (a directory name under the log directory), or -N for the N-th
    /// latest (-1 is the latest, the default).
    #[arg(value_name = "RUN", allow_hyphen_values = true)]
    pub run: Option<String>,
    /// Where to write the page (default: report.html in the run's log directory).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the run as Chrome trace-event JSON.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// The most tasks `-j` lets run at once (each is a thread of `parade`).
pub const MAX_JOBS: u32 = 4096;

/// `parade list`.
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Also list every instance of patterns that have choices.
    #[arg(long)]
    pub expand: bool,
    /// Print the listing as JSON (name, description, aliases, default, choices, deps, and with
    /// `--expand` instances, per task).
    #[arg(long)]
    pub json: bool,
}

/// `parade graph`.
#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    /// Tasks whose graph to show.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

/// Formats for `parade graph`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// Indented text.
    Text,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))?;
    if k.is_empty() {
        return Err(format!("empty key in `{text}`"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_its_options() {
        let cli = Cli::parse_from([
            "parade",
            "run",
            "build::prod",
            "-j",
            "3",
            "--param",
            "region=us",
            "--output",
            "json",
            "--fail-fast",
            "-f",
            "x.toml",
        ]);
        let Command::Run(run) = cli.command else {
            panic!()
        };
        assert_eq!(run.jobs, Some(3));
        assert_eq!(run.params, [("region".to_owned(), "us".to_owned())]);
        assert_eq!(run.output, Some(Output::Json));
        assert!(run.fail_fast);
        assert_eq!(cli.file, Some(PathBuf::from("x.toml")));
        assert!(Cli::try_parse_from(["parade", "run", "x", "-j", "0"]).is_err());
        assert!(Cli::try_parse_from(["parade", "run", "x", "-p", "novalue"]).is_err());
        assert!(Cli::try_parse_from(["parade", "run", "x", "-j", "4294967295"]).is_err());
        let Command::Run(run) = Cli::parse_from(["parade", "run", "t", "--", "a", "b c"]).command
        else {
            panic!()
        };
        assert_eq!(run.extra_args, ["a", "b c"]);
    }

    #[test]
    fn report_takes_a_run_counted_back() {
        let cli = Cli::parse_from(["parade", "report", "-2", "-o", "r.html"]);
        let Command::Report(report) = cli.command else {
            panic!()
        };
        assert_eq!(report.run.as_deref(), Some("-2"));
        assert_eq!(report.out, Some(PathBuf::from("r.html")));
        let cli = Cli::parse_from(["parade", "run", "x", "--trace", "t.json"]);
        let Command::Run(run) = cli.command else {
            panic!()
        };
        assert_eq!(run.trace, Some(PathBuf::from("t.json")));
        // A dry run has nothing to trace: say so rather than write nothing.
        assert!(Cli::try_parse_from(["parade", "run", "x", "-n", "--trace", "t.json"]).is_err());
    }
}
