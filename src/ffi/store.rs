//! The store level: what a framework adapter (a Django `SessionBase`
//! subclass, an express-session `Store`) needs, keyed by session key.
//! Session data crosses as one MessagePack map with string keys, the same
//! bytes the database keeps.

use std::ffi::c_char;

use super::buf::sessile_buf;
use super::engine::sessile_engine;
use super::error::{sessile_result, Fail, FfiResult};
use super::expiry::sessile_expiry;
use super::key::{new_key, parse_key};
use super::panic::boundary;
use super::ptr::{arg_bytes, arg_out, arg_ref, to_c};
use super::value::{decode_key_list, decode_map};
use crate::engine::{Delta, Engine, SaveOptions};
use crate::error::Error;
use crate::expiry::Expiry;
use crate::record::Record;

/// Save flag: when no live session has the key, create it under that key
/// (express-session's `set`). Without it a save of a missing or expired
/// session fails with `SESSILE_RESULT_SESSION_DELETED` and writes nothing:
/// the default never brings back a session that a logout deleted.
pub const SESSILE_SAVE_UPSERT: u32 = 1;
/// Save flag: write the database to disk before returning, so the save
/// survives a crash of the process or the machine.
pub const SESSILE_SAVE_DURABLE: u32 = 2;
/// Save flag, `sessile_store_save_delta` only: drop every stored key before
/// applying the removals and the new values.
pub const SESSILE_SAVE_CLEAR: u32 = 4;
/// Save flag, `sessile_store_save` and `sessile_store_save_diff`: create
/// the session under the key given, atomically, only if no live session
/// has it; otherwise `SESSILE_RESULT_KEY_COLLISION` and nothing is written
/// (Django's `save(must_create=True)`, whose `CreateError` this is). Not
/// with `SESSILE_SAVE_UPSERT`.
pub const SESSILE_SAVE_CREATE_ONLY: u32 = 8;

fn check_flags(flags: u32, allowed: u32) -> FfiResult {
    if flags & !allowed != 0 {
        return Err(Fail::invalid(format!(
            "unknown or unsupported flag bits {:#x}",
            flags & !allowed
        )));
    }
    let both = SESSILE_SAVE_UPSERT | SESSILE_SAVE_CREATE_ONLY;
    if flags & both == both {
        return Err(Fail::invalid(
            "SESSILE_SAVE_CREATE_ONLY and SESSILE_SAVE_UPSERT exclude each other",
        ));
    }
    Ok(())
}

/// The save flags as the engine's options.
fn options(flags: u32) -> SaveOptions {
    SaveOptions {
        upsert: flags & SESSILE_SAVE_UPSERT != 0,
        durable: flags & SESSILE_SAVE_DURABLE != 0,
        create_only: flags & SESSILE_SAVE_CREATE_ONLY != 0,
    }
}

/// `change` under the policy `expiry` (`None`: keep the stored one).
fn with_expiry(mut change: Delta, expiry: Option<Expiry>) -> Delta {
    change.expiry = expiry;
    change
}

/// Loads the live session `key`; `SESSILE_RESULT_NOT_FOUND` when there is
/// none.
fn load_live(engine: &Engine, key: &[u8]) -> Result<Record, Fail> {
    engine
        .load(&parse_key(key)?)?
        .ok_or_else(|| Fail::new(sessile_result::NotFound, "no live session has this key"))
}

/// Loads the live session `(key, key_len)`.
///
/// On success `*data_out` receives a new buffer with the session data (a
/// MessagePack map with string keys; free it with `sessile_buf_free`),
/// `*expiry_out` its expiry policy, and `*expires_at_ms_out` the moment it
/// expires (milliseconds since the Unix epoch). Loading never writes and
/// never creates a session.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_NOT_FOUND` (no session, or
/// it has expired); `SESSILE_RESULT_INVALID_KEY` (not 32 characters of
/// `[a-z0-9]`: an adapter that took the key from a cookie treats this like
/// NOT_FOUND); `SESSILE_RESULT_CORRUPT` (the stored record is damaged;
/// also treat like NOT_FOUND); `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`;
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0); each output must be NULL
/// or valid for one write of its type.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_load(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    data_out: *mut *mut sessile_buf,
    expiry_out: *mut sessile_expiry,
    expires_at_ms_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let data_out = arg_out!(data_out)?;
        let expiry_out = arg_out!(expiry_out)?;
        let at_out = arg_out!(expires_at_ms_out)?;
        let rec = load_live(&engine.get()?, key)?;
        let header = *rec.header();
        data_out.write(to_c(sessile_buf::new(rec.data().to_vec())));
        expiry_out.write(sessile_expiry::from_policy(header.expiry));
        at_out.write(header.expires_at_ms);
        Ok(())
    })
}

