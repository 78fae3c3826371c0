//! Enumerating the store: paging through the live sessions, counting them,
//! and deleting them all (express-session's `all`, `ids`, `length` and
//! `clear`; an admin page's session list), which walk the whole `sessions`
//! tree in key order, so they cost time in proportion to the number of
//! stored records: they are for listings and maintenance, not for the
//! request path. And one owner's sessions, listed or ended through the
//! owner index ("log out everywhere"), which cost a lookup per session of
//! that owner.

use std::ffi::c_char;

use super::buf::sessile_buf;
use super::engine::sessile_engine;
use super::error::{sessile_result, Fail};
use super::expiry::sessile_expiry;
use super::key::parse_key;
use super::panic::boundary;
use super::ptr::{arg_bytes, arg_out, arg_ref, arg_str, to_c};
use crate::key::SessionKey;
use crate::record::Record;

/// Appends one page entry: `[key, data, expiry_kind, expiry_value,
/// expires_at_ms]`.
fn encode_entry(out: &mut Vec<u8>, key: &SessionKey, record: &Record) {
    let header = record.header();
    let expiry = sessile_expiry::from_policy(header.expiry);
    // Writing into a Vec cannot fail.
    let _ = rmp::encode::write_array_len(out, 5);
    let _ = rmp::encode::write_str(out, key.as_str());
    // The data part is already one MessagePack map (checked by the walk).
    out.extend_from_slice(record.data());
    let _ = rmp::encode::write_uint(out, u64::from(expiry.kind));
    let _ = rmp::encode::write_sint(out, expiry.value);
    let _ = rmp::encode::write_sint(out, header.expires_at_ms);
}

/// Reads one page of live sessions, in key order: up to `limit` sessions
/// whose keys come after the cursor `(after, after_len)`. Pass `(NULL, 0)`
/// for the first page, then the cursor the previous page returned.
///
/// On success `*page_out` receives a new buffer holding a MessagePack array
/// with one entry per session, each itself an array of five items:
/// `[key, data, expiry_kind, expiry_value, expires_at_ms]` — the key (a
/// string), the session data (a map with string keys, as
/// `sessile_store_load` gives it), the expiry policy (the two fields of
/// `sessile_expiry`) and the moment the session expires (milliseconds since
/// the Unix epoch). `*next_out` receives a new buffer with the cursor for
/// the next page, or NULL when the walk reached the end of the store. Free
/// both with `sessile_buf_free` (NULL is fine). A page may hold fewer than
/// `limit` sessions only when it is the last.
///
/// Expired and damaged sessions are never listed, whether or not the
/// sweeper has removed them yet. Sessions saved or deleted while a caller
/// pages through the store may or may not appear; each key is listed at
/// most once in a walk.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_INVALID_ARGUMENT` (`limit`
/// is 0); `SESSILE_RESULT_INVALID_KEY` (the cursor is not a session key);
/// `SESSILE_RESULT_NULL_ARGUMENT`; `SESSILE_RESULT_TOO_LARGE`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`; `SESSILE_RESULT_CORRUPT`
/// (the storage layer itself is damaged); `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; it runs alongside saves, deletes and the
/// sweeper without blocking them.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(after, after_len)` must
/// be readable (NULL is allowed when `after_len` is 0); `page_out` and
/// `next_out` must be NULL or valid for writing one pointer each.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_scan(
    engine: *const sessile_engine,
    after: *const c_char,
    after_len: usize,
    limit: usize,
    page_out: *mut *mut sessile_buf,
    next_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let after = after.cast::<u8>();
        let after = arg_bytes!(after, after_len)?;
        let page_out = arg_out!(page_out)?;
        let next_out = arg_out!(next_out)?;
        if limit == 0 {
            return Err(Fail::invalid("`limit` must be at least 1"));
        }
        let engine = engine.get()?;
        let after = if after.is_empty() {
            None
        } else {
            Some(parse_key(after)?)
        };
        let mut entries = Vec::new();
        let mut count: usize = 0;
        let mut last_key = None;
        let at_end = engine.for_each_session(after.as_ref(), |key, record| {
            encode_entry(&mut entries, key, record);
            count += 1;
            last_key = Some(key.clone());
            Ok::<_, Fail>(count < limit)
        })?;
        let len = u32::try_from(count)
            .map_err(|_| Fail::invalid("`limit` is over 4294967295 sessions"))?;
        let mut page = Vec::with_capacity(entries.len() + 5);
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_array_len(&mut page, len);
        page.extend_from_slice(&entries);
        let next = match (at_end, last_key) {
            (false, Some(k)) => to_c(sessile_buf::new(k.as_bytes().to_vec())),
            _ => std::ptr::null_mut(),
        };
        page_out.write(to_c(sessile_buf::new(page)));
        next_out.write(next);
        Ok(())
    })
}

