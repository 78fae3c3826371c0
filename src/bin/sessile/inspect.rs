//! Looking inside without changing anything: `stats`, `list`, `get`.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sessile::json::to_readable_json;
use sessile::{decode_data, Data, Record, SessionKey, FORMAT_VERSION};

use crate::convert::{browser_close, policy_text, rfc3339, Policy};
use crate::{for_each_record, now_ms, show_key, Db, Failure, Outcome};

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
    /// The sled database's path, or the Redis server's URL without its
    /// password.
    path: String,
    /// `sled` or `redis`.
    store: &'static str,
    sessions: u64,
    live: u64,
    expired: u64,
    damaged: u64,
    /// sled only: Redis keeps no index (it expires keys itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    index_entries: Option<u64>,
    /// sled only: the database's files.
    #[serde(skip_serializing_if = "Option::is_none")]
    disk_bytes: Option<u64>,
    format_version: u8,
    /// The data key the store's owner index is kept by; `null` when it
    /// keeps none.
    owner_key: Option<String>,
    /// sled only: the owner index's entries (live or stale).
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_entries: Option<u64>,
}

/// `sessile stats`.
pub fn stats(db: &Db, json: bool) -> Outcome {
    let now = now_ms();
    let mut s = Stats {
        path: db.name(),
        format_version: FORMAT_VERSION,
        owner_key: db.store().owner_key().map(|k| k.to_string()),
        ..Stats::default()
    };
    for_each_record(db, |key, raw| {
        s.sessions += 1;
        match read_record(key, raw) {
            Ok(rec) if rec.is_expired(now) => s.expired += 1,
            Ok(_) => s.live += 1,
            Err(_) => s.damaged += 1,
        }
        Ok(true)
    })?;
    match db {
        Db::Sled(store) => {
            s.store = "sled";
            // The index is the store's own business: its check counts it
            // (and costs most of the time `stats` takes: a lookup per
            // record and per entry).
            s.index_entries = Some(store.index_len()? as u64);
            s.disk_bytes = Some(store.size_on_disk()?);
            s.owner_entries = Some(store.owner_index_len()? as u64);
        }
        #[cfg(feature = "redis")]
        Db::Redis(_) => s.store = "redis",
    }
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &s)?;
        writeln!(out)?;
    } else {
        writeln!(out, "database        {} ({})", s.path, s.store)?;
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
        if let (Some(entries), Some(bytes)) = (s.index_entries, s.disk_bytes) {
            writeln!(out, "index entries   {entries}")?;
            writeln!(out, "disk bytes      {bytes}")?;
        }
        writeln!(out, "format version  {}", s.format_version)?;
        match &s.owner_key {
            Some(key) => writeln!(out, "owner key       {key}")?,
            None => writeln!(
                out,
                "owner key       none (`sessile list --owner X --owner-key KEY` builds the index)"
            )?,
        }
        if let Some(entries) = s.owner_entries {
            writeln!(out, "owner entries   {entries}")?;
        }
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
pub fn list(db: &Db, expired_only: bool, limit: Option<usize>, json: bool) -> Outcome {
    let limit = limit.unwrap_or(usize::MAX);
    let mut listing = Listing::start(json)?;
    if limit > 0 {
        for_each_record(db, |key, raw| {
            let bytes = raw.len();
            let rec = read_record(key, raw);
            let rec = rec.as_ref().map_err(String::as_str);
            if expired_only && !listing.is_expired(rec) {
                return Ok(true);
            }
            listing.item(key, bytes, rec)?;
            Ok(listing.shown < limit)
        })?;
    }
    listing.finish()
}

/// `list`'s output, one session at a time: tab-separated lines, or a JSON
/// array with one element per line (docs/CLI.md). `list --owner` writes
/// the same.
pub struct Listing {
    out: BufWriter<io::StdoutLock<'static>>,
    json: bool,
    now: i64,
    /// Sessions written so far.
    pub shown: usize,
}

impl Listing {
    /// Starts the output; the listing says "expired" by the time now.
    pub fn start(json: bool) -> Outcome<Listing> {
        let mut out = BufWriter::new(io::stdout().lock());
        if json {
            out.write_all(b"[")?;
        }
        Ok(Listing {
            out,
            json,
            now: now_ms(),
            shown: 0,
        })
    }

    /// Whether `rec` is a readable record past its deadline.
    pub fn is_expired(&self, rec: Result<&Record, &str>) -> bool {
        matches!(rec, Ok(r) if r.is_expired(self.now))
    }

    /// Writes the session stored under `key` (`bytes` long), read as `rec`.
    pub fn item(&mut self, key: &[u8], bytes: usize, rec: Result<&Record, &str>) -> Outcome {
        let expired = self.is_expired(rec);
        let item = match rec {
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
        let out = &mut self.out;
        if self.json {
            out.write_all(if self.shown == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &item)?;
        } else {
            let (at, policy) = match rec {
                Ok(r) => (
                    rfc3339(r.header().expires_at_ms),
                    policy_text(r.header().expiry),
                ),
                Err(_) => ("-".into(), "-".into()),
            };
            writeln!(out, "{}\t{at}\t{policy}\t{bytes}\t{}", item.key, item.state)?;
        }
        self.shown += 1;
        Ok(())
    }

    /// Ends the output.
    pub fn finish(mut self) -> Outcome {
        if self.json {
            let end: &[u8] = if self.shown == 0 { b"]\n" } else { b"\n]\n" };
            self.out.write_all(end)?;
        }
        Ok(self.out.flush()?)
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
pub fn get(db: &Db, key: &SessionKey) -> Outcome {
    let damaged =
        |e: sessile::RecordError| Failure::Error(format!("session {key} is damaged: {e}"));
    // A load as of the earliest time there is returns a record whatever
    // its deadline (expired ones too, which `get` shows as such), and a
    // damaged one as `Corrupt`.
    let rec = match db.store().load(key, i64::MIN) {
        Ok(Some(rec)) => rec,
        Ok(None) => {
            return Err(Failure::Error(format!("no session {key} in {}", db.name())));
        }
        Err(sessile::Error::Corrupt(e)) => return Err(damaged(e)),
        Err(e) => return Err(e.into()),
    };
    let bytes = rec.raw().len();
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
