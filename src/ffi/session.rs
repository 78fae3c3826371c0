//! `sessile_session`: Django's `request.session` for C.

use std::ffi::c_char;
use std::time::Duration;

use parking_lot::Mutex;
use rmpv::Value;

use super::buf::sessile_buf;
use super::engine::sessile_engine;
use super::error::{sessile_result, Fail};
use super::expiry::sessile_expiry;
use super::panic::{boundary, boundary_value};
use super::ptr::{arg_bytes, arg_out, arg_ref, arg_str, free_c, to_c};
use super::store::SESSILE_SAVE_DURABLE;
use super::value::{
    data_to_json, decode_value, encode_map, encode_value, json_to_value, value_to_json,
};
use crate::error::Error;
use crate::expiry::{to_ms, ExpiryError};
use crate::record::Data;
use crate::session::Session;

/// One visitor's session, as Django's `request.session`: made by
/// `sessile_request_begin` (from the request's `Cookie:` header),
/// `sessile_session_open` (from a key) or `sessile_session_new`; read and
/// changed with the `sessile_session_*` functions; saved by
/// `sessile_request_end` or `sessile_session_save`.
///
/// Nothing is read from the database until the data is first used. Values
/// are MessagePack; the `_json` functions convert to and from JSON text.
///
/// Close it with `sessile_session_close` (optional; later calls then
/// return `SESSILE_RESULT_CLOSED`, a second close included) and free it
/// with `sessile_session_free`.
///
/// Thread safety: a session belongs to one request. It may move between
/// threads, and calls on it from several threads are serialised by a lock
/// inside (so misuse is safe), but two threads changing one session see
/// each other's changes in no useful order. `sessile_session_free` needs
/// every other call on the session to have returned. A session does not
/// depend on its engine handle: it keeps working after
/// `sessile_engine_close` or `sessile_engine_free`.
pub struct sessile_session {
    /// `None` once closed.
    session: Mutex<Option<Session>>,
}

impl sessile_session {
    pub(crate) fn new(session: Session) -> sessile_session {
        sessile_session {
            session: Mutex::new(Some(session)),
        }
    }

    /// Runs `f` on the open session, or fails with
    /// `SESSILE_RESULT_CLOSED`.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R, Fail>,
    ) -> Result<R, Fail> {
        let mut guard = self.session.lock();
        let session = guard.as_mut().ok_or_else(|| Fail::closed("session"))?;
        f(session)
    }
}

/// Creates a new, empty session with no key (one is issued when it is
/// first saved), from `engine`.
///
/// On success `*session_out` receives a new session that the caller frees
/// with `sessile_session_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED` (the engine is closed), `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `session_out` must be
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_new(
    engine: *const sessile_engine,
    session_out: *mut *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(session_out)?;
        out.write(to_c(sessile_session::new(engine.get()?.new_session())));
        Ok(())
    })
}

/// Makes the session for a key taken from a cookie, `(key, key_len)`.
/// Nothing is read until the session is first used. A malformed key
/// (anything but 32 characters of `[a-z0-9]`) is dropped here, before any
/// storage access, and an unknown or expired key loads as an empty session
/// with no key: neither is an error, as for a request with a forged cookie.
///
/// On success `*session_out` receives a new session that the caller frees
/// with `sessile_session_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_TOO_LARGE`, `SESSILE_RESULT_CLOSED`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0); `session_out` must be
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_open(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    session_out: *mut *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let out = arg_out!(session_out)?;
        // Bytes that are not UTF-8 are not a key either: "" is malformed.
        let key = std::str::from_utf8(key).unwrap_or("");
        out.write(to_c(sessile_session::new(engine.get()?.session(key))));
        Ok(())
    })
}

/// Closes a session without freeing it: lets go of its data and of the
/// database. Unsaved changes are dropped. Later calls on it, a second
/// close included, return `SESSILE_RESULT_CLOSED`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_close(session: *mut sessile_session) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let taken = session.session.lock().take();
        taken.map(drop).ok_or_else(|| Fail::closed("session"))
    })
}