/// Loads the data of the live session `(key, key_len)` into the caller's
/// buffer `(buf, buf_len)`, snprintf-style, so that a binding's hot path
/// makes one call and no allocation: `*data_len_out` receives the length of
/// the data (a MessagePack map with string keys). When it is at most
/// `buf_len`, the data was copied into `buf`; otherwise nothing was
/// written and the caller calls again with a buffer of at least
/// `*data_len_out` bytes (the session may have changed meanwhile, so it
/// checks again). `*expires_at_ms_out` receives the moment the session
/// expires (milliseconds since the Unix epoch). Loading never writes and
/// never creates a session.
///
/// Returns what `sessile_store_load` returns.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0); `buf` must be NULL or
/// point to `buf_len` writable bytes (with `buf` NULL or `buf_len` 0
/// nothing is copied); each output must be NULL or valid for one write of
/// its type.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_load_copy(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    data_len_out: *mut usize,
    expires_at_ms_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let len_out = arg_out!(data_len_out)?;
        let at_out = arg_out!(expires_at_ms_out)?;
        let rec = load_live(&engine.get()?, key)?;
        let data = rec.data();
        if !buf.is_null() && data.len() <= buf_len {
            // SAFETY: the caller promised `buf` points to `buf_len` writable
            // bytes and `data.len() <= buf_len`; the source is the store's
            // own copy, which cannot overlap caller memory.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
        }
        len_out.write(data.len());
        at_out.write(rec.header().expires_at_ms);
        Ok(())
    })
}

/// Whether a live (stored, unexpired) session has the key `(key, key_len)`.
/// On success `*exists_out` receives the answer.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_INVALID_KEY`,
/// `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_CORRUPT`, `SESSILE_RESULT_IO`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0); `exists_out` must be NULL
/// or valid for writing a `bool`.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_exists(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    exists_out: *mut bool,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let out = arg_out!(exists_out)?;
        let engine = engine.get()?;
        let key = parse_key(key)?;
        out.write(engine.is_live(&key)?);
        Ok(())
    })
}

/// Creates a session holding `(data, data_len)` (a MessagePack map with
/// string keys; `(NULL, 0)` is the empty map) under a fresh random key,
/// with the expiry policy `expiry` (`SESSILE_EXPIRY_KIND_KEEP` means
/// `DEFAULT`). Django's `create()`. `flags` may hold
/// `SESSILE_SAVE_DURABLE`.
///
/// On success `*key_out` receives a new buffer with the key (32 characters,
/// NUL-terminated), freed with `sessile_buf_free`.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_INVALID_DATA` (not a
/// MessagePack map with UTF-8 string keys, a key twice, or trailing bytes);
/// `SESSILE_RESULT_TOO_LARGE` (a data key, a value, the number of keys or
/// the whole record over its configured limit);
/// `SESSILE_RESULT_INVALID_ARGUMENT` (unknown expiry kind or flag);
/// `SESSILE_RESULT_KEY_COLLISION`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO` (with
/// `SESSILE_SAVE_DURABLE`, the session may exist even though the flush
/// failed); `SESSILE_RESULT_PANIC`. Nothing is written on error, except as
/// just said.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(data, data_len)` must be
/// readable (NULL is allowed when `data_len` is 0); `key_out` must be NULL
/// or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_create(
    engine: *const sessile_engine,
    data: *const u8,
    data_len: usize,
    expiry: sessile_expiry,
    flags: u32,
    key_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let data = arg_bytes!(data, data_len)?;
        let out = arg_out!(key_out)?;
        check_flags(flags, SESSILE_SAVE_DURABLE)?;
        let expiry = expiry.to_policy(true)?.unwrap_or(Expiry::Default);
        let change = Delta::replace(decode_map(data)?).with_expiry(expiry);
        let engine = engine.get()?;
        let (key, _) = engine.create_with_keys(&change, options(flags), |_| new_key())?;
        out.write(to_c(sessile_buf::new(key.as_bytes().to_vec())));
        Ok(())
    })
}

