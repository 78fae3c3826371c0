//! tower-sessions' own middleware tests (`mod tests` in its
//! src/service.rs), run on `sessile::TowerStore`: cookie attributes, the
//! expiry modes, `always_save` (which saves twice back to back and compares
//! the expiry dates the store loads back). tests/upstream/run.sh extracts
//! the module from the crate fetched from crates.io into
//! `upstream/tower_sessions_service_tests.rs` beside this file, with
//! `MemoryStore::default()` replaced by `sessile_upstream::tower_store()`.

// What the extracted module reaches through `use super::*` and `crate::`
// inside tower-sessions' service.rs.
use http::{Request, Response};
use tower::Service;
#[cfg(any(feature = "signed", feature = "private"))]
use tower_sessions::cookie::Key;
use tower_sessions::cookie::SameSite;
use tower_sessions::{session, Expiry, Session, SessionManagerLayer, SessionStore};

include!("upstream/tower_sessions_service_tests.rs");