/// Frees a session handle (closing it if needed; unsaved changes are
/// dropped). `sessile_session_free(NULL)` does nothing.
///
/// Thread safety: call it once, after every other call on the session, on
/// every thread, has returned.
///
/// # Safety
///
/// `session` must be NULL or a live session handle that no other thread is
/// using, and it must not be used afterwards: freeing it twice is undefined
/// behaviour (`sessile_session_close` is the call that may be repeated).
#[no_mangle]
pub unsafe extern "C" fn sessile_session_free(session: *mut sessile_session) {
    boundary_value(|| {
        // SAFETY: per the contract above NULL or made by `to_c`, not used
        // elsewhere, freed once.
        unsafe { free_c(session) }
    })
}

fn not_found(key: &str) -> Fail {
    Fail::new(
        sessile_result::NotFound,
        format!("the session has no key {key:?}"),
    )
}

/// The session key: the one from the cookie until the session is loaded,
/// then the key of the stored session. Never loads.
///
/// On success `*key_out` receives a new buffer with the key (32
/// characters, NUL-terminated), freed with `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NOT_FOUND` (the session has
/// no key: it was never saved, or its cookie named no live session),
/// `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_CLOSED`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `key_out` must be NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_key(
    session: *const sessile_session,
    key_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(key_out)?;
        session.with(|s| {
            let key = s
                .session_key()
                .ok_or_else(|| Fail::new(sessile_result::NotFound, "the session has no key"))?;
            out.write(to_c(sessile_buf::new(key.as_bytes().to_vec())));
            Ok(())
        })
    })
}

/// The value of data key `(key, key_len)` as MessagePack bytes (Django's
/// `session[key]`). Loads the session on first use.
///
/// On success `*value_out` receives a new buffer, freed with
/// `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_NOT_FOUND` (no such data
/// key); `SESSILE_RESULT_INVALID_UTF8`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`;
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `(key, key_len)` must
/// be readable (NULL is allowed when `key_len` is 0); `value_out` must be
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
    value_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        let out = arg_out!(value_out)?;
        session.with(|s| {
            let v = s.get_value(key)?.ok_or_else(|| not_found(key))?;
            out.write(to_c(sessile_buf::new(encode_value(&v))));
            Ok(())
        })
    })
}

/// As `sessile_session_get`, with the value rendered as JSON text.
///
/// Returns what `sessile_session_get` returns, and
/// `SESSILE_RESULT_WRONG_TYPE` when the value holds something JSON cannot
/// (binary, an extension type, a map with non-string keys, NaN).
///
/// # Safety
///
/// As `sessile_session_get`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_json(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
    json_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        let out = arg_out!(json_out)?;
        session.with(|s| {
            let v = s.get_value(key)?.ok_or_else(|| not_found(key))?;
            out.write(to_c(sessile_buf::from_string(value_to_json(&v)?)));
            Ok(())
        })
    })
}

/// Sets data key `(key, key_len)` to the MessagePack value `(value,
/// value_len)` (Django's `session[key] = value`) and marks the session
/// modified.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_INVALID_DATA` (not exactly
/// one MessagePack value); `SESSILE_RESULT_INVALID_UTF8` (the key);
/// `SESSILE_RESULT_TOO_LARGE` (the key, the value or the number of keys
/// over its limit); `SESSILE_RESULT_NULL_ARGUMENT`; `SESSILE_RESULT_CLOSED`;
/// `SESSILE_RESULT_IO`; `SESSILE_RESULT_PANIC`. The session is unchanged on
/// error.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `(key, key_len)` and
/// `(value, value_len)` must be readable (NULL is allowed with length 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        let value = arg_bytes!(value, value_len)?;
        session.with(|s| {
            s.insert_value(key, decode_value(value)?)?;
            Ok(())
        })
    })
}

