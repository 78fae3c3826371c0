//! Moving sessions between databases: `export` and `import`, as JSON Lines
//! (one session per line; docs/CLI.md has the format).
//!
//! Both stream: export walks the store a page at a time and import handles
//! one line at a time, so memory stays flat whatever the number of sessions.
//! A line carries the session data twice: as readable JSON (`data`), and as
//! the exact MessagePack bytes (`msgpack`, base64), which is what import
//! uses when present, so a round trip is byte-for-byte.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sessile::json::{base64_decode, base64_encode, from_readable_json};
use sessile::{decode_data, encode_data, Data, Expiry, Header, Record, SessionKey, Store};

use crate::convert::{rfc3339, Policy};
use crate::inspect::{data_json, read_record};
use crate::{for_each_record, progress, show_key, warn, watched, Db, Failure, Outcome};

/// One line of an export file.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    /// The session key.
    key: String,
    /// The expiry policy.
    expiry: Policy,
    /// The absolute deadline, ms since the Unix epoch: what the session
    /// gets back on import, whatever the policy.
    expires_at_ms: i64,
    /// `expires_at_ms` for people (RFC 3339); import ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// The data as readable JSON (see docs/CLI.md for the mapping); import
    /// uses it only when `msgpack` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<Json>,
    /// The data exactly as stored: a MessagePack map, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    msgpack: Option<String>,
}

/// `-` names stdin or stdout.
fn is_std(file: &Path) -> bool {
    file == Path::new("-")
}

