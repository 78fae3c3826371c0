//! The request helpers: a session from a `Cookie:` header, and the
//! `Set-Cookie:` header for the response, by Django's `SessionMiddleware`
//! rules (DESIGN.md §5). A C server gets the cookie rules from these two
//! calls instead of re-implementing them.

use std::ffi::c_char;

use super::buf::sessile_buf;
use super::engine::sessile_engine;
use super::error::{sessile_result, Fail};
use super::panic::boundary;
use super::ptr::{arg_bytes, arg_out, arg_ref, to_c};
use super::session::sessile_session;

/// Response flag of `sessile_request_end`: add `Cookie` to the response's
/// `Vary` header (the response depends on the session).
pub const SESSILE_RESPONSE_VARY_COOKIE: u32 = 1;
/// Response flag of `sessile_request_end`: the session was saved.
pub const SESSILE_RESPONSE_SAVED: u32 = 2;

/// Begins a request: finds the session cookie in the value of the request's
/// `Cookie:` header, `(cookie_header, cookie_header_len)`, and makes the
/// session it names. A request without the header passes `(NULL, 0)`.
///
/// The header is parsed as Django does (`;`-separated pairs, the last
/// occurrence wins); bytes that are not UTF-8 elsewhere in the header do
/// not matter. A missing, malformed, unknown or expired session cookie
/// gives an empty session with no key: never an error, and nothing is read
/// from the database until the session is used.
///
/// On success `*session_out` receives a new session that the caller frees
/// with `sessile_session_free` after `sessile_request_end`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_TOO_LARGE`, `SESSILE_RESULT_CLOSED` (the engine is
/// closed), `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe in `engine`; each request gets its own
/// session.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `(cookie_header,
/// cookie_header_len)` must be readable (NULL is allowed when the length is
/// 0); `session_out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_request_begin(
    engine: *const sessile_engine,
    cookie_header: *const c_char,
    cookie_header_len: usize,
    session_out: *mut *mut sessile_session,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let cookie_header = cookie_header.cast::<u8>();
        let header = arg_bytes!(cookie_header, cookie_header_len)?;
        let out = arg_out!(session_out)?;
        let engine = engine.get()?;
        // A stray Latin-1 cookie from another application must not cost the
        // visitor their session: only the session cookie's value matters,
        // and a key is ASCII.
        let header = String::from_utf8_lossy(header);
        let session = engine.begin_request((!header.is_empty()).then_some(&*header));
        out.write(to_c(sessile_session::new(session)));
        Ok(())
    })
}

/// Ends a request whose response has HTTP status `status` (100-999), by
/// Django's `SessionMiddleware` rules:
/// - the request carried the session cookie and the session is now empty
///   (after a logout): the deleting cookie is returned;
/// - otherwise, when the session was modified (or the save-every-request
///   option is on) and is not empty: it is saved and its cookie returned,
///   with `Max-Age` and `expires` or as a browser-session cookie, except
///   that for a status of 500 or more nothing is saved or returned;
/// - otherwise no cookie.
///
/// On success `*set_cookie_out` receives a new buffer with the value of the
/// `Set-Cookie:` header to send (NUL-terminated; free it with
/// `sessile_buf_free`), or NULL when no cookie is to be sent, and
/// `*flags_out` receives `SESSILE_RESPONSE_VARY_COOKIE` (send `Vary:
/// Cookie`) and `SESSILE_RESPONSE_SAVED` bits. The session stays usable
/// and must still be freed.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_SESSION_DELETED` (the
/// session was deleted meanwhile, e.g. by a logout in another tab: it is
/// not recreated; Django answers 400 and sends no cookie);
/// `SESSILE_RESULT_INVALID_ARGUMENT` (a status outside 100-999);
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_KEY_COLLISION`;
/// `SESSILE_RESULT_CORRUPT`; `SESSILE_RESULT_NULL_ARGUMENT`;
/// `SESSILE_RESULT_CLOSED` (the session is closed); `SESSILE_RESULT_IO`;
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `session` must be NULL or a live session handle; `set_cookie_out` must
/// be NULL or valid for writing one pointer; `flags_out` must be NULL or
/// valid for writing a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_request_end(
    session: *mut sessile_session,
    status: u32,
    set_cookie_out: *mut *mut sessile_buf,
    flags_out: *mut u32,
) -> sessile_result {
    boundary(|| {
        let session = arg_ref!(session)?;
        let cookie_out = arg_out!(set_cookie_out)?;
        let flags_out = arg_out!(flags_out)?;
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| Fail::invalid(format!("{status} is not an HTTP status")))?;
        let response = session.with(|s| {
            let engine = s.engine().clone();
            Ok(engine.end_request(s, status)?)
        })?;
        let mut flags = 0;
        if response.vary_cookie {
            flags |= SESSILE_RESPONSE_VARY_COOKIE;
        }
        if response.saved {
            flags |= SESSILE_RESPONSE_SAVED;
        }
        cookie_out.write(
            response
                .set_cookie
                .map_or(std::ptr::null_mut(), |c| to_c(sessile_buf::from_string(c))),
        );
        flags_out.write(flags);
        Ok(())
    })
}
