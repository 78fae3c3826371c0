//! Deleting: `delete`, `clear-expired`, `flush-all`.

use std::io::{self, Write};

use sessile::SessionKey;

use crate::{for_each_record, now_ms, Db, Failure, Outcome};

/// `sessile delete KEY`.
pub fn delete(db: &Db, key: &SessionKey) -> Outcome {
    let store = db.store();
    if !store.delete(key)? {
        return Err(Failure::Error(format!("no session {key} in {}", db.name())));
    }
    store.flush()?;
    let mut out = io::stdout().lock();
    writeln!(out, "deleted {key}")?;
    Ok(out.flush()?)
}

/// `sessile clear-expired`: the engine's sweep, run to the end.
pub fn clear_expired(db: &Db, json: bool) -> Outcome {
    let store = db.store();
    // One instant for the whole run, as `Engine::clear_expired` does: the
    // count is of sessions expired when the command started.
    let now = now_ms();
    let mut removed = 0usize;
    loop {
        let sweep = store.sweep(now, db.sweep_budget())?;
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
/// through `Store::delete`; then, in a sled database, the repairing check
/// removes what `delete` cannot name (records under keys that are not
/// session keys) and every index entry left (a damaged record's, stale
/// ones). In Redis, keys under the prefix that are not session keys are
/// not sessile's and stay.
pub fn flush_all(db: &Db) -> Outcome {
    let store = db.store();
    let mut removed = 0u64;
    for_each_record(db, |key, _| {
        if let Ok(key) = SessionKey::from_bytes(key) {
            if store.delete(&key)? {
                removed += 1;
            }
        }
        Ok(true)
    })?;
    match db {
        // Flushes what it and the deletes wrote.
        Db::Sled(sled) => removed += sled.check(true)?.damaged_records,
        #[cfg(feature = "redis")]
        Db::Redis(_) => {}
    }
    let mut out = io::stdout().lock();
    writeln!(out, "removed {removed} sessions")?;
    Ok(out.flush()?)
}
