//! Fork detection. A sled database is driven by background threads and an
//! in-memory log that a forked child inherits half of: a child that keeps
//! using its parent's handle would corrupt the database. A `pthread_atfork`
//! handler bumps a generation counter in every child; each open database
//! remembers the generation it was opened in, and refuses work
//! (`Error::Forked`) once they differ. Checking is one atomic load.
//!
//! This lives in `ffi/` because registering the handler is the one call
//! into libc that needs `unsafe`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn in_child() {
    // Async-signal-safe: one atomic add.
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current fork generation (0 in the first process; each fork makes
/// the child's count one higher than its parent's). Installs the handler on
/// first use, so a database opened before any fork is covered.
pub(crate) fn generation() -> u64 {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `in_child` is an `extern "C"` function with the signature
        // pthread_atfork expects and does only async-signal-safe work; the
        // NULL prepare/parent handlers are allowed. Registration can only
        // fail with ENOMEM, in which case fork detection is off, which is no
        // worse than without it.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
    GENERATION.load(Ordering::SeqCst)
}
