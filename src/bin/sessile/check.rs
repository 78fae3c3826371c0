//! `sessile check [--repair]`: prints the report of `SledStore::check`
//! (src/store/check.rs, which walks both trees against the store's
//! invariants and, with `--repair`, restores them).
//!
//! Faults (exit status 1 until repaired): damaged records, records without
//! their index entry, malformed index entries. Reported but not faults:
//! index entries without a record (`--repair` removes them) and stale
//! entries (only counted). docs/CLI.md has the table.

use std::io::{self, BufWriter, Write};

use sessile::{CheckFinding, SledStore};

use crate::convert::rfc3339;
use crate::{show_key, Failure, Outcome};

/// `sessile check [--repair]`.
pub fn check(store: &SledStore, repair: bool) -> Outcome {
    let r = store.check(repair)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let done = |what: &'static str| if repair { what } else { "" };

    // One line per finding, in the order found: records in key order,
    // then index entries in index order.
    for finding in &r.findings {
        match finding {
            CheckFinding::DamagedRecord { key, damage } => writeln!(
                out,
                "damaged record {}: {damage}{}",
                show_key(key),
                done(" (removed)")
            )?,
            CheckFinding::RecordWithoutEntry { key, index_at_ms } => writeln!(
                out,
                "record without index entry: {} (due {}){}",
                show_key(key.as_bytes()),
                rfc3339(*index_at_ms),
                done(" (entry filed)")
            )?,
            CheckFinding::MalformedEntry { entry } => writeln!(
                out,
                "malformed index entry {}{}",
                show_key(entry),
                done(" (removed)")
            )?,
            CheckFinding::EntryWithoutRecord { key, at_ms } => writeln!(
                out,
                "index entry without record: {} at {}{}",
                show_key(key),
                rfc3339(*at_ms),
                done(" (removed)")
            )?,
            other => writeln!(out, "{other:?}")?,
        }
    }

    let faults = r.faults();
    writeln!(out, "records:                      {}", r.records)?;
    writeln!(
        out,
        "index entries:                {} ({} stale, dropped by the sweeper when due)",
        r.index_entries, r.stale_entries
    )?;
    writeln!(out, "damaged records:              {}", r.damaged_records)?;
    writeln!(
        out,
        "records without index entry:  {}",
        r.records_without_entry
    )?;
    writeln!(out, "malformed index entries:      {}", r.malformed_entries)?;
    writeln!(
        out,
        "index entries without record: {} (harmless: the sweeper drops them when due{})",
        r.entries_without_record,
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