/// As `sessile_session_set`, with the value given as JSON text `(json,
/// json_len)`: integers are stored as MessagePack integers, other numbers
/// as 64-bit floats, objects as maps.
///
/// Returns what `sessile_session_set` returns; `SESSILE_RESULT_INVALID_UTF8`
/// also for the JSON text and `SESSILE_RESULT_INVALID_DATA` for text that
/// is not one JSON value.
///
/// # Safety
///
/// As `sessile_session_set`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set_json(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
    json: *const c_char,
    json_len: usize,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        let json = arg_str!(json, json_len)?;
        session.with(|s| {
            s.insert_value(key, json_to_value(json)?)?;
            Ok(())
        })
    })
}

/// Removes data key `(key, key_len)` (Django's `del session[key]`) and
/// marks the session modified.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_NOT_FOUND` (it was not
/// there; nothing changes); `SESSILE_RESULT_INVALID_UTF8`;
/// `SESSILE_RESULT_NULL_ARGUMENT`; `SESSILE_RESULT_TOO_LARGE`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`; `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `(key, key_len)` must
/// be readable (NULL is allowed when `key_len` is 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_session_remove(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        session.with(|s| {
            if s.remove(key)? {
                Ok(())
            } else {
                Err(not_found(key))
            }
        })
    })
}

/// Whether data key `(key, key_len)` is set (Django's `key in session`).
/// On success `*contains_out` receives the answer.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_INVALID_UTF8`,
/// `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `(key, key_len)` must
/// be readable (NULL is allowed when `key_len` is 0); `contains_out` must
/// be NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_contains(
    session: *mut sessile_session,
    key: *const c_char,
    key_len: usize,
    contains_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let key = arg_str!(key, key_len)?;
        let out = arg_out!(contains_out)?;
        session.with(|s| {
            out.write(s.contains_key(key)?);
            Ok(())
        })
    })
}

/// The number of data keys. On success `*len_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `len_out` must be NULL
/// or valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_len(
    session: *mut sessile_session,
    len_out: *mut usize,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(len_out)?;
        session.with(|s| {
            out.write(s.len()?);
            Ok(())
        })
    })
}

/// Django's `is_empty()`: true when the session has no key and no data.
/// Never loads: a session from a cookie that has not been used yet is not
/// empty. On success `*empty_out` receives the answer.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `empty_out` must be
/// NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_is_empty(
    session: *const sessile_session,
    empty_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(empty_out)?;
        session.with(|s| {
            out.write(s.is_empty());
            Ok(())
        })
    })
}

/// The data keys, sorted, as a MessagePack array of strings.
///
/// On success `*keys_out` receives a new buffer, freed with
/// `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `keys_out` must be NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_keys(
    session: *mut sessile_session,
    keys_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(keys_out)?;
        session.with(|s| {
            let keys = Value::Array(s.keys()?.into_iter().map(Value::from).collect());
            out.write(to_c(sessile_buf::new(encode_value(&keys))));
            Ok(())
        })
    })
}

/// The data keys, sorted, as a JSON array of strings.
///
/// Returns what `sessile_session_keys` returns.
///
/// # Safety
///
/// As `sessile_session_keys`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_keys_json(
    session: *mut sessile_session,
    json_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(json_out)?;
        session.with(|s| {
            let json = serde_json::to_string(&s.keys()?)
                .map_err(|e| Fail::new(sessile_result::WrongType, e.to_string()))?;
            out.write(to_c(sessile_buf::from_string(json)));
            Ok(())
        })
    })
}

fn data_of(s: &mut Session) -> Result<Data, Fail> {
    Ok(s.items()?.into_iter().collect())
}

/// All the data as one MessagePack map with string keys (Django's
/// `dict(session.items())`).
///
/// On success `*data_out` receives a new buffer, freed with
/// `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `data_out` must be NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_data(
    session: *mut sessile_session,
    data_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(data_out)?;
        session.with(|s| {
            let data = data_of(s)?;
            out.write(to_c(sessile_buf::new(encode_map(&data))));
            Ok(())
        })
    })
}

