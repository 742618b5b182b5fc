//! Stream commands shared by the coordinator and the workers, with replies parsed leniently:
//! field names and values that are not UTF-8 never make a read fail, so one bad entry cannot
//! block a stream (it is dead-lettered instead).

use std::collections::HashMap;
use std::time::Duration;

use redis::Value;

use crate::conn::Redis;
use crate::error::Error;
use crate::keys::{RunId, WORKERS_GROUP};
use crate::message::{DeadLetter, MESSAGE_FIELD, to_json};

/// Dead-letter streams are trimmed to about this many entries.
pub const DEAD_LETTER_MAXLEN: usize = 10_000;

/// One stream entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub id: String,
    pub fields: HashMap<String, Value>,
}

/// One pending (delivered, unacknowledged) entry of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub id: String,
    pub consumer: String,
    pub deliveries: u64,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => text(other)?.parse().ok(),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

fn entry(v: &Value) -> Option<Entry> {
    let parts = items(v);
    let id = text(parts.first()?)?;
    let mut fields = HashMap::new();
    let flat = parts.get(1).map(items).unwrap_or(&[]);
    if let Some(Value::Map(pairs)) = parts.get(1) {
        for (k, val) in pairs {
            if let Some(k) = text(k) {
                fields.insert(k, val.clone());
            }
        }
    }
    for pair in flat.chunks(2) {
        if let [k, val] = pair
            && let Some(k) = text(k)
        {
            fields.insert(k, val.clone());
        }
    }
    Some(Entry { id, fields })
}

fn entries(v: &Value) -> Vec<Entry> {
    items(v).iter().filter_map(entry).collect()
}