/// `sessile export FILE`.
pub fn export(db: &Db, file: &Path) -> Outcome {
    let (exported, damaged) = if is_std(file) {
        let mut w = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let counts = write_lines(db, &mut w, true, Failure::from)?;
        w.flush()?;
        counts
    } else {
        let failed = |e: io::Error| Failure::Error(format!("writing {}: {e}", file.display()));
        let f = File::create(file).map_err(failed)?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        let counts = write_lines(db, &mut w, false, failed)?;
        let f = w.into_inner().map_err(|e| failed(e.into_error()))?;
        f.sync_all().map_err(failed)?;
        counts
    };
    let summary = format!(
        "exported {exported} sessions to {}",
        if is_std(file) {
            "stdout".into()
        } else {
            file.display().to_string()
        }
    );
    // The summary goes to stdout unless stdout carries the sessions.
    if is_std(file) {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    if damaged > 0 {
        eprintln!("sessile: {damaged} damaged records were not exported (see above)");
        return Err(Failure::Reported);
    }
    Ok(())
}

/// Writes one line per readable session; returns (written, damaged).
fn write_lines(
    db: &Db,
    w: &mut impl Write,
    to_stdout: bool,
    failed: impl Fn(io::Error) -> Failure,
) -> Outcome<(u64, u64)> {
    let watched = watched(to_stdout);
    // Counting is a walk of its own in sled: only for a person watching.
    let total = if watched {
        Some(db.store().len()? as u64)
    } else {
        None
    };
    let bar = progress(watched, total, false);
    let (mut written, mut damaged) = (0u64, 0u64);
    for_each_record(db, |key, raw| {
        let rec = read_record(key, raw).and_then(|rec| {
            let data = decode_data(rec.data()).map_err(|e| e.to_string())?;
            Ok((rec, data))
        });
        let (rec, data) = match rec {
            Ok(ok) => ok,
            Err(e) => {
                damaged += 1;
                warn(
                    &bar,
                    format!("damaged record {}: {e}; not exported", show_key(key)),
                );
                return Ok(true);
            }
        };
        let h = rec.header();
        let line = Line {
            key: show_key(key),
            expiry: h.expiry.into(),
            expires_at_ms: h.expires_at_ms,
            expires_at: Some(rfc3339(h.expires_at_ms)),
            data: Some(data_json(&data)),
            msgpack: Some(base64_encode(rec.data())),
        };
        serde_json::to_writer(&mut *w, &line).map_err(|e| failed(e.into()))?;
        w.write_all(b"\n").map_err(&failed)?;
        written += 1;
        bar.inc(1);
        Ok(true)
    })?;
    bar.finish_and_clear();
    Ok((written, damaged))
}

/// `sessile import FILE`.
pub fn import(db: &Db, input: Input) -> Outcome {
    read_lines(db.store(), input.reader, input.len, &input.name)
}

/// The file `import` reads, opened before the database so that a missing
/// or unreadable file never creates one.
pub struct Input {
    reader: Box<dyn BufRead>,
    len: Option<u64>,
    name: String,
}

impl Input {
    /// Opens `file` (`-` is stdin).
    pub fn open(file: &Path) -> Outcome<Input> {
        if is_std(file) {
            return Ok(Input {
                reader: Box::new(io::stdin().lock()),
                len: None,
                name: "stdin".into(),
            });
        }
        let f = File::open(file)
            .map_err(|e| Failure::Error(format!("cannot read {}: {e}", file.display())))?;
        Ok(Input {
            len: f.metadata().ok().map(|m| m.len()),
            reader: Box::new(BufReader::with_capacity(1 << 16, f)),
            name: file.display().to_string(),
        })
    }
}

/// What became of one good line.
enum Imported {
    New,
    /// A session with this key is already stored; it was left alone.
    Exists,
}

/// Why a line was not imported.
enum Refused {
    /// The line is wrong; the import goes on.
    Bad(String),
    /// The database failed; the import stops.
    Fatal(Failure),
}

impl From<sessile::Error> for Refused {
    fn from(e: sessile::Error) -> Refused {
        Refused::Fatal(e.into())
    }
}

fn bad(msg: impl Into<String>) -> Refused {
    Refused::Bad(msg.into())
}

fn read_lines(store: &dyn Store, mut r: impl BufRead, len: Option<u64>, name: &str) -> Outcome {
    let bar = progress(watched(false), len, true);
    let mut buf = Vec::new();
    let (mut line_no, mut consumed) = (0u64, 0u64);
    let (mut imported, mut skipped, mut bad_lines) = (0u64, 0u64, 0u64);
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::Error(format!("reading {name}: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        consumed += n as u64;
        if line_no.is_multiple_of(256) {
            bar.set_position(consumed);
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match import_line(store, text) {
            Ok(Imported::New) => imported += 1,
            Ok(Imported::Exists) => {
                skipped += 1;
                warn(
                    &bar,
                    format!("line {line_no}: a session with this key already exists; skipped"),
                );
            }
            Err(Refused::Bad(msg)) => {
                bad_lines += 1;
                warn(&bar, format!("line {line_no}: {msg}"));
            }
            Err(Refused::Fatal(f)) => {
                bar.abandon();
                // Keep what was imported so far.
                store.flush()?;
                return Err(f);
            }
        }
    }
    bar.finish_and_clear();
    store.flush()?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "imported {imported} sessions, skipped {skipped} already present, {bad_lines} bad lines"
    )?;
    out.flush()?;
    if bad_lines > 0 {
        return Err(Failure::Reported);
    }
    Ok(())
}

fn import_line(store: &dyn Store, text: &[u8]) -> Result<Imported, Refused> {
    let line: Line = serde_json::from_slice(text).map_err(|e| bad(json_error(&e)))?;
    let key = SessionKey::parse(&line.key).map_err(|e| bad(format!("key: {e}")))?;
    let data = match (&line.msgpack, &line.data) {
        (Some(b64), _) => {
            let bytes = base64_decode(b64).map_err(|e| bad(format!("msgpack: {e}")))?;
            decode_data(&bytes).map_err(|e| bad(format!("msgpack: {e}")))?;
            bytes
        }
        (None, Some(Json::Object(map))) => {
            let mut data = Data::new();
            for (k, v) in map {
                let v = from_readable_json(v).map_err(|e| bad(format!("data.{k}: {e}")))?;
                data.insert(k.clone(), v);
            }
            encode_data(&data)
        }
        (None, Some(_)) => return Err(bad("data: must be a JSON object")),
        (None, None) => return Err(bad("a session needs `msgpack` or `data`")),
    };
    let deadline = line.expires_at_ms;
    let expiry = Expiry::from(line.expiry);
    // The record keeps its deadline as exported. A policy that could not
    // have given it is refused (a hand-edited line).
    match expiry {
        Expiry::Seconds(s)
            if s.checked_mul(1000)
                .and_then(|ms| deadline.checked_sub(ms))
                .is_none() =>
        {
            return Err(bad("expires_at_ms and expiry.seconds are out of range"))
        }
        Expiry::At(at) if at != deadline => {
            return Err(bad(format!(
                "expiry.at_ms ({at}) differs from expires_at_ms ({deadline})"
            )))
        }
        _ => {}
    }
    // Never overwrite: a key already present, live, expired or damaged,
    // is left as it is. A load as of the earliest time there is finds a
    // record whatever its deadline (all but one due at that very instant,
    // which is expired at every time, so counts as absent), and a damaged
    // one as an error: one lookup (a scan from just before the key, as
    // `get` does, made a million-line import a fifth slower).
    match store.load(&key, i64::MIN) {
        Ok(Some(_)) | Err(sessile::Error::Corrupt(_)) => return Ok(Imported::Exists),
        Ok(None) => {}
        Err(e) => return Err(e.into()),
    }
    // The session came out of a database: whatever limit the application
    // configures was applied when it was written.
    let header = Header {
        expiry,
        expires_at_ms: deadline,
        index_at_ms: deadline,
    };
    Ok(
        match store.create(&key, Record::new(header, &data), super::now_ms())? {
            Some(_) => Imported::New,
            None => Imported::Exists,
        },
    )
}

/// serde_json's message without its "at line 1 column N" (the line is ours
/// to number), with the column kept.
fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = full.rsplit_once(" at line ").map_or(&full[..], |(m, _)| m);
    format!("not a session line: {msg} (column {})", e.column())
}
