//! Pilot jobs: a few long-lived Slurm jobs that connect back to the parent and run many
//! tasks each, instead of one Slurm job per task.
//!
//! * [`PilotConfig`] says how many pilots to submit and what each reserves
//!   ([`SlurmConfig::pilots`](super::SlurmConfig::pilots)).
//! * The parent side ([`pool`]) submits the pilot jobs when the first task comes, accepts
//!   their connections (each proving the run's secret), hands them tasks that fit the resources
//!   they have free ([`fit`]), and learns how each task ended. A pilot that goes away (its node
//!   fails, someone cancels it) loses only the tasks it was running: they fail with reason
//!   `lost with pilot <job id>` (a task allowed to retry runs again on another pilot), and a
//!   replacement pilot is submitted. The pilots are stopped and cancelled when the executor is
//!   dropped (the run's end, Ctrl-C, a failure of the parent); a pilot whose parent went away
//!   exits by itself.
//! * The pilot side ([`pilot_entry`]) runs in the pilot job: it runs each task's command as a
//!   child process group of its own and sends back its exit status and output. A task in
//!   worker mode (a flow proc) is a command too: the worker it starts talks to the parent over
//!   its own authenticated TCP connection.
//! * [`wire`] is the pilot protocol: JSON lines, each at most
//!   [`MESSAGE_MAX`](crate::exec::process::MESSAGE_MAX) bytes.
//!
//! This module knows Slurm jobs, sockets and processes; it does not know task names, faces or
//! task files.

mod agent;
mod config;
pub(crate) mod fit;
pub(crate) mod pool;
pub(crate) mod wire;

pub use agent::{PILOT_ENV, pilot_entry};
pub use config::PilotConfig;
