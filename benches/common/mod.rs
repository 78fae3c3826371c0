//! What the benches share: the session they store and how they fill a store.

use sessile::Engine;

/// 2026-01-01T00:00:00Z, where the benches' manual clocks start.
pub const T0: i64 = 1_767_225_600_000;

/// Saves `n` typical logged-in sessions (about 215 bytes on disk; with
/// `blob`, that much more) and returns their keys. `progress` is called
/// once per session.
pub fn fill(
    engine: &Engine,
    n: usize,
    blob: Option<&str>,
    mut progress: impl FnMut(),
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut s = engine.new_session();
            s.insert("_auth_user_id", i as i64).unwrap();
            s.insert(
                "_auth_user_backend",
                "django.contrib.auth.backends.ModelBackend",
            )
            .unwrap();
            s.insert(
                "_auth_user_hash",
                "5f4dcc3b5aa765d61d8327deb882cf99a1b2c3d4e5f6a7b8c9d0",
            )
            .unwrap();
            s.insert("cart", vec!["tea", "cake", "biscuits"]).unwrap();
            s.insert("theme", "dark").unwrap();
            if let Some(blob) = blob {
                s.insert("history", blob).unwrap();
            }
            s.save().unwrap();
            progress();
            s.session_key().unwrap().to_owned()
        })
        .collect()
}