/// Parses an `XREAD`/`XREADGROUP` reply into `(stream key, entries)`.
fn read_reply(v: &Value) -> Vec<(String, Vec<Entry>)> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, es)| Some((text(k)?, entries(es))))
            .collect(),
        other => items(other)
            .iter()
            .filter_map(|row| {
                let parts = items(row);
                Some((text(parts.first()?)?, entries(parts.get(1)?)))
            })
            .collect(),
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Redis {
    /// `XADD key * msg <json>`; `None` when `nomkstream` and the stream does not exist.
    pub(crate) async fn add(
        &self,
        key: &str,
        json: &str,
        nomkstream: bool,
    ) -> Result<Option<String>, Error> {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(key);
        if nomkstream {
            cmd.arg("NOMKSTREAM");
        }
        cmd.arg("*").arg(MESSAGE_FIELD).arg(json);
        let v: Value = self.query("XADD", key, &cmd).await?;
        Ok(text(&v))
    }

    /// `XREAD COUNT n BLOCK ms STREAMS key after`: entries after `after`.
    pub(crate) async fn read_after(
        &self,
        key: &str,
        after: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Entry>, Error> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(count.max(1));
        if let Some(b) = block {
            cmd.arg("BLOCK").arg(ms(b).max(1));
        }
        cmd.arg("STREAMS").arg(key).arg(after);
        let v: Value = self.query("XREAD", key, &cmd).await?;
        Ok(read_reply(&v).into_iter().flat_map(|(_, e)| e).collect())
    }

    /// `XREADGROUP GROUP workers consumer COUNT n BLOCK ms STREAMS k.. > ..`: new entries.
    pub(crate) async fn read_group(
        &self,
        keys: &[String],
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<(String, Vec<Entry>)>, Error> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(WORKERS_GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(ms(block).max(1))
            .arg("STREAMS");
        for k in keys {
            cmd.arg(k);
        }
        for _ in keys {
            cmd.arg(">");
        }
        let first = keys.first().map(String::as_str).unwrap_or("");
        let v: Value = self.query("XREADGROUP", first, &cmd).await?;
        Ok(read_reply(&v))
    }

    /// `XRANGE key start + COUNT n`.
    pub(crate) async fn range(
        &self,
        key: &str,
        start: &str,
        count: usize,
    ) -> Result<Vec<Entry>, Error> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(key)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1));
        let v: Value = self.query("XRANGE", key, &cmd).await?;
        Ok(entries(&v))
    }

    /// Every entry of a stream, page by page, at most `limit` of them.
    pub(crate) async fn range_all(&self, key: &str, limit: usize) -> Result<Vec<Entry>, Error> {
        let mut out: Vec<Entry> = Vec::new();
        let mut start = "-".to_owned();
        while out.len() < limit {
            let page = self.range(key, &start, 256.min(limit - out.len())).await?;
            let Some(last) = page.last() else { break };
            start = format!("({}", last.id);
            let done = page.len() < 256;
            out.extend(page);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// `XACK key workers ids..`.
    pub(crate) async fn ack(&self, key: &str, ids: &[&str]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(key).arg(WORKERS_GROUP).arg(ids);
        let _: Value = self.query("XACK", key, &cmd).await?;
        Ok(())
    }

    /// `XACK` and `XDEL` of the same ids, in one transaction.
    pub(crate) async fn ack_delete(&self, key: &str, ids: &[&str]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XACK")
            .arg(key)
            .arg(WORKERS_GROUP)
            .arg(ids)
            .ignore()
            .cmd("XDEL")
            .arg(key)
            .arg(ids)
            .ignore();
        let _: Value = self.query_pipe("XACK+XDEL", key, &pipe).await?;
        Ok(())
    }

    /// `XTRIM key MINID id`: drops entries older than `id`.
    pub(crate) async fn trim_before(&self, key: &str, id: &str) -> Result<(), Error> {
        let mut cmd = redis::cmd("XTRIM");
        cmd.arg(key).arg("MINID").arg(id);
        let _: Value = self.query("XTRIM", key, &cmd).await?;
        Ok(())
    }

    /// `XGROUP CREATE key workers 0 MKSTREAM`, accepting an existing group.
    pub(crate) async fn ensure_group(&self, key: &str) -> Result<(), Error> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(key)
            .arg(WORKERS_GROUP)
            .arg("0")
            .arg("MKSTREAM");
        match self.query::<Value>("XGROUP CREATE", key, &cmd).await {
            Ok(_) => Ok(()),
            Err(Error::Command { source, .. }) if source.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the key exists and is a stream with the `workers` group.
    pub(crate) async fn has_group(&self, key: &str) -> Result<bool, Error> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(key);
        match self.query::<Value>("XINFO GROUPS", key, &cmd).await {
            Ok(v) => Ok(items(&v).iter().any(|g| {
                let fields = match g {
                    Value::Map(pairs) => pairs.clone(),
                    other => items(other)
                        .chunks(2)
                        .filter_map(|p| Some((p.first()?.clone(), p.get(1)?.clone())))
                        .collect(),
                };
                fields.iter().any(|(k, v)| {
                    text(k).as_deref() == Some("name") && text(v).as_deref() == Some(WORKERS_GROUP)
                })
            })),
            Err(Error::Command { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The `last-delivered-id` of the `workers` group, if the group exists.
    pub(crate) async fn last_delivered(&self, key: &str) -> Result<Option<String>, Error> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(key);
        let v: Value = self.query("XINFO GROUPS", key, &cmd).await?;
        for g in items(&v) {
            let fields: Vec<(Value, Value)> = match g {
                Value::Map(pairs) => pairs.clone(),
                other => items(other)
                    .chunks(2)
                    .filter_map(|p| Some((p.first()?.clone(), p.get(1)?.clone())))
                    .collect(),
            };
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| text(k).as_deref() == Some(name))
                    .and_then(|(_, v)| text(v))
            };
            if get("name").as_deref() == Some(WORKERS_GROUP) {
                return Ok(get("last-delivered-id"));
            }
        }
        Ok(None)
    }

    /// `XPENDING key workers [IDLE ms] - + count [consumer]`.
    pub(crate) async fn pending(
        &self,
        key: &str,
        min_idle: Option<Duration>,
        count: usize,
        consumer: Option<&str>,
    ) -> Result<Vec<Pending>, Error> {
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(key).arg(WORKERS_GROUP);
        if let Some(idle) = min_idle {
            cmd.arg("IDLE").arg(ms(idle));
        }
        cmd.arg("-").arg("+").arg(count.max(1));
        if let Some(c) = consumer {
            cmd.arg(c);
        }
        let v: Value = self.query("XPENDING", key, &cmd).await?;
        Ok(items(&v)
            .iter()
            .filter_map(|row| {
                let p = items(row);
                Some(Pending {
                    id: text(p.first()?)?,
                    consumer: text(p.get(1)?)?,
                    deliveries: int(p.get(3)?)?,
                })
            })
            .collect())
    }

    /// `XCLAIM key workers consumer min_idle ids.. [JUSTID]`: the entries claimed.
    pub(crate) async fn claim(
        &self,
        key: &str,
        consumer: &str,
        min_idle: Duration,
        ids: &[&str],
        just_id: bool,
    ) -> Result<Vec<Entry>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(key)
            .arg(WORKERS_GROUP)
            .arg(consumer)
            .arg(ms(min_idle))
            .arg(ids);
        if just_id {
            cmd.arg("JUSTID");
        }
        let v: Value = self.query("XCLAIM", key, &cmd).await?;
        Ok(if just_id {
            items(&v)
                .iter()
                .filter_map(|i| {
                    Some(Entry {
                        id: text(i)?,
                        fields: HashMap::new(),
                    })
                })
                .collect()
        } else {
            entries(&v)
        })
    }

    /// `XAUTOCLAIM key workers consumer min_idle cursor COUNT n`: `(next cursor, claimed
    /// entries, ids of deleted entries dropped from the pending list)`.
    pub(crate) async fn autoclaim(
        &self,
        key: &str,
        consumer: &str,
        min_idle: Duration,
        cursor: &str,
        count: usize,
    ) -> Result<(String, Vec<Entry>, Vec<String>), Error> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(key)
            .arg(WORKERS_GROUP)
            .arg(consumer)
            .arg(ms(min_idle))
            .arg(cursor)
            .arg("COUNT")
            .arg(count.max(1));
        let v: Value = self.query("XAUTOCLAIM", key, &cmd).await?;
        let parts = items(&v);
        let next = parts.first().and_then(text).unwrap_or_else(|| "0-0".into());
        let claimed = parts.get(1).map(entries).unwrap_or_default();
        let deleted = parts
            .get(2)
            .map(|d| items(d).iter().filter_map(text).collect())
            .unwrap_or_default();
        Ok((next, claimed, deleted))
    }

    /// Appends a dead letter to the run's dead-letter stream (trimmed to about
    /// [`DEAD_LETTER_MAXLEN`] entries).
    pub(crate) async fn dead_letter(&self, run: &RunId, letter: &DeadLetter) -> Result<(), Error> {
        let key = self.keys().dead(run);
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(DEAD_LETTER_MAXLEN)
            .arg("*")
            .arg(MESSAGE_FIELD)
            .arg(to_json(letter));
        let _: Value = self.query("XADD", &key, &cmd).await?;
        tracing::warn!(run = %run, kind = ?letter.kind, entry = %letter.entry, reason = %letter.reason, "dead-lettered");
        Ok(())
    }

    /// The run ids in the registry set.
    pub(crate) async fn runs(&self) -> Result<Vec<RunId>, Error> {
        let key = self.keys().runs();
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(&key);
        let v: Value = self.query("SMEMBERS", &key, &cmd).await?;
        let mut runs: Vec<RunId> = items(&v)
            .iter()
            .filter_map(text)
            .filter_map(|r| RunId::new(r).ok())
            .collect();
        runs.sort();
        Ok(runs)
    }

    /// Runs a raw command whose reply is ignored.
    pub(crate) async fn exec(
        &self,
        op: &'static str,
        key: &str,
        cmd: &redis::Cmd,
    ) -> Result<(), Error> {
        let _: Value = self.query(op, key, cmd).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn replies_parse_leniently() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("k"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![Value::BulkString(vec![0xff, b'x']), bulk("v")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let parsed = read_reply(&reply);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].1.len(), 2);
        assert_eq!(parsed[0].1[0].fields.len(), 1);
        assert!(parsed[0].1[1].fields.is_empty());
        assert!(read_reply(&Value::Nil).is_empty());
    }
}
