//! Looking inside without changing anything: `stats`, `list`, `get`.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sessile::json::to_readable_json;
use sessile::{decode_data, Data, Record, SessionKey, SledStore, Store, FORMAT_VERSION};

use crate::convert::{browser_close, policy_text, rfc3339, Policy};
use crate::{for_each_record, now_ms, show_key, Failure, Outcome};

/// A stored record, read for display: either its header or why it cannot
/// be read. A key that is not a valid session key makes a record damaged
/// too: no engine can ever load it.
pub fn read_record(key: &[u8], raw: Vec<u8>) -> Result<Record, String> {
    SessionKey::from_bytes(key).map_err(|e| format!("not a valid session key: {e}"))?;
    Record::decode(&raw).map_err(|e| e.to_string())
}

/// Session data as a JSON object, per the mapping of docs/CLI.md.
pub fn data_json(data: &Data) -> Json {
    Json::Object(
        data.iter()
            .map(|(k, v)| (k.clone(), to_readable_json(v)))
            .collect::<Map<_, _>>(),
    )
}

#[derive(Debug, Default, Serialize)]
struct Stats {
    path: String,
    sessions: u64,
    live: u64,
    expired: u64,
    damaged: u64,
    index_entries: u64,
    disk_bytes: u64,
    format_version: u8,
}

/// `sessile stats`.
pub fn stats(store: &SledStore, json: bool) -> Outcome {
    let now = now_ms();
    let mut s = Stats {
        path: store.path().display().to_string(),
        format_version: FORMAT_VERSION,
        ..Stats::default()
    };
    for_each_record(store, |key, raw| {
        s.sessions += 1;
        match read_record(key, raw) {
            Ok(rec) if rec.is_expired(now) => s.expired += 1,
            Ok(_) => s.live += 1,
            Err(_) => s.damaged += 1,
        }
        Ok(true)
    })?;
    // The index is the store's own business: its check counts it (and
    // costs most of the time `stats` takes: a lookup per record and per
    // entry).
    s.index_entries = store.index_len()? as u64;
    s.disk_bytes = store.size_on_disk()?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &s)?;
        writeln!(out)?;
    } else {
        writeln!(out, "database        {}", s.path)?;
        writeln!(out, "sessions        {}", s.sessions)?;
        writeln!(out, "  live          {}", s.live)?;
        writeln!(
            out,
            "  expired       {} (not yet swept; `sessile clear-expired` removes them)",
            s.expired
        )?;
        writeln!(
            out,
            "  damaged       {} (`sessile check` lists them)",
            s.damaged
        )?;
        writeln!(out, "index entries   {}", s.index_entries)?;
        writeln!(out, "disk bytes      {}", s.disk_bytes)?;
        writeln!(out, "format version  {}", s.format_version)?;
    }
    Ok(out.flush()?)
}

#[derive(Debug, Serialize)]
struct ListItem<'a> {
    key: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<Policy>,
    bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// `sessile list`: streams, so a million sessions cost one page of memory.
pub fn list(store: &SledStore, expired_only: bool, limit: Option<usize>, json: bool) -> Outcome {
    let now = now_ms();
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut shown = 0usize;
    if json {
        out.write_all(b"[")?;
    }
    if limit > 0 {
        for_each_record(store, |key, raw| {
            let bytes = raw.len();
            let rec = read_record(key, raw);
            let expired = matches!(&rec, Ok(r) if r.is_expired(now));
            if expired_only && !expired {
                return Ok(true);
            }
            let item = match &rec {
                Ok(r) => {
                    let h = r.header();
                    ListItem {
                        key: show_key(key),
                        state: if expired { "expired" } else { "live" },
                        expires_at_ms: Some(h.expires_at_ms),
                        expires_at: Some(rfc3339(h.expires_at_ms)),
                        expiry: Some(h.expiry.into()),
                        bytes,
                        error: None,
                    }
                }
                Err(e) => ListItem {
                    key: show_key(key),
                    state: "damaged",
                    expires_at_ms: None,
                    expires_at: None,
                    expiry: None,
                    bytes,
                    error: Some(e),
                },
            };
            if json {
                out.write_all(if shown == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut out, &item)?;
            } else {
                let (at, policy) = match &rec {
                    Ok(r) => (
                        rfc3339(r.header().expires_at_ms),
                        policy_text(r.header().expiry),
                    ),
                    Err(_) => ("-".into(), "-".into()),
                };
                writeln!(out, "{}\t{at}\t{policy}\t{bytes}\t{}", item.key, item.state)?;
            }
            shown += 1;
            Ok(shown < limit)
        })?;
    }
    if json {
        out.write_all(if shown == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    Ok(out.flush()?)
}

/// The record stored under `key` exactly as stored, expired or damaged
/// (what `Store::load` would not return), or `None`.
fn stored(store: &SledStore, key: &SessionKey) -> sessile::Result<Option<Vec<u8>>> {
    let key = key.as_bytes();
    // `scan` starts strictly after a bound: start after the key less its
    // last byte. Only keys sharing that prefix sort in between, if any.
    let mut after = key[..key.len() - 1].to_vec();
    loop {
        let Some((k, raw)) = store.scan(Some(&after), 1)?.pop() else {
            return Ok(None);
        };
        match k[..].cmp(key) {
            std::cmp::Ordering::Less => after = k.to_vec(),
            std::cmp::Ordering::Equal => return Ok(Some(raw)),
            std::cmp::Ordering::Greater => return Ok(None),
        }
    }
}

#[derive(Debug, Serialize)]
struct Shown {
    key: String,
    expired: bool,
    expires_at_ms: i64,
    expires_at: String,
    expiry: Policy,
    browser_close: Option<bool>,
    bytes: usize,
    data: Json,
}

/// `sessile get KEY`.
pub fn get(store: &SledStore, key: &SessionKey) -> Outcome {
    let Some(raw) = stored(store, key)? else {
        return Err(Failure::Error(format!(
            "no session {key} in {}",
            store.path().display()
        )));
    };
    let bytes = raw.len();
    let damaged =
        |e: sessile::RecordError| Failure::Error(format!("session {key} is damaged: {e}"));
    let rec = Record::decode(&raw).map_err(damaged)?;
    let data = decode_data(rec.data()).map_err(damaged)?;
    let h = rec.header();
    let shown = Shown {
        key: key.to_string(),
        expired: rec.is_expired(now_ms()),
        expires_at_ms: h.expires_at_ms,
        expires_at: rfc3339(h.expires_at_ms),
        expiry: h.expiry.into(),
        browser_close: browser_close(h.expiry),
        bytes,
        data: data_json(&data),
    };
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &shown)?;
    writeln!(out)?;
    Ok(out.flush()?)
}