/// Replaces the whole data of session `(key, key_len)` with `(data,
/// data_len)` (a MessagePack map with string keys; `(NULL, 0)` is the empty
/// map) and sets its expiry policy to `expiry` (`SESSILE_EXPIRY_KIND_KEEP`
/// keeps the stored one). The deadline is counted again from now.
///
/// `flags`: `SESSILE_SAVE_UPSERT` creates the session under this key when
/// it does not exist (express-session's `set`); without it (Django's
/// `save(must_create=False)` on an existing key) a missing or expired
/// session is `SESSILE_RESULT_SESSION_DELETED` and nothing is written, so a
/// session deleted by a logout elsewhere is never brought back.
/// `SESSILE_SAVE_CREATE_ONLY` writes only a session that is not there
/// (Django's `save(must_create=True)`). `SESSILE_SAVE_DURABLE` flushes to
/// disk before returning.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_SESSION_DELETED`;
/// `SESSILE_RESULT_KEY_COLLISION` (with `SESSILE_SAVE_CREATE_ONLY`: a live
/// session has the key);
/// `SESSILE_RESULT_INVALID_KEY`; `SESSILE_RESULT_INVALID_DATA`;
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_INVALID_ARGUMENT` (unknown
/// expiry kind or flag); `SESSILE_RESULT_CORRUPT` (the stored record is
/// damaged: delete it first); `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`; `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; concurrent saves of one session are applied
/// one after the other, never interleaved.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` and
/// `(data, data_len)` must be readable (NULL is allowed with length 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_store_save(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    expiry: sessile_expiry,
    flags: u32,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let data = arg_bytes!(data, data_len)?;
        check_flags(
            flags,
            SESSILE_SAVE_UPSERT | SESSILE_SAVE_DURABLE | SESSILE_SAVE_CREATE_ONLY,
        )?;
        let expiry = expiry.to_policy(true)?;
        let key = parse_key(key)?;
        let change = with_expiry(Delta::replace(decode_map(data)?), expiry);
        engine.get()?.save(&key, &change, options(flags))?;
        Ok(())
    })
}

/// Applies a change to session `(key, key_len)` without replacing what
/// other requests stored meanwhile: first, with `SESSILE_SAVE_CLEAR`, drop
/// every stored key; then remove the keys listed in `(remove, remove_len)`
/// (a MessagePack array of strings; `(NULL, 0)` is none); then set the
/// entries of `(set, set_len)` (a MessagePack map with string keys;
/// `(NULL, 0)` is none); and set the expiry policy to `expiry`
/// (`SESSILE_EXPIRY_KIND_KEEP` keeps it). The deadline is counted again from
/// now. Two requests that change different keys both keep their changes.
///
/// `flags` as `sessile_store_save`, plus `SESSILE_SAVE_CLEAR`.
///
/// Returns what `sessile_store_save` returns. The key-count limit is
/// checked against the entries set, not against the merged session.
///
/// Thread safety: thread-safe; concurrent saves of one session are applied
/// one after the other, never interleaved.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)`, `(set,
/// set_len)` and `(remove, remove_len)` must be readable (NULL is allowed
/// with length 0).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sessile_store_save_delta(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    set: *const u8,
    set_len: usize,
    remove: *const u8,
    remove_len: usize,
    expiry: sessile_expiry,
    flags: u32,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let set = arg_bytes!(set, set_len)?;
        let remove = arg_bytes!(remove, remove_len)?;
        check_flags(
            flags,
            SESSILE_SAVE_UPSERT | SESSILE_SAVE_DURABLE | SESSILE_SAVE_CLEAR,
        )?;
        let expiry = expiry.to_policy(true)?;
        let key = parse_key(key)?;
        let change = Delta {
            clear: flags & SESSILE_SAVE_CLEAR != 0,
            remove: decode_key_list(remove)?.into_iter().collect(),
            set: decode_map(set)?,
            expiry,
            ..Delta::new()
        };
        engine.get()?.save(&key, &change, options(flags))?;
        Ok(())
    })
}

/// Saves session `(key, key_len)` as a change from what the caller loaded:
/// `(seen, seen_len)` is the data map exactly as `sessile_store_load`
/// returned it (or as this caller last saved it; `(NULL, 0)` is the empty
/// map), `(data, data_len)` the whole data the caller holds now (a
/// MessagePack map with string keys). Only the keys whose value differs are
/// written and only the keys that disappeared are removed, so two requests
/// that change different keys both keep their changes, as with
/// `sessile_store_save_delta`, without the caller tracking each change. The
/// expiry policy becomes `expiry` (`SESSILE_EXPIRY_KIND_KEEP` keeps it) and
/// the deadline is counted again from now.
///
/// `flags` as `sessile_store_save`; with `SESSILE_SAVE_UPSERT`, a session
/// that is gone is created with the whole of `(data, data_len)`. The
/// limits (key count, key length, value size) apply to the whole of `(data,
/// data_len)`.
///
/// Returns what `sessile_store_save` returns; `SESSILE_RESULT_INVALID_DATA`
/// also when `(seen, seen_len)` is not a map.
///
/// Thread safety: thread-safe; concurrent saves of one session are applied
/// one after the other, never interleaved.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)`,
/// `(seen, seen_len)` and `(data, data_len)` must be readable (NULL is
/// allowed with length 0).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sessile_store_save_diff(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    seen: *const u8,
    seen_len: usize,
    data: *const u8,
    data_len: usize,
    expiry: sessile_expiry,
    flags: u32,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let seen = arg_bytes!(seen, seen_len)?;
        let data = arg_bytes!(data, data_len)?;
        check_flags(
            flags,
            SESSILE_SAVE_UPSERT | SESSILE_SAVE_DURABLE | SESSILE_SAVE_CREATE_ONLY,
        )?;
        let expiry = expiry.to_policy(true)?;
        let key = parse_key(key)?;
        let change = with_expiry(Delta::between(seen, data), expiry);
        engine.get()?.save(&key, &change, options(flags))?;
        Ok(())
    })
}

