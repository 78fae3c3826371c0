//! Session keys for C: generation (for adapters whose framework makes its
//! own session ids, such as express-session's `genid`) and validation.

use std::ffi::c_char;

use super::buf::sessile_buf;
use super::error::{sessile_result, Fail};
use super::panic::boundary;
use super::ptr::{arg_bytes, arg_out, to_c};
use crate::key::{SessionKey, KEY_LEN};

/// The length of every session key, in bytes: 32 characters of `[a-z0-9]`.
pub const SESSILE_KEY_LEN: usize = 32;

// The header's constant is a literal; keep it equal to the engine's.
const _: () = assert!(SESSILE_KEY_LEN == KEY_LEN);

/// Parses a key argument; `SESSILE_RESULT_INVALID_KEY` when it is not 32
/// characters of `[a-z0-9]` (bytes that are not UTF-8 included).
pub(crate) fn parse_key(bytes: &[u8]) -> Result<SessionKey, Fail> {
    SessionKey::from_bytes(bytes).map_err(|e| Fail::from(crate::error::Error::InvalidKey(e)))
}

/// A fresh random key for a new session (the test hooks may fix it).
pub(crate) fn new_key() -> SessionKey {
    #[cfg(feature = "test-hooks")]
    if let Some(k) = super::test_hooks::fixed_key() {
        return k;
    }
    SessionKey::generate()
}

/// Generates a random session key (32 characters of `[a-z0-9]`, about 165
/// bits, from a ChaCha20 stream that is reseeded after `fork()`). No session
/// is created: store-level saves with `SESSILE_SAVE_UPSERT` create it. Meant
/// for frameworks that name sessions themselves, such as express-session's
/// `genid` option.
///
/// On success `*key_out` receives a new buffer holding the key, freed with
/// `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `key_out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_key_generate(key_out: *mut *mut sessile_buf) -> sessile_result {
    boundary(|| {
        let out = arg_out!(key_out)?;
        let key = new_key();
        out.write(to_c(sessile_buf::new(key.as_bytes().to_vec())));
        Ok(())
    })
}

/// Checks that `(key, key_len)` is a well-formed session key: 32
/// characters of `[a-z0-9]`. Says nothing about whether a session exists.
///
/// Returns `SESSILE_RESULT_OK` (well-formed), `SESSILE_RESULT_INVALID_KEY`
/// (not), `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `(key, key_len)` must be readable (NULL is allowed when `key_len` is 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_key_validate(
    key: *const c_char,
    key_len: usize,
) -> sessile_result {
    boundary(|| {
        let key = key.cast::<u8>();
        parse_key(arg_bytes!(key, key_len)?)?;
        Ok(())
    })
}
