//! Sessions by owner ("log out everywhere"): `list --owner` and `delete
//! --owner`. Both are the library's own operations, `Engine::sessions_of`
//! and `Engine::end_sessions_of`, on an engine over the store the tool
//! opened (it runs no reaper): through the store's owner index, or, on a
//! store that keeps none, by reading every session.
//!
//! The owner key (the data key that names a session's owner) is the one
//! the store keeps its index by, or `--owner-key`, which makes a sled
//! database build its index by that key (replacing one kept by another
//! key). With neither there is no owner to look up: a usage error (exit
//! status 2) that says to pass `--owner-key`.

use std::io::{self, Write};

use sessile::{Config, ConfigError, Engine, Error, SessionKey};

use crate::inspect::Listing;
use crate::{Db, Failure, Outcome};

/// `sessile list --owner OWNER`: that owner's live sessions in `list`'s
/// format, the one that expires last first.
pub fn list(
    db: Db,
    owner: &str,
    owner_key: Option<&str>,
    limit: Option<usize>,
    json: bool,
) -> Outcome {
    let name = db.name();
    let engine = engine(db, owner_key)?;
    let sessions = engine
        .sessions_of(owner)
        .map_err(|e| owner_error(e, &name))?;
    let mut listing = Listing::start(json)?;
    for (key, rec) in sessions.iter().take(limit.unwrap_or(usize::MAX)) {
        listing.item(key.as_bytes(), rec.raw().len(), Ok(rec))?;
    }
    listing.finish()
}

/// `sessile delete --owner OWNER [--except KEY]`: ends that owner's
/// sessions (all but `except`) and prints how many.
pub fn delete(
    db: Db,
    owner: &str,
    except: Option<&SessionKey>,
    owner_key: Option<&str>,
) -> Outcome {
    let name = db.name();
    let engine = engine(db, owner_key)?;
    let ended = engine
        .end_sessions_of(owner, except)
        .map_err(|e| owner_error(e, &name))?;
    engine.flush()?;
    let mut out = io::stdout().lock();
    match except {
        Some(kept) => writeln!(
            out,
            "ended {ended} sessions of owner {owner} (all but {kept})"
        )?,
        None => writeln!(out, "ended {ended} sessions of owner {owner}")?,
    }
    Ok(out.flush()?)
}

/// An engine over `db` that finds owners by `owner_key` when it is given,
/// else by the key the store keeps its owner index by. A store that keeps
/// an index builds it by `owner_key` first (or rebuilds it, when it kept
/// one by another key), which is said on stderr and flushed at once.
fn engine(db: Db, owner_key: Option<&str>) -> Outcome<Engine> {
    let name = db.name();
    let before = db.store().owner_key();
    let mut config = Config::new(&name).reaper_interval(None);
    if let Some(key) = owner_key {
        config = config.owner_key(key);
    }
    let engine = Engine::with_store(config, db.into_store()).map_err(|e| match e {
        Error::InvalidConfig(e @ ConfigError::OwnerKey(_)) => {
            Failure::Usage(format!("--owner-key: {e}"))
        }
        e => e.into(),
    })?;
    let after = engine.store().owner_key();
    if let Some(key) = after.as_ref().filter(|_| after != before) {
        engine.flush()?;
        let was = before.map_or(String::new(), |b| format!(" (it was kept by {b})"));
        eprintln!("sessile: built the owner index of {name} by {key}{was}");
    }
    Ok(engine)
}

/// The error of a lookup by owner, for the command line.
fn owner_error(e: Error, name: &str) -> Failure {
    match e {
        Error::InvalidConfig(ConfigError::NoOwnerKey) => Failure::Usage(format!(
            "{name} keeps no owner index, so sessions have no owner to look up: name the \
             data key that holds a session's owner with --owner-key (such as --owner-key \
             _auth_user_id, or passport.user); a database then keeps its index by that key"
        )),
        e => e.into(),
    }
}