/// All the data as one JSON object.
///
/// Returns what `sessile_session_data` returns, and
/// `SESSILE_RESULT_WRONG_TYPE` when a value holds something JSON cannot.
///
/// # Safety
///
/// As `sessile_session_data`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_data_json(
    session: *mut sessile_session,
    json_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(json_out)?;
        session.with(|s| {
            let json = data_to_json(&data_of(s)?)?;
            out.write(to_c(sessile_buf::from_string(json)));
            Ok(())
        })
    })
}

/// Removes every data key and any expiry set with
/// `sessile_session_set_expiry` (Django's `clear()`); the stored session is
/// emptied on the next save.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_clear(session: *mut sessile_session) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| {
            s.clear();
            Ok(())
        })
    })
}

/// Empties the session, deletes it from the database and drops its key
/// (Django's `flush()`: what logout does). `sessile_request_end` then
/// deletes the cookie.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_flush(session: *mut sessile_session) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| Ok(s.flush()?))
    })
}

/// Moves the data to a new key and deletes the old session, saving at once
/// (Django's `cycle_key()`: call it on login, against session fixation).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_TOO_LARGE`, `SESSILE_RESULT_KEY_COLLISION`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_cycle_key(
    session: *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| Ok(s.cycle_key()?))
    })
}

/// Saves the session now (Django's `save()`): a new session gets a key; an
/// existing one gets the changes made since it was loaded, merged with
/// what other requests saved meanwhile, and its deadline is counted again
/// from now. `flags` may hold `SESSILE_SAVE_DURABLE`. Usually
/// `sessile_request_end` saves instead.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_SESSION_DELETED` (deleted
/// or expired meanwhile, e.g. by a logout in another tab: it is not
/// recreated); `SESSILE_RESULT_TOO_LARGE` (the record);
/// `SESSILE_RESULT_INVALID_ARGUMENT` (unknown flag);
/// `SESSILE_RESULT_KEY_COLLISION`; `SESSILE_RESULT_CORRUPT`;
/// `SESSILE_RESULT_NULL_ARGUMENT`; `SESSILE_RESULT_CLOSED`;
/// `SESSILE_RESULT_IO`; `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_save(
    session: *mut sessile_session,
    flags: u32,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| {
            if flags & !SESSILE_SAVE_DURABLE != 0 {
                return Err(Fail::invalid(format!(
                    "unsupported flag bits {:#x}",
                    flags & !SESSILE_SAVE_DURABLE
                )));
            }
            if flags & SESSILE_SAVE_DURABLE != 0 {
                s.save_durable()?;
            } else {
                s.save()?;
            }
            Ok(())
        })
    })
}

/// Deletes the stored session but keeps the data in hand and the key
/// (Django's `delete()`).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_delete(session: *mut sessile_session) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| Ok(s.delete()?))
    })
}

/// Sets the expiry policy (Django's `set_expiry`): `DEFAULT` (None),
/// `BROWSER_CLOSE` (0), `SECONDS` (an int; 0 also means browser close),
/// `AT` (a datetime). For Django's timedelta form use
/// `sessile_session_set_expiry_in`. Marks the session modified.
///
/// `SECONDS` must be 0 or 1 to 34560000 (400 days); `AT` must be later
/// than the engine's now and at most 400 days ahead. Unlike Django, a
/// negative or past expiry is refused rather than sent as `Max-Age=-1`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_INVALID_ARGUMENT` (unknown
/// kind, `KEEP`, or a value out of range; nothing changes),
/// `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set_expiry(
    session: *mut sessile_session,
    expiry: sessile_expiry,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| {
            if let Some(e) = expiry.to_policy(false)? {
                s.set_expiry(e)?;
            }
            Ok(())
        })
    })
}

