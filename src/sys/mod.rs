//! What sessile asks of the operating system beyond std, each a call into
//! libc and so the one other place (besides `ffi/`) allowed `unsafe`:
//! fork detection (`fork.rs`: a `pthread_atfork` handler and values a
//! forked child gets afresh) and free disk space (`disk.rs`: statvfs).

// Every unsafe operation sits in its own block with a `// SAFETY:` line.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod disk;
pub(crate) mod fork;