/// Moves the live session `(key, key_len)` to a fresh key and deletes the
/// old one (Django's `cycle_key()`: call it on login, against session
/// fixation). The new session holds the stored data with the changes from
/// `(seen, seen_len)` to `(data, data_len)` applied, as
/// `sessile_store_save_diff` applies them (`(NULL, 0)` for both: no
/// change), under the policy `expiry` (`SESSILE_EXPIRY_KIND_KEEP` keeps
/// the stored one), its deadline counted from now.
///
/// On success `*new_key_out` receives a new buffer with the new key (32
/// characters, NUL-terminated), freed with `sessile_buf_free`.
///
/// A session that is gone (deleted by a logout in another tab, or expired)
/// is never carried to a new key: `SESSILE_RESULT_SESSION_DELETED`, and
/// nothing is written; the same when it is deleted while being copied (the
/// copy is removed again).
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_SESSION_DELETED`;
/// `SESSILE_RESULT_INVALID_KEY`; `SESSILE_RESULT_INVALID_DATA`;
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_INVALID_ARGUMENT` (unknown
/// expiry kind); `SESSILE_RESULT_CORRUPT`; `SESSILE_RESULT_KEY_COLLISION`;
/// `SESSILE_RESULT_NULL_ARGUMENT`; `SESSILE_RESULT_CLOSED`;
/// `SESSILE_RESULT_IO` (the old session is then left as it was, or already
/// moved); `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)`,
/// `(seen, seen_len)` and `(data, data_len)` must be readable (NULL is
/// allowed with length 0); `new_key_out` must be NULL or valid for writing
/// one pointer.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sessile_store_cycle_key(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    seen: *const u8,
    seen_len: usize,
    data: *const u8,
    data_len: usize,
    expiry: sessile_expiry,
    new_key_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let seen = arg_bytes!(seen, seen_len)?;
        let data = arg_bytes!(data, data_len)?;
        let out = arg_out!(new_key_out)?;
        let expiry = expiry.to_policy(true)?;
        let key = parse_key(key)?;
        let change = with_expiry(Delta::between(seen, data), expiry);
        let (new, _) = engine.get()?.cycle_key(&key, &change)?;
        out.write(to_c(sessile_buf::new(new.as_bytes().to_vec())));
        Ok(())
    })
}

/// Keeps session `(key, key_len)` alive: counts its deadline again from
/// now, under the policy `expiry` (`SESSILE_EXPIRY_KIND_KEEP` keeps the
/// stored one). The data is untouched. express-session's `touch`.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_NOT_FOUND` (no live
/// session: nothing is created); `SESSILE_RESULT_INVALID_KEY`;
/// `SESSILE_RESULT_INVALID_ARGUMENT` (unknown expiry kind);
/// `SESSILE_RESULT_CORRUPT`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`;
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_store_touch(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
    expiry: sessile_expiry,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let expiry = expiry.to_policy(true)?;
        let key = parse_key(key)?;
        match engine.get()?.touch(&key, expiry) {
            Err(Error::SessionDeleted) => Err(Fail::new(
                sessile_result::NotFound,
                "no live session has this key",
            )),
            done => done.map(|_| ()).map_err(Fail::from),
        }
    })
}

/// Deletes session `(key, key_len)` (logout; Django's `delete(key)`,
/// express-session's `destroy`). Deleting a session that does not exist is
/// not an error. A request still holding the session afterwards cannot
/// save it back (`SESSILE_RESULT_SESSION_DELETED`).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_INVALID_KEY`,
/// `SESSILE_RESULT_NULL_ARGUMENT`, `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(key, key_len)` must be
/// readable (NULL is allowed when `key_len` is 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_store_delete(
    engine: *const sessile_engine,
    key: *const c_char,
    key_len: usize,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let key = key.cast::<u8>();
        let key = arg_bytes!(key, key_len)?;
        let key = parse_key(key)?;
        engine.get()?.delete(&key)?;
        Ok(())
    })
}
