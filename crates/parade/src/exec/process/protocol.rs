//! The messages between a parent and a worker process: JSON, one message per line, over a
//! Unix socket private to one task.
//!
//! ```text
//! parent → worker   {"hello":{"task":"build::prod","args":{"env":"prod"}}}
//! worker → parent   {"call":{"id":1,"method":"results","args":null}}
//! parent → worker   {"reply":{"id":1,"ok":{...}}}          or {"reply":{"id":1,"err":"..."}}
//! worker → parent   {"done":{"ok":<value>}}  |  {"done":{"err":"why"}}  |  {"done":{"skip":"why"}}
//! ```
//!
//! A warm worker (the process executor's) is sent `call` instead of `hello`: the same task and
//! arguments, and a mark. It serves the call, writes the mark as a line of its own to stdout
//! and to stderr (so the parent knows the call's output has all been read), reports `done`,
//! and waits for the next `call`; at the end of the stream it exits. A worker that must end
//! after a call (its program ran other tasks) reports `last` instead of `done`.
//!
//! ```text
//! parent → worker   {"call":{"hello":{"task":"square","args":3},"mark":"\u001eparade-mark-..."}}
//! worker → parent   {"done":{"ok":9}}                         or {"last":{"err":"why"}}
//! ```

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the parent tells a worker first: which task to run, with which arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The task's registered name.
    pub task: String,
    /// Its arguments.
    pub args: Value,
}

/// How a task in a worker ended, as the worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Done {
    /// It succeeded with this value.
    Ok(Value),
    /// It failed, for this reason.
    Err(String),
    /// It skipped itself, for this reason.
    Skip(String),
    /// It panicked, with this message.
    Panic(String),
    /// Its result from an earlier run still holds: this value, for this reason.
    UpToDate(Value, String),
}

/// A message from parent to worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToWorker {
    Hello(Hello),
    /// A call to a warm worker: it stays for the next one.
    Call {
        hello: Hello,
        mark: String,
    },
    Reply {
        id: u64,
        ok: Option<Value>,
        err: Option<String>,
    },
}

/// A message from worker to parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ToParent {
    Call {
        id: u64,
        method: String,
        args: Value,
    },
    Done(Done),
    /// The end of a warm worker's call, after which the worker exits.
    Last(Done),
    /// Sent before a warm worker's `done` when the call's mark could not be written to its
    /// stdout or its stderr (the task closed it): the parent does not wait for that mark.
    Unmarked {
        stdout: bool,
        stderr: bool,
    },
}

/// Writes one message as one line.
pub(crate) fn send(out: &mut impl Write, message: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// The largest message either side reads (one line of JSON): a longer one is an error, never
/// a reason to hold unbounded memory.
pub const MESSAGE_MAX: usize = 64 << 20;

/// Reads one message; `None` at the end of the stream. A message over [`MESSAGE_MAX`] bytes or
/// that is not the JSON expected is an error saying so.
pub(crate) fn receive<T: for<'de> Deserialize<'de>>(
    input: &mut impl BufRead,
) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    let limit = u64::try_from(MESSAGE_MAX).unwrap_or(u64::MAX) + 1;
    if input.by_ref().take(limit).read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.len() > MESSAGE_MAX {
        return Err(std::io::Error::other(format!(
            "a message over {MESSAGE_MAX} bytes"
        )));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("a malformed message ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_single_lines() {
        let mut buf = Vec::new();
        send(
            &mut buf,
            &ToParent::Done(Done::Ok(serde_json::json!({"a": [1, 2]}))),
        )
        .unwrap();
        send(
            &mut buf,
            &ToParent::Call {
                id: 3,
                method: "wait".into(),
                args: Value::Null,
            },
        )
        .unwrap();
        assert_eq!(String::from_utf8(buf.clone()).unwrap().lines().count(), 2);
        let mut input = &buf[..];
        let first: ToParent = receive(&mut input).unwrap().unwrap();
        assert_eq!(
            first,
            ToParent::Done(Done::Ok(serde_json::json!({"a": [1, 2]})))
        );
        let second: ToParent = receive(&mut input).unwrap().unwrap();
        assert!(matches!(second, ToParent::Call { id: 3, .. }));
        assert_eq!(receive::<ToParent>(&mut input).unwrap(), None);
    }

    #[test]
    fn an_oversized_or_malformed_message_is_an_error_not_a_hang() {
        let mut big = vec![b'x'; MESSAGE_MAX + 10];
        big.push(b'\n');
        let err = receive::<ToParent>(&mut &big[..]).unwrap_err();
        assert!(err.to_string().contains("over"), "{err}");
        let err = receive::<ToParent>(&mut &b"{nope\n"[..]).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
    }
}
