//! The stream messages: jobs, results and dead letters, as versioned JSON.
//!
//! Every stream entry has one field, [`MESSAGE_FIELD`] (`msg`), holding one JSON object. The
//! schemas are in `docs/schema/job.v1.json` and `docs/schema/result.v1.json` of the repository;
//! `docs/distributed.md` describes the protocol for workers written in other languages.
//!
//! * [`JobMessage`] — `{"v": 1, "run": "...", "epoch": 123, "job": {...}}`, where `job` is the
//!   optimizer protocol's [`Job`].
//! * [`ResultMessage`] — `{"v": 1, "run": "...", "epoch": 123, "job_entry": "1700000000000-0",
//!   "worker": "host-1", "result": {...}}`, where `result` is a [`JobResult`].
//! * [`DeadLetter`] — what could not be processed and why.

use std::collections::HashMap;

use hone_eval::JobUsage;
use hone_optimize::{Job, JobId, JobResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::RunId;

/// The stream entry field holding a message's JSON.
pub const MESSAGE_FIELD: &str = "msg";

/// The message version this build writes and reads.
pub const MESSAGE_VERSION: u64 = 1;

/// A job on a run's jobs stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    /// [`MESSAGE_VERSION`].
    pub v: u64,
    /// The run the job belongs to (the stream's run).
    pub run: RunId,
    /// Identifies one start of the run; a worker copies it into the result so a coordinator
    /// that restarted the run from scratch ignores results of the earlier start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The job, as the optimizer protocol defines it.
    pub job: Job,
    /// A fingerprint of the program and metric the job must run with; a worker that serves
    /// another refuses the job (it stays on the stream for a worker that fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<String>,
}

/// A result on a run's results stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMessage {
    /// [`MESSAGE_VERSION`].
    pub v: u64,
    /// The run.
    pub run: RunId,
    /// The job message's `epoch`, copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The id of the job's entry on the jobs stream, so the coordinator can delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_entry: Option<String>,
    /// The worker (consumer name) that ran the job, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The result, as the optimizer protocol defines it.
    pub result: JobResult,
    /// The usage of the job's LM calls by model, when the worker measured it (the
    /// coordinator adds it to the run's usage for each accepted result).
    #[serde(default, skip_serializing_if = "JobUsage::is_empty")]
    pub usage: JobUsage,
}

/// Why a message went to the dead-letter stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadKind {
    /// The message could not be read (not JSON, wrong shape, wrong version, wrong run).
    Malformed,
    /// The job was delivered `max_deliveries` times without a result (its workers died or
    /// hung); a `failed` result was published for it.
    MaxDeliveries,
    /// The result does not fit its job (wrong kind or number of outcomes).
    BadResult,
}

/// An entry of a run's dead-letter stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// [`MESSAGE_VERSION`].
    pub v: u64,
    /// The run.
    pub run: RunId,
    /// Why, as a category.
    pub kind: DeadKind,
    /// Why, in words.
    pub reason: String,
    /// The stream the message came from.
    pub source: String,
    /// Its entry id there.
    pub entry: String,
    /// The job, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobId>,
    /// Who moved it (a worker's consumer name, or `coordinator`).
    pub by: String,
    /// The original `msg` field (lossily decoded as UTF-8), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// Why a stream entry is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct MessageError {
    /// What is wrong, for the dead letter.
    pub reason: String,
    /// The raw `msg` field, if there was one.
    pub payload: Option<String>,
    /// The job id, if it could be read despite the error.
    pub job: Option<JobId>,
}

/// The entry's `msg` field as text.
fn payload(fields: &HashMap<String, redis::Value>) -> Result<String, MessageError> {
    let Some(value) = fields.get(MESSAGE_FIELD) else {
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        return Err(MessageError {
            reason: format!(
                "the entry has no `{MESSAGE_FIELD}` field (fields: [{}]); hone messages carry their JSON in `{MESSAGE_FIELD}`",
                names.join(", ")
            ),
            payload: None,
            job: None,
        });
    };
    let bytes = match value {
        redis::Value::BulkString(b) => b.as_slice(),
        redis::Value::SimpleString(s) => s.as_bytes(),
        other => {
            return Err(MessageError {
                reason: format!("the `{MESSAGE_FIELD}` field is not a string but {other:?}"),
                payload: None,
                job: None,
            });
        }
    };
    String::from_utf8(bytes.to_vec()).map_err(|e| MessageError {
        reason: format!("the `{MESSAGE_FIELD}` field is not UTF-8: {e}"),
        payload: Some(String::from_utf8_lossy(bytes).into_owned()),
        job: None,
    })
}