/// Django's `set_expiry(timedelta)`: the session expires `ms` milliseconds
/// from now (an absolute time from then on, reported as `AT`). `ms` must be
/// 1 to 34560000000 (400 days).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_INVALID_ARGUMENT`
/// (out of range; nothing changes), `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_CLOSED`,
/// `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set_expiry_in(
    session: *mut sessile_session,
    ms: i64,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| {
            let ms =
                u64::try_from(ms).map_err(|_| Error::from(ExpiryError::DurationOutOfRange(ms)))?;
            s.set_expiry_in(Duration::from_millis(ms))?;
            Ok(())
        })
    })
}

/// The current expiry policy. On success `*expiry_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `expiry_out` must be
/// NULL or valid for writing a `sessile_expiry`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_expiry(
    session: *mut sessile_session,
    expiry_out: *mut sessile_expiry,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(expiry_out)?;
        session.with(|s| {
            out.write(sessile_expiry::from_policy(s.expiry()?));
            Ok(())
        })
    })
}

/// Django's `get_expiry_age()`: seconds until the session expires, counted
/// from now (for relative policies, from the next save). On success
/// `*seconds_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `seconds_out` must be
/// NULL or valid for writing an `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_expiry_age(
    session: *mut sessile_session,
    seconds_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(seconds_out)?;
        session.with(|s| {
            out.write(s.get_expiry_age()?);
            Ok(())
        })
    })
}

/// Django's `get_expiry_date()`, in milliseconds since the Unix epoch. On
/// success `*ms_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `ms_out` must be NULL
/// or valid for writing an `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_expiry_date(
    session: *mut sessile_session,
    ms_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(ms_out)?;
        session.with(|s| {
            out.write(to_ms(s.get_expiry_date()?));
            Ok(())
        })
    })
}

/// Django's `get_expire_at_browser_close()`. On success `*yes_out`
/// receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `yes_out` must be NULL
/// or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_expire_at_browser_close(
    session: *mut sessile_session,
    yes_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(yes_out)?;
        session.with(|s| {
            out.write(s.get_expire_at_browser_close()?);
            Ok(())
        })
    })
}

/// Django's `get_session_cookie_age()`: the configured cookie age in
/// seconds. On success `*seconds_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `seconds_out` must be
/// NULL or valid for writing an `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_get_cookie_age(
    session: *const sessile_session,
    seconds_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(seconds_out)?;
        session.with(|s| {
            out.write(s.get_session_cookie_age());
            Ok(())
        })
    })
}

/// Django's `set_test_cookie()`: stores `testcookie = "worked"`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_TOO_LARGE`, `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set_test_cookie(
    session: *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| Ok(s.set_test_cookie()?))
    })
}

/// Django's `test_cookie_worked()`: whether the test cookie set on an
/// earlier request came back. On success `*worked_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `worked_out` must be
/// NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_test_cookie_worked(
    session: *mut sessile_session,
    worked_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(worked_out)?;
        session.with(|s| {
            out.write(s.test_cookie_worked()?);
            Ok(())
        })
    })
}

/// Django's `delete_test_cookie()`. Removing a test cookie that is not
/// there is not an error.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_delete_test_cookie(
    session: *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| Ok(s.delete_test_cookie()?))
    })
}

/// Whether the session data was read or written in this request (Django's
/// `accessed`; `sessile_request_end` then asks for `Vary: Cookie`). On
/// success `*accessed_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `accessed_out` must be
/// NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_accessed(
    session: *const sessile_session,
    accessed_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(accessed_out)?;
        session.with(|s| {
            out.write(s.accessed());
            Ok(())
        })
    })
}

/// Whether the session was changed in this request (Django's `modified`).
/// On success `*modified_out` receives it.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `modified_out` must be
/// NULL or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_modified(
    session: *const sessile_session,
    modified_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let out = arg_out!(modified_out)?;
        session.with(|s| {
            out.write(s.modified());
            Ok(())
        })
    })
}

/// Sets the modified flag (Django's `request.session.modified = True`), so
/// `sessile_request_end` saves the session.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_session_set_modified(
    session: *mut sessile_session,
    modified: bool,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        session.with(|s| {
            s.set_modified(modified);
            Ok(())
        })
    })
}
