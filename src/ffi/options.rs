//! `sessile_options`: how an engine is opened.

use std::ffi::c_char;
use std::time::Duration;

use super::error::{sessile_result, Fail, FfiResult};
use super::panic::{boundary, boundary_value};
use super::ptr::{arg_mut, arg_out, arg_str, free_c, to_c};
use crate::config::Config;
use crate::cookie::SameSite;

/// The values of `sessile_options_set_cookie_samesite`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sessile_samesite {
    /// No `SameSite` attribute (Django's `SESSION_COOKIE_SAMESITE = False`).
    Omit = 0,
    /// `SameSite=Lax` (the default).
    Lax = 1,
    /// `SameSite=Strict`.
    Strict = 2,
    /// `SameSite=None` (browsers then require `Secure`).
    None = 3,
}

/// Settings for `sessile_engine_open`: a builder whose every setter states
/// its default, which is Django's where Django has the setting.
///
/// Create it with `sessile_options_new`, change it with the
/// `sessile_options_set_*` functions, pass it to `sessile_engine_open`
/// (which copies what it needs: the options may be freed or reused right
/// after), free it with `sessile_options_free`.
///
/// Thread safety: not synchronised. A setter needs exclusive use of the
/// options; `sessile_engine_open` only reads them, so several threads may
/// open engines from one options object that nobody is changing.
pub struct sessile_options {
    pub(crate) config: Config,
    pub(crate) memory: bool,
    pub(crate) manual_clock: Option<i64>,
}

/// Creates options with every setting at its default.
///
/// On success `*options_out` receives a new object that the caller owns
/// and frees with `sessile_options_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`
/// (`options_out` is NULL), `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options_out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_new(
    options_out: *mut *mut sessile_options,
) -> sessile_result {
    boundary(|| {
        let out = arg_out!(options_out)?;
        out.write(to_c(sessile_options {
            config: Config::new(""),
            memory: false,
            manual_clock: None,
        }));
        Ok(())
    })
}

/// Frees options. `sessile_options_free(NULL)` does nothing. Engines opened
/// with them are not affected.
///
/// Thread safety: call it once, when no other thread uses the options.
///
/// # Safety
///
/// `options` must be NULL or live options from `sessile_options_new`, not
/// used afterwards and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_free(options: *mut sessile_options) {
    boundary_value(|| {
        // SAFETY: per the contract above, NULL or made by `to_c` and freed
        // once.
        unsafe { free_c(options) }
    })
}

/// A cookie name must be an RFC 6265 token: printable ASCII without
/// separators, so it cannot break the `Set-Cookie` header.
fn check_token(name: &str) -> FfiResult {
    let bad = |c: u8| !(0x21..0x7f).contains(&c) || b"()<>@,;:\\\"/[]?={}".contains(&c);
    if name.is_empty() || name.bytes().any(bad) {
        return Err(Fail::invalid(format!(
            "{name:?} is not a valid cookie name (RFC 6265 token)"
        )));
    }
    Ok(())
}

/// A cookie attribute value: printable ASCII without `;` (which would end
/// the attribute and let the value inject others).
fn check_attr(what: &str, value: &str) -> FfiResult {
    if value
        .bytes()
        .any(|c| !(0x20..0x7f).contains(&c) || c == b';')
    {
        return Err(Fail::invalid(format!(
            "{value:?} is not a valid cookie {what}: printable ASCII without ';'"
        )));
    }
    Ok(())
}

/// `SESSION_COOKIE_NAME`: the session cookie's name. Default `sessionid`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_UTF8`, `SESSILE_RESULT_INVALID_ARGUMENT` (empty,
/// or not an RFC 6265 token), `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_PANIC`. The options are unchanged on error.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread;
/// `(name, name_len)` must be readable (NULL is allowed when `name_len`
/// is 0).
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_name(
    options: *mut sessile_options,
    name: *const c_char,
    name_len: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        let name = arg_str!(name, name_len)?;
        check_token(name)?;
        o.config.cookie.name = name.to_owned();
        Ok(())
    })
}