/// Reads the job id at `outer.id` of a message that failed to parse, if it is there.
fn lenient_job_id(text: &str, outer: &str) -> Option<JobId> {
    let value: Value = serde_json::from_str(text).ok()?;
    value.get(outer)?.get("id")?.as_u64().map(JobId)
}

fn check_header(value: &Value, run: &RunId) -> Result<(), String> {
    match value.get("v").and_then(Value::as_u64) {
        Some(MESSAGE_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "message version {v} is not the version this build reads ({MESSAGE_VERSION}); \
                 run workers and coordinator of matching versions"
            ));
        }
        None => return Err("the message has no numeric `v` (version) field".into()),
    }
    match value.get("run").and_then(Value::as_str) {
        Some(r) if r == run.as_str() => Ok(()),
        Some(r) => Err(format!(
            "the message is for run `{r}` but was found on run `{run}`'s stream"
        )),
        None => Err("the message has no `run` field".into()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    fields: &HashMap<String, redis::Value>,
    run: &RunId,
    what: &str,
    outer: &str,
) -> Result<T, MessageError> {
    let text = payload(fields)?;
    let fail = |reason: String| MessageError {
        job: lenient_job_id(&text, outer),
        reason,
        payload: Some(text.clone()),
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("the {what} is not JSON: {e}")))?;
    check_header(&value, run).map_err(&fail)?;
    serde_json::from_value(value).map_err(|e| {
        fail(format!(
            "the {what} does not match schema v{MESSAGE_VERSION}: {e}"
        ))
    })
}

impl JobMessage {
    /// A job message for `run`.
    pub fn new(run: RunId, epoch: Option<u64>, job: Job) -> Self {
        JobMessage {
            v: MESSAGE_VERSION,
            run,
            epoch,
            job,
            serves: None,
        }
    }

    /// Reads a jobs-stream entry of `run`.
    pub fn from_fields(
        fields: &HashMap<String, redis::Value>,
        run: &RunId,
    ) -> Result<Self, MessageError> {
        parse(fields, run, "job message", "job")
    }
}

impl ResultMessage {
    /// Reads a results-stream entry of `run`.
    pub fn from_fields(
        fields: &HashMap<String, redis::Value>,
        run: &RunId,
    ) -> Result<Self, MessageError> {
        parse(fields, run, "result message", "result")
    }
}

/// Serializes a message for the `msg` field.
pub(crate) fn to_json<T: Serialize>(message: &T) -> String {
    // Messages hold only JSON-representable data (strings, numbers, maps with string keys).
    serde_json::to_string(message).unwrap_or_else(|e| {
        serde_json::json!({ "v": MESSAGE_VERSION, "error": e.to_string() }).to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_optimize::JobOutput;

    fn fields(text: &str) -> HashMap<String, redis::Value> {
        HashMap::from([(
            MESSAGE_FIELD.to_owned(),
            redis::Value::BulkString(text.as_bytes().to_vec()),
        )])
    }

    fn run() -> RunId {
        RunId::new("r1").expect("valid")
    }

    #[test]
    fn results_round_trip() {
        let msg = ResultMessage {
            v: MESSAGE_VERSION,
            run: run(),
            epoch: Some(7),
            job_entry: Some("1-0".into()),
            worker: Some("w".into()),
            result: JobResult {
                id: JobId(3),
                output: JobOutput::Failed { error: "x".into() },
                lm_calls: 0,
            },
            usage: JobUsage::default(),
        };
        let back = ResultMessage::from_fields(&fields(&to_json(&msg)), &run()).expect("parses");
        assert_eq!(back, msg);
    }

    #[test]
    fn malformed_messages_say_why_and_keep_the_job_id_when_they_can() {
        let err = JobMessage::from_fields(&fields("{not json"), &run()).expect_err("bad");
        assert!(err.reason.contains("not JSON"), "{}", err.reason);
        let err = JobMessage::from_fields(
            &fields(r#"{"v":1,"run":"r1","job":{"id":5,"spec":{"kind":"nope"}}}"#),
            &run(),
        )
        .expect_err("bad");
        assert_eq!(err.job, Some(JobId(5)));
        assert!(err.reason.contains("schema"), "{}", err.reason);
        let err = JobMessage::from_fields(&fields(r#"{"v":2,"run":"r1"}"#), &run()).expect_err("v");
        assert!(err.reason.contains("version 2"), "{}", err.reason);
        let err = JobMessage::from_fields(&fields(r#"{"v":1,"run":"r2"}"#), &run()).expect_err("r");
        assert!(err.reason.contains("run `r2`"), "{}", err.reason);
        let err = JobMessage::from_fields(&HashMap::new(), &run()).expect_err("empty");
        assert!(err.reason.contains("no `msg` field"), "{}", err.reason);
    }
}
