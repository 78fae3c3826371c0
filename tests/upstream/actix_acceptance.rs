//! actix-session's own acceptance suite (`test_helpers::acceptance_test_suite`
//! in its src/lib.rs, compiled only for its own tests), run on
//! `sessile::ActixStore` with `is_invalidation_supported = true`: a renewed
//! or purged session's old cookie must find nothing. tests/upstream/run.sh
//! extracts the module from the crate fetched from crates.io into
//! `upstream/actix_session_test_helpers.rs` beside this file; it is
//! included unchanged.

// What the extracted module reaches as `crate::…` inside actix-session.
use actix_session::{config, storage, Session, SessionExt, SessionMiddleware};

include!("upstream/actix_session_test_helpers.rs");

#[test]
fn acceptance_test_suite_on_actix_store() {
    let store = sessile_upstream::actix_store();
    actix_web::rt::System::new().block_on(test_helpers::acceptance_test_suite(
        move || store.clone(),
        true,
    ));
}
