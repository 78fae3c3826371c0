//! `sessile check`: walks both trees against the store's invariants
//! (src/store/trees.rs) and, with `--repair`, restores them.
//!
//! Faults (exit status 1 until repaired):
//! - a *damaged record*: bytes that do not decode (checksum, version,
//!   policy, data that is not a MessagePack map with string keys, or a key
//!   that is not a session key). No engine can serve it. Repair: remove it.
//! - a *record without its index entry* (none at the record's
//!   `index_at_ms`): nothing would ever sweep it. Repair: file the entry.
//! - a *malformed index entry* (wrong length): the engine never writes
//!   one, so the index was damaged. Repair: remove it.
//!
//! Not faults, but reported: an *index entry without a record* is what
//! invariant 2 allows. A crash between two writes leaves one, and so does
//! normal use: when a deadline moves earlier the old entry stays (stale),
//! and outlives its record once the session is deleted or swept. The
//! sweeper drops it when it falls due; `--repair` removes it now. *Stale*
//! entries, whose record points at another entry, are only counted.

use std::io::{self, BufWriter, Write};

use sessile::{decode_data, parse_index_entry, Record, SledStore, Store};

use crate::convert::rfc3339;
use crate::inspect::read_record;
use crate::{for_each_record, show_key, Failure, Outcome, PAGE};

#[derive(Debug, Default)]
struct Report {
    records: u64,
    entries: u64,
    stale: u64,
    damaged: u64,
    unindexed: u64,
    malformed: u64,
    orphans: u64,
}

/// `sessile check [--repair]`.
pub fn check(store: &SledStore, repair: bool) -> Outcome {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut r = Report::default();
    let done = |what: &'static str| if repair { what } else { "" };

    // Records first, then the index (the store's own order: an entry goes
    // after its record). A damaged record removed here leaves its entry
    // behind; the index pass then finds that entry and removes it too.
    for_each_record(store, |key, raw| {
        r.records += 1;
        let rec = read_record(key, raw).and_then(|rec| {
            decode_data(rec.data()).map_err(|e| e.to_string())?;
            Ok(rec)
        });
        match rec {
            Err(e) => {
                r.damaged += 1;
                if repair {
                    store.remove_raw(key)?;
                }
                writeln!(
                    out,
                    "damaged record {}: {e}{}",
                    show_key(key),
                    done(" (removed)")
                )?;
            }
            Ok(rec) => {
                let at = rec.header().index_at_ms;
                if !store.index_contains(at, key)? {
                    r.unindexed += 1;
                    if repair {
                        store.index_insert(at, key)?;
                    }
                    writeln!(
                        out,
                        "record without index entry: {} (due {}){}",
                        show_key(key),
                        rfc3339(at),
                        done(" (entry filed)")
                    )?;
                }
            }
        }
        Ok(true)
    })?;

    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.index_scan(after.as_deref(), PAGE)?;
        let full = page.len() == PAGE;
        for entry in page {
            r.entries += 1;
            let leftover = match parse_index_entry(&entry) {
                None => {
                    r.malformed += 1;
                    Some(format!("malformed index entry {}", show_key(&entry)))
                }
                Some((at, key)) => match store.get_raw(key)? {
                    None => {
                        r.orphans += 1;
                        Some(format!(
                            "index entry without record: {} at {}",
                            show_key(key),
                            rfc3339(at)
                        ))
                    }
                    Some(raw) => {
                        // A damaged record was reported by the first pass.
                        if let Ok(rec) = Record::decode(&raw) {
                            if rec.header().index_at_ms != at {
                                r.stale += 1;
                            }
                        }
                        None
                    }
                },
            };
            if let Some(what) = leftover {
                if repair {
                    store.index_remove(&entry)?;
                }
                writeln!(out, "{what}{}", done(" (removed)"))?;
            }
            after = Some(entry.to_vec());
        }
        if !full {
            break;
        }
    }
    if repair {
        store.flush()?;
    }

    let faults = r.damaged + r.unindexed + r.malformed;
    writeln!(out, "records:                      {}", r.records)?;
    writeln!(
        out,
        "index entries:                {} ({} stale, dropped by the sweeper when due)",
        r.entries, r.stale
    )?;
    writeln!(out, "damaged records:              {}", r.damaged)?;
    writeln!(out, "records without index entry:  {}", r.unindexed)?;
    writeln!(out, "malformed index entries:      {}", r.malformed)?;
    writeln!(
        out,
        "index entries without record: {} (harmless: the sweeper drops them when due{})",
        r.orphans,
        done("; removed")
    )?;
    match (faults, repair) {
        (0, _) => writeln!(out, "no faults")?,
        (n, true) => writeln!(out, "repaired {n} faults")?,
        (n, false) => writeln!(out, "{n} faults; `sessile check --repair` fixes them")?,
    }
    out.flush()?;
    if faults > 0 && !repair {
        return Err(Failure::Reported);
    }
    Ok(())
}
