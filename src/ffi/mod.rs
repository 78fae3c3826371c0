//! The C ABI: with `src/sys/`, the only place in sessile with `unsafe`.
//!
//! Every export follows the rules of docs/ABI.md (DESIGN.md §7):
//! - names start with `sessile_`; handles are opaque pointers;
//! - fallible calls return a [`sessile_result`] and write their outputs
//!   only when they return `SESSILE_RESULT_OK`;
//! - each body runs inside the panic boundary of `panic.rs`, and every
//!   pointer goes through the checks of `ptr.rs` before it is used;
//! - memory handed to C is freed only by the matching `sessile_*_free`.
//!
//! Layout, one file per C object family, plumbing apart:
//! `panic.rs` (boundary), `error.rs` (result codes, last error),
//! `ptr.rs` (pointer checks and handle ownership), `version.rs`, `buf.rs`,
//! `options.rs`, `engine.rs`, `expiry.rs`, `key.rs`, `store.rs`,
//! `session.rs`, `request.rs`, `value.rs` (MessagePack/JSON conversion),
//! and `test_hooks.rs` (compiled only with the `test-hooks` feature).
//!
//! Doc comments here are written for C readers: cbindgen copies them into
//! `include/sessile.h`.

// The C names are the Rust names, as in rustls-ffi: `sessile_engine` reads
// the same on both sides of the boundary.
#![allow(non_camel_case_types)]
// Every unsafe operation sits in its own block with a `// SAFETY:` line.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// Declaration order is the header's order: cbindgen emits items as it
// meets them.
mod buf;
mod engine;
mod error;
mod expiry;
mod key;
mod options;
mod request;
mod scan;
mod session;
mod store;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod version;

mod panic;
mod ptr;
mod value;
