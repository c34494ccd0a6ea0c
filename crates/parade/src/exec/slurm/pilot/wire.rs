//! The pilot protocol: one JSON message per line, over the TCP connection a pilot opens to
//! its parent after proving the run's secret.
//!
//! ```text
//! pilot  → parent   {"hello":{"job":"4711","host":"node2"}}
//! parent → pilot    {"run":{"id":1,"spec":{...CommandSpec...}}}
//! parent → pilot    {"kill":{"id":1}}            (a cancel or a timeout)
//! pilot  → parent   {"exit":{"id":1,"code":0,"signal":null,"output":[["stdout","hi"]],"error":null}}
//! pilot  → parent   "beat"                        (every second: the pilot is alive)
//! parent → pilot    "stop"                        (the run is over)
//! ```
//!
//! A message over [`MESSAGE_MAX`] bytes is an error on either side, never unbounded memory;
//! the pilot keeps what a task prints below it ([`OUTPUT_MAX`]).
//!
//! Framing (one line per message, the limit, the errors) is the worker protocol's: [`send`] and
//! [`receive`] are the process executor's.

use serde::{Deserialize, Serialize};

use crate::engine::Stream;
use crate::exec::CommandSpec;
use crate::exec::process::MESSAGE_MAX;
pub(crate) use crate::exec::process::{receive, send};

/// The most output a pilot keeps of one task, counted as the bytes its lines take in the
/// message (JSON escapes and per-line overhead included, so the message stays under
/// [`MESSAGE_MAX`]); what goes over is replaced by a line saying so.
pub(crate) const OUTPUT_MAX: usize = MESSAGE_MAX / 2;

/// A message from the parent to a pilot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToPilot {
    Run { id: u64, spec: Box<CommandSpec> },
    Kill { id: u64 },
    Stop,
}

/// A message from a pilot to its parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FromPilot {
    Hello {
        job: String,
        host: String,
    },
    Exit {
        id: u64,
        code: Option<i32>,
        signal: Option<i32>,
        output: Vec<(StreamName, String)>,
        error: Option<String>,
    },
    Beat,
}

/// An output stream, as the wire names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StreamName {
    Stdout,
    Stderr,
}

impl From<StreamName> for Stream {
    fn from(s: StreamName) -> Self {
        match s {
            StreamName::Stdout => Stream::Stdout,
            StreamName::Stderr => Stream::Stderr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_one_per_line() {
        let mut buf = Vec::new();
        let run = ToPilot::Run {
            id: 7,
            spec: Box::new(CommandSpec::shell(&["sh", "-c"], "echo hi")),
        };
        send(&mut buf, &run).unwrap();
        send(&mut buf, &ToPilot::Stop).unwrap();
        assert_eq!(String::from_utf8_lossy(&buf).lines().count(), 2);
        let mut input = &buf[..];
        assert_eq!(receive::<ToPilot>(&mut input).unwrap(), Some(run));
        assert_eq!(receive::<ToPilot>(&mut input).unwrap(), Some(ToPilot::Stop));
        assert_eq!(receive::<ToPilot>(&mut input).unwrap(), None);
    }

    #[test]
    fn an_oversized_or_malformed_line_is_an_error() {
        let mut big = vec![b' '; MESSAGE_MAX + 1];
        big.push(b'\n');
        let err = receive::<FromPilot>(&mut &big[..]).unwrap_err();
        assert!(err.to_string().contains("over"), "{err}");
        let err = receive::<FromPilot>(&mut &b"{\"exit\":1}\n"[..]).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
    }
}
