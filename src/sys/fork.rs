//! Fork detection. A sled database is driven by background threads and an
//! in-memory log that a forked child inherits half of: a child that keeps
//! using its parent's handle would corrupt the database. A `pthread_atfork`
//! handler bumps a generation counter in every child; each open database
//! remembers the generation it was opened in, and refuses work
//! (`Error::Forked`) once they differ. Checking is one atomic load.
//!
//! Used by the engine, the stores and the key generator alike; `unsafe`
//! because registering the handler is a call into libc and `ForkLocal`
//! hands out references to values it publishes through a raw pointer.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
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

/// A process-wide value that a forked child gets afresh: the registry of
/// open databases and the key generator. A lock that another thread of the
/// parent held at the fork is never released in the child (that thread does
/// not exist there), so a child that kept the parent's value could wait
/// forever for it; and what the value holds (the parent's databases, the
/// parent's random stream) is the parent's anyway. So each value is tagged
/// with the fork generation that made it, and a child's first use makes a
/// new one. Values are leaked, never freed: a reference handed out stays
/// valid for the life of the process, and there is one per process
/// generation.
pub(crate) struct ForkLocal<T: 'static> {
    slot: AtomicPtr<Slot<T>>,
    init: fn() -> T,
}

struct Slot<T> {
    generation: u64,
    value: T,
}

impl<T: 'static> ForkLocal<T> {
    /// A value made by `init` on first use in each process.
    pub(crate) const fn new(init: fn() -> T) -> Self {
        ForkLocal {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            init,
        }
    }

    /// This process's value.
    pub(crate) fn get(&'static self) -> &'static T {
        let generation = generation();
        loop {
            let current = self.slot.load(Ordering::Acquire);
            // SAFETY: a non-null `slot` always points to a `Slot` made by
            // `Box::into_raw` below and never freed.
            if let Some(slot) = unsafe { current.as_ref() } {
                if slot.generation == generation {
                    return &slot.value;
                }
            }
            let fresh = Box::into_raw(Box::new(Slot {
                generation,
                value: (self.init)(),
            }));
            match self
                .slot
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: `fresh` is now published and, like every slot,
                // never freed. The stale slot it replaced is leaked.
                Ok(_) => return unsafe { &(*fresh).value },
                Err(_) => {
                    // Another thread published first: drop ours (nobody
                    // else has seen it) and use theirs.
                    // SAFETY: `fresh` came from `Box::into_raw` above and
                    // was never shared.
                    drop(unsafe { Box::from_raw(fresh) });
                }
            }
        }
    }
}
