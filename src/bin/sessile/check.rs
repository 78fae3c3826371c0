//! `sessile check [--repair]`: prints the report of `SledStore::check`
//! (src/store/check.rs, which walks both trees against the store's
//! invariants and, with `--repair`, restores them).
//!
//! Faults (exit status 1 until repaired): damaged records, records without
//! their index entry or their owner entry, malformed entries in either
//! index. Reported but not faults: index entries without a record and
//! stale owner entries (`--repair` removes them), and stale index entries
//! (only counted). docs/CLI.md has the table.

use std::io::{self, BufWriter, Write};

use sessile::{CheckFinding, SledStore, Store};

use crate::convert::rfc3339;
use crate::{show_key, Failure, Outcome};

/// `sessile check [--repair]`.
pub fn check(store: &SledStore, repair: bool) -> Outcome {
    let r = store.check(repair)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let done = |what: &'static str| if repair { what } else { "" };

    // One line per finding, in the order found: records in key order,
    // then index entries in index order, then owner entries.
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
            CheckFinding::RecordWithoutOwnerEntry { key, owner } => writeln!(
                out,
                "record without owner entry: {} (owner {}){}",
                show_key(key.as_bytes()),
                show_key(owner),
                done(" (entry filed)")
            )?,
            CheckFinding::MalformedOwnerEntry { entry } => writeln!(
                out,
                "malformed owner entry {}{}",
                show_key(entry),
                done(" (removed)")
            )?,
            CheckFinding::StaleOwnerEntry { owner, key } => writeln!(
                out,
                "stale owner entry: {} under owner {}{}",
                show_key(key),
                show_key(owner),
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
    let owner_key = store.owner_key();
    let by = owner_key.map_or("no owner key".into(), |k| format!("by {k}"));
    writeln!(
        out,
        "owner entries:                {} ({by})",
        r.owner_entries
    )?;
    writeln!(
        out,
        "records without owner entry:  {}",
        r.records_without_owner_entry
    )?;
    writeln!(
        out,
        "malformed owner entries:      {}",
        r.malformed_owner_entries
    )?;
    writeln!(
        out,
        "stale owner entries:          {} (harmless: a listing of the owner drops them{})",
        r.stale_owner_entries,
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