/// The data key that names a session's owner, such as `_auth_user_id`
/// (Django) or `user_id`; a dotted path such as `passport.user` reaches
/// into nested maps. The store then keeps an index of sessions by owner,
/// for `sessile_store_sessions_of` and `sessile_store_end_sessions_of`
/// ("log out everywhere"). A non-empty string value names its owner, and
/// so does an integer (by its decimal digits). Default none; a database
/// that keeps an owner index goes on keeping it by the key it remembers,
/// and one opened with another key rebuilds its index at open (reading
/// every session).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_UTF8`, `SESSILE_RESULT_INVALID_ARGUMENT` (empty,
/// or an empty segment such as `a..b`), `SESSILE_RESULT_PANIC`. The options
/// are unchanged on error.
///
/// # Safety
///
/// As `sessile_options_set_cookie_name`.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_owner_key(
    options: *mut sessile_options,
    key: *const c_char,
    key_len: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        let key = arg_str!(key, key_len)?;
        crate::owner::OwnerKey::parse(key).map_err(crate::Error::from)?;
        o.config.owner_key = Some(key.to_owned());
        Ok(())
    })
}

/// `SESSION_COOKIE_AGE`, in seconds: how long a session lives under the
/// default expiry policy. Default 1209600 (two weeks).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (negative), `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_age(
    options: *mut sessile_options,
    seconds: i64,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        if seconds < 0 {
            return Err(Fail::invalid("the cookie age cannot be negative"));
        }
        o.config.cookie.age_s = seconds;
        Ok(())
    })
}

/// `SESSION_COOKIE_DOMAIN`. Default none (a host-only cookie); an empty
/// domain (`domain_len` 0) restores that.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_UTF8`, `SESSILE_RESULT_INVALID_ARGUMENT`
/// (control characters or `;`), `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// As `sessile_options_set_cookie_name`.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_domain(
    options: *mut sessile_options,
    domain: *const c_char,
    domain_len: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        let domain = arg_str!(domain, domain_len)?;
        check_attr("domain", domain)?;
        o.config.cookie.domain = (!domain.is_empty()).then(|| domain.to_owned());
        Ok(())
    })
}

/// `SESSION_COOKIE_PATH`. Default `/`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_UTF8`, `SESSILE_RESULT_INVALID_ARGUMENT` (empty,
/// control characters or `;`), `SESSILE_RESULT_TOO_LARGE`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// As `sessile_options_set_cookie_name`.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_path(
    options: *mut sessile_options,
    path: *const c_char,
    path_len: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        let path = arg_str!(path, path_len)?;
        if path.is_empty() {
            return Err(Fail::invalid("the cookie path cannot be empty"));
        }
        check_attr("path", path)?;
        o.config.cookie.path = path.to_owned();
        Ok(())
    })
}

/// `SESSION_COOKIE_SECURE`. Default false.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_secure(
    options: *mut sessile_options,
    secure: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.cookie.secure = secure;
        Ok(())
    })
}

/// `SESSION_COOKIE_HTTPONLY`. Default true.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_httponly(
    options: *mut sessile_options,
    httponly: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.cookie.httponly = httponly;
        Ok(())
    })
}

/// `SESSION_COOKIE_SAMESITE`: one of `sessile_samesite`. Default
/// `SESSILE_SAMESITE_LAX`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (not a `sessile_samesite`),
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cookie_samesite(
    options: *mut sessile_options,
    samesite: u32,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.cookie.samesite = match samesite {
            x if x == sessile_samesite::Omit as u32 => None,
            x if x == sessile_samesite::Lax as u32 => Some(SameSite::Lax),
            x if x == sessile_samesite::Strict as u32 => Some(SameSite::Strict),
            x if x == sessile_samesite::None as u32 => Some(SameSite::None),
            x => return Err(Fail::invalid(format!("unknown sessile_samesite {x}"))),
        };
        Ok(())
    })
}

/// `SESSION_SAVE_EVERY_REQUEST`: `sessile_request_end` saves (and so
/// extends) every non-empty session, not only changed ones. Default false.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_save_every_request(
    options: *mut sessile_options,
    yes: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.save_every_request = yes;
        Ok(())
    })
}