/// Counts the live sessions (stored and unexpired by the engine's clock;
/// damaged records are not counted). express-session's `length`. On
/// success `*count_out` receives the number.
///
/// It reads every stored record: its cost grows with the size of the store.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_CORRUPT`,
/// `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; sessions saved or deleted meanwhile may or
/// may not be counted.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `count_out` must be NULL
/// or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_count(
    engine: *const sessile_engine,
    count_out: *mut u64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(count_out)?;
        let engine = engine.get()?;
        let mut n: u64 = 0;
        engine.for_each_session(None, |_, _| {
            n += 1;
            Ok::<_, Fail>(true)
        })?;
        out.write(n);
        Ok(())
    })
}

/// Deletes every stored session, live, expired or damaged (express-session's
/// `clear`; a "log everyone out"). On success `*removed_out` receives how
/// many records were deleted, expired ones that the sweeper had not reached
/// yet included.
///
/// Each session is deleted as by `sessile_store_delete`, so a request still
/// holding one cannot save it back (`SESSILE_RESULT_SESSION_DELETED`).
/// Sessions created while the call runs may survive it. On an error some
/// sessions may already be gone.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `removed_out` must be NULL
/// or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_delete_all(
    engine: *const sessile_engine,
    removed_out: *mut u64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(removed_out)?;
        let engine = engine.get()?;
        out.write(engine.delete_all()?);
        Ok(())
    })
}

/// Lists the live sessions of one owner: those whose data names `(owner,
/// owner_len)` (UTF-8) under the owner key (`sessile_options_set_owner_key`;
/// a user id, where an integer 42 and the string "42" are one owner). On
/// success `*page_out` receives a new buffer, to free with
/// `sessile_buf_free`, holding a MessagePack array in the format of
/// `sessile_store_scan`'s pages, the session that expires last first.
///
/// Read through the store's owner index: it costs a lookup per session of
/// that owner, whatever the size of the store. An owner longer than 1024
/// bytes, or empty, owns no session.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_INVALID_ARGUMENT` (no owner
/// key is set, and the database keeps no owner index);
/// `SESSILE_RESULT_INVALID_UTF8`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`; `SESSILE_RESULT_UNAVAILABLE`;
/// `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(owner, owner_len)` must
/// be readable (NULL is allowed when `owner_len` is 0); `page_out` must be
/// NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_sessions_of(
    engine: *const sessile_engine,
    owner: *const c_char,
    owner_len: usize,
    page_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let owner = arg_str!(owner, owner_len)?;
        let page_out = arg_out!(page_out)?;
        let found = engine.get()?.sessions_of(owner)?;
        let len = u32::try_from(found.len())
            .map_err(|_| Fail::invalid("the owner has over 4294967295 sessions"))?;
        let mut page = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = rmp::encode::write_array_len(&mut page, len);
        for (key, record) in &found {
            encode_entry(&mut page, key, record);
        }
        page_out.write(to_c(sessile_buf::new(page)));
        Ok(())
    })
}

/// Ends every live session of one owner (as `sessile_store_sessions_of`
/// finds them) except the session `(except, except_len)`: pass the key of
/// the request's own session for "sign out my other devices", or `(NULL,
/// 0)` to end them all (a password reset, a locked account). On success
/// `*ended_out` receives how many sessions were deleted.
///
/// Each is deleted as by `sessile_store_delete`, so a request still
/// holding one cannot save it back (`SESSILE_RESULT_SESSION_DELETED`). On
/// an error some may already be gone; calling again finishes the job.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_INVALID_KEY` (`except` is
/// not a session key); `SESSILE_RESULT_INVALID_ARGUMENT` (no owner key);
/// `SESSILE_RESULT_INVALID_UTF8`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_CLOSED`; `SESSILE_RESULT_IO`; `SESSILE_RESULT_UNAVAILABLE`;
/// `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(owner, owner_len)` and
/// `(except, except_len)` must be readable (NULL is allowed with length
/// 0); `ended_out` must be NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_store_end_sessions_of(
    engine: *const sessile_engine,
    owner: *const c_char,
    owner_len: usize,
    except: *const c_char,
    except_len: usize,
    ended_out: *mut u64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let owner = arg_str!(owner, owner_len)?;
        let except = except.cast::<u8>();
        let except = arg_bytes!(except, except_len)?;
        let out = arg_out!(ended_out)?;
        let except = if except.is_empty() {
            None
        } else {
            Some(parse_key(except)?)
        };
        let ended = engine.get()?.end_sessions_of(owner, except.as_ref())?;
        out.write(ended as u64);
        Ok(())
    })
}
