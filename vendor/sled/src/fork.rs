//! sessile patch (PATCHES.md, 4): sled in a forked child.
//!
//! sled keeps two pieces of process-wide state that a child of `fork`
//! inherits in a state it can never leave: the I/O thread pool (whose
//! threads are not copied by `fork`, while its counters say they are
//! there) and the concurrency control of batches and transactions (whose
//! count of active readers includes threads of the parent). A child that
//! opens a database of its own would then wait forever for the first write
//! handed to the pool, e.g. in a flush. A `pthread_atfork` child handler
//! resets both, so a child starts as a fresh process would.
//!
//! A database the parent opened stays the parent's: using its handle in
//! the child is still wrong (its flusher thread and log buffers are the
//! parent's); this only makes new databases work in the child.

use std::sync::Once;

/// Registers the child handler (once per process). Called when the state
/// it resets is first created, so it is in place before any fork that
/// could matter.
#[cfg(unix)]
pub(crate) fn install_child_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `in_child` has the signature pthread_atfork expects and
        // only stores to atomics; NULL prepare/parent handlers are allowed.
        // Registration fails only with ENOMEM, and then a child is no worse
        // off than with the published sled.
        #[allow(unsafe_code)]
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// No `fork` to survive.
#[cfg(not(unix))]
pub(crate) fn install_child_handler() {}

#[cfg(unix)]
extern "C" fn in_child() {
    crate::threadpool::reset_in_child();
    crate::concurrency_control::reset_in_child();
}