/// `SESSION_EXPIRE_AT_BROWSER_CLOSE`: under the default expiry policy the
/// cookie is a browser-session cookie (no `Max-Age`). Default false.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_expire_at_browser_close(
    options: *mut sessile_options,
    yes: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.expire_at_browser_close = yes;
        Ok(())
    })
}

/// sled's page cache, in bytes: an upper bound, filled only as sessions
/// are used. Default 256 MiB (sled needs several times the live session
/// bytes; see the README's configuration section).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_cache_capacity(
    options: *mut sessile_options,
    bytes: u64,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.sled.cache_capacity = bytes;
        Ok(())
    })
}

/// Whether the database is compressed (zstd), decided when it is created.
/// Not calling this (the default): a new database is not compressed and an
/// existing one keeps what it was created with. Calling it: opening an
/// existing database created otherwise fails with
/// `SESSILE_RESULT_INVALID_ARGUMENT` from `sessile_engine_open`, with the
/// reason in `sessile_last_error_message`. Compression takes disk from about 3.6×
/// to 2.3× the session bytes; saves get slower (up to 4×), gets do not.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_compression(
    options: *mut sessile_options,
    yes: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.sled.compression = Some(yes);
        Ok(())
    })
}

/// How often the database is written to disk in the background, in
/// milliseconds; 0 means only on `sessile_engine_flush` and durable saves.
/// Default 500: a crash loses at most the last ~500 ms of non-durable saves.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_flush_every_ms(
    options: *mut sessile_options,
    ms: u64,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.sled.flush_every_ms = (ms > 0).then_some(ms);
        Ok(())
    })
}

/// The longest session data key, in bytes. Default 256.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_max_data_key_len(
    options: *mut sessile_options,
    bytes: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.max_data_key_len = bytes;
        Ok(())
    })
}

/// The largest single value, MessagePack-encoded, in bytes. Default 64 KiB.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_max_value_size(
    options: *mut sessile_options,
    bytes: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.max_value_size = bytes;
        Ok(())
    })
}

/// The largest whole stored session (header and data), in bytes. Default
/// 1 MiB.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_max_record_size(
    options: *mut sessile_options,
    bytes: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.max_record_size = bytes;
        Ok(())
    })
}

/// The most data keys one session may hold. Default 10000.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_max_keys(
    options: *mut sessile_options,
    keys: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.max_keys = keys;
        Ok(())
    })
}

/// How often a background thread sweeps expired sessions, in
/// milliseconds; 0 runs no such thread (call `sessile_engine_clear_expired`
/// yourself, as Django's `clearsessions` does). Default 60000.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_reaper_interval_ms(
    options: *mut sessile_options,
    ms: u64,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.config.reaper_interval = (ms > 0).then(|| Duration::from_millis(ms));
        Ok(())
    })
}

/// The most expiry-index entries one sweep step examines. Default 1000.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (0), `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_reaper_budget(
    options: *mut sessile_options,
    entries: usize,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        if entries == 0 {
            return Err(Fail::invalid("the reaper budget must be at least 1"));
        }
        o.config.reaper_budget = entries;
        Ok(())
    })
}

/// Keeps sessions in memory instead of on disk: nothing survives the
/// engine, and `sessile_engine_open` ignores its path. Default false.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_memory(
    options: *mut sessile_options,
    memory: bool,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.memory = memory;
        Ok(())
    })
}

/// Gives the engine a manual clock that starts at `start_ms` milliseconds
/// since the Unix epoch and moves only through
/// `sessile_engine_advance_clock` and `sessile_engine_set_clock`. For
/// tests: expiry can then be tested without sleeping. Default: the system
/// clock. `start_ms` must be 0 to 253402300799999 (the end of the year
/// 9999).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (`start_ms` out of range),
/// `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `options` must be NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn sessile_options_set_manual_clock(
    options: *mut sessile_options,
    start_ms: i64,
) -> sessile_result {
    boundary(|| {
        let o = arg_mut!(options)?;
        o.manual_clock = Some(super::engine::check_clock_ms("start_ms", start_ms)?);
        Ok(())
    })
}
