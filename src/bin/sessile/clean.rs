//! Deleting: `delete`, `clear-expired`, `flush-all`.

use std::io::{self, Write};

use sessile::{SessionKey, SledStore, Store};

use crate::{for_each_record, now_ms, Failure, Outcome, PAGE};

/// `sessile delete KEY`.
pub fn delete(store: &SledStore, key: &SessionKey) -> Outcome {
    if !store.delete(key)? {
        return Err(Failure::Error(format!(
            "no session {key} in {}",
            store.path().display()
        )));
    }
    store.flush()?;
    let mut out = io::stdout().lock();
    writeln!(out, "deleted {key}")?;
    Ok(out.flush()?)
}

/// `sessile clear-expired`: the engine's sweep, run to the end.
pub fn clear_expired(store: &SledStore, json: bool) -> Outcome {
    // One instant for the whole run, as `Engine::clear_expired` does: the
    // count is of sessions expired when the command started.
    let now = now_ms();
    let mut removed = 0usize;
    loop {
        let sweep = store.sweep(now, PAGE)?;
        removed += sweep.removed;
        if !sweep.more {
            break;
        }
    }
    store.flush()?;
    let mut out = io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::json!({ "removed": removed }))?;
    } else {
        writeln!(out, "removed {removed} expired sessions")?;
    }
    Ok(out.flush()?)
}

/// `sessile flush-all --yes`: every record, then every index entry (the
/// order the store's invariants ask for: entries go last). Sessions go
/// through `Store::delete`; then the store's repairing check removes what
/// `delete` cannot name (records under keys that are not session keys)
/// and every index entry left (a damaged record's, stale ones).
pub fn flush_all(store: &SledStore) -> Outcome {
    let mut removed = 0u64;
    for_each_record(store, |key, _| {
        if let Ok(key) = SessionKey::from_bytes(key) {
            if store.delete(&key)? {
                removed += 1;
            }
        }
        Ok(true)
    })?;
    // Flushes what it and the deletes wrote.
    let rest = store.check(true)?;
    removed += rest.damaged_records;
    let mut out = io::stdout().lock();
    writeln!(out, "removed {removed} sessions")?;
    Ok(out.flush()?)
}
