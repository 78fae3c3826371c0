//! Result codes, the per-thread last error, and the mapping from
//! [`crate::Error`] to codes.

use std::cell::RefCell;
use std::ffi::c_char;

use super::panic::boundary_value;
use crate::error::{ConfigError, DataError, Error};

/// The outcome of a sessile call. `SESSILE_RESULT_OK` is 0; every other
/// value is an error.
///
/// The numbers are part of the ABI: a code keeps its number forever and a
/// retired number is never given to another meaning. New codes may be
/// added, so treat an unknown non-zero code as a generic failure.
///
/// After a call returns an error, `sessile_last_error_message()` on the same
/// thread describes it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sessile_result {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 1,
    /// An argument is outside its domain: an unknown enum value or flag
    /// bit, a negative size, an unusable cookie attribute, a misaligned
    /// pointer, or an operation the handle was not set up for.
    InvalidArgument = 2,
    /// A text argument is not valid UTF-8.
    InvalidUtf8 = 3,
    /// A session key is not 32 characters of `[a-z0-9]` where a valid key
    /// is required.
    InvalidKey = 4,
    /// MessagePack or JSON input does not decode, has trailing bytes, or is
    /// not the shape asked for (for example session data that is not a map
    /// with string keys).
    InvalidData = 5,
    /// An input is over a configured limit (data key length, value size,
    /// record size, number of keys) or over the largest size a C object can
    /// have.
    TooLarge = 6,
    /// Nothing is there: no live session under the key, or no such data key
    /// in the session, or a session that has no key yet.
    NotFound = 7,
    /// The session was deleted or expired after this caller loaded it (a
    /// logout in another tab); the save was refused and nothing was written.
    /// Django's `SessionInterrupted`.
    SessionDeleted = 8,
    /// A stored value cannot be given in the requested form (for example a
    /// MessagePack binary asked for as JSON).
    WrongType = 9,
    /// The handle was closed (`sessile_engine_close`, `sessile_session_close`).
    Closed = 10,
    /// The database directory is held by another process.
    Locked = 11,
    /// Reading or writing the database failed, or the shared store (Redis)
    /// refused a command (wrong password, read-only replica, out of
    /// memory).
    Io = 12,
    /// A record in the database is damaged.
    Corrupt = 13,
    /// No free session key was found after several attempts (a broken
    /// random generator).
    KeyCollision = 14,
    /// sessile panicked inside the call (a bug in sessile). The call had no
    /// effect that can be relied on; the process is still sound, and the
    /// message says what happened.
    Panic = 15,
    /// The engine was opened by the parent of this process, which then
    /// forked: a child must open its own engine (on another database, or
    /// after the parent has closed this one). Open engines after forking
    /// workers, not before.
    Forked = 16,
    /// The shared store (Redis) could not be reached or did not answer
    /// within its timeout. Usually transient: the engine reconnects by
    /// itself, so the same call may succeed later. A write that timed out
    /// may or may not have been applied.
    Unavailable = 17,
    /// The path given to `sessile_engine_open` is not a sessile database and
    /// none is created there: a regular file, or a directory that holds
    /// other files and no database (a project folder given by mistake). A
    /// missing or empty directory becomes a new database.
    NotADatabase = 18,
}

impl sessile_result {
    /// Every code, in number order (for `sessile_result_name`).
    const ALL: [sessile_result; 19] = [
        sessile_result::Ok,
        sessile_result::NullArgument,
        sessile_result::InvalidArgument,
        sessile_result::InvalidUtf8,
        sessile_result::InvalidKey,
        sessile_result::InvalidData,
        sessile_result::TooLarge,
        sessile_result::NotFound,
        sessile_result::SessionDeleted,
        sessile_result::WrongType,
        sessile_result::Closed,
        sessile_result::Locked,
        sessile_result::Io,
        sessile_result::Corrupt,
        sessile_result::KeyCollision,
        sessile_result::Panic,
        sessile_result::Forked,
        sessile_result::Unavailable,
        sessile_result::NotADatabase,
    ];

    /// The C name, NUL-terminated.
    fn c_name(self) -> &'static [u8] {
        match self {
            sessile_result::Ok => b"SESSILE_RESULT_OK\0",
            sessile_result::NullArgument => b"SESSILE_RESULT_NULL_ARGUMENT\0",
            sessile_result::InvalidArgument => b"SESSILE_RESULT_INVALID_ARGUMENT\0",
            sessile_result::InvalidUtf8 => b"SESSILE_RESULT_INVALID_UTF8\0",
            sessile_result::InvalidKey => b"SESSILE_RESULT_INVALID_KEY\0",
            sessile_result::InvalidData => b"SESSILE_RESULT_INVALID_DATA\0",
            sessile_result::TooLarge => b"SESSILE_RESULT_TOO_LARGE\0",
            sessile_result::NotFound => b"SESSILE_RESULT_NOT_FOUND\0",
            sessile_result::SessionDeleted => b"SESSILE_RESULT_SESSION_DELETED\0",
            sessile_result::WrongType => b"SESSILE_RESULT_WRONG_TYPE\0",
            sessile_result::Closed => b"SESSILE_RESULT_CLOSED\0",
            sessile_result::Locked => b"SESSILE_RESULT_LOCKED\0",
            sessile_result::Io => b"SESSILE_RESULT_IO\0",
            sessile_result::Corrupt => b"SESSILE_RESULT_CORRUPT\0",
            sessile_result::KeyCollision => b"SESSILE_RESULT_KEY_COLLISION\0",
            sessile_result::Panic => b"SESSILE_RESULT_PANIC\0",
            sessile_result::Forked => b"SESSILE_RESULT_FORKED\0",
            sessile_result::Unavailable => b"SESSILE_RESULT_UNAVAILABLE\0",
            sessile_result::NotADatabase => b"SESSILE_RESULT_NOT_A_DATABASE\0",
        }
    }
}

/// A failed call: its code and a message for `sessile_last_error_message`.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: sessile_result,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(code: sessile_result, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn null(name: &str) -> Fail {
        Fail::new(
            sessile_result::NullArgument,
            format!("argument `{name}` is NULL"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(sessile_result::InvalidArgument, message)
    }

    pub(crate) fn data(message: impl Into<String>) -> Fail {
        Fail::new(sessile_result::InvalidData, message)
    }

    pub(crate) fn closed(what: &str) -> Fail {
        Fail::new(sessile_result::Closed, format!("the {what} is closed"))
    }
}

/// What an export body returns: `Ok(())` or the failure to report.
pub(crate) type FfiResult = Result<(), Fail>;

impl From<crate::error::OpenError> for Fail {
    fn from(e: crate::error::OpenError) -> Fail {
        Fail::from(Error::from(e))
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match &e {
            Error::InvalidKey(_) => sessile_result::InvalidKey,
            Error::Locked { .. } => sessile_result::Locked,
            Error::SessionDeleted => sessile_result::SessionDeleted,
            Error::TooLarge { .. } => sessile_result::TooLarge,
            Error::Corrupt(_) => sessile_result::Corrupt,
            Error::Encode(_) => sessile_result::InvalidData,
            Error::WrongType { .. } => sessile_result::WrongType,
            Error::InvalidData(e) => data_code(e),
            Error::InvalidConfig(e) => config_code(e),
            Error::KeyCollision(_) | Error::SessionExists => sessile_result::KeyCollision,
            Error::Closed => sessile_result::Closed,
            Error::Forked { .. } => sessile_result::Forked,
            Error::Storage(e) if e.is_corruption() => sessile_result::Corrupt,
            Error::Storage(_) | Error::Io { .. } | Error::Backend { .. } => sessile_result::Io,
            Error::Unavailable { .. } => sessile_result::Unavailable,
            Error::NotADatabase { .. } => sessile_result::NotADatabase,
            Error::InvalidExpiry(_) => sessile_result::InvalidArgument,
        };
        Fail::new(code, e.to_string())
    }
}

/// The code of refused session data. Every case is listed, as in
/// `From<Error>`, so that a new one cannot compile without a decision.
fn data_code(e: &DataError) -> sessile_result {
    match e {
        DataError::TooDeep { .. } | DataError::Map(_) => sessile_result::InvalidData,
    }
}

/// The code of a configuration that cannot work: an argument of the call
/// that opened the engine (listed for the same reason as [`data_code`]).
fn config_code(e: &ConfigError) -> sessile_result {
    match e {
        ConfigError::CookieName(_)
        | ConfigError::CookieDomain(_)
        | ConfigError::CookiePath(_)
        | ConfigError::EmptyUrl
        | ConfigError::NoDirectory(_)
        | ConfigError::UnknownScheme(_)
        | ConfigError::NoRedisSupport(_)
        | ConfigError::UrlOption { .. }
        | ConfigError::PercentEscape(_)
        | ConfigError::QueryNotUtf8(_)
        | ConfigError::RedisUrl { .. }
        | ConfigError::RedisClient { .. }
        | ConfigError::Compression { .. }
        | ConfigError::OwnerKey(_)
        | ConfigError::NoOwnerKey => sessile_result::InvalidArgument,
    }
}

thread_local! {
    /// The outcome of the last `sessile_result`-returning call on this thread.
    static LAST_ERROR: RefCell<(sessile_result, String)> =
        const { RefCell::new((sessile_result::Ok, String::new())) };
}

/// Records a call's outcome for this thread. Silently does nothing while
/// the thread is being torn down (its thread-locals are gone).
pub(crate) fn set_last(code: sessile_result, message: String) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = (code, message);
        }
    });
}

/// Records a successful call. Keeps the message buffer's allocation.
pub(crate) fn clear_last() {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            slot.0 = sessile_result::Ok;
            slot.1.clear();
        }
    });
}

/// The name of a result code, such as `"SESSILE_RESULT_NOT_FOUND"`, as a
/// static NUL-terminated string; `"SESSILE_RESULT_UNKNOWN"` for a number
/// that is not a code.
///
/// The string is owned by the library and lives as long as the process:
/// never free it.
///
/// # Safety
///
/// None: any value may be passed.
#[no_mangle]
pub extern "C" fn sessile_result_name(code: u32) -> *const c_char {
    boundary_value(|| {
        let name = sessile_result::ALL
            .iter()
            .find(|r| **r as u32 == code)
            .map_or(&b"SESSILE_RESULT_UNKNOWN\0"[..], |r| r.c_name());
        name.as_ptr().cast::<c_char>()
    })
}

/// The code returned by the last call on this thread that returns a
/// `sessile_result` (`SESSILE_RESULT_OK` when it succeeded or when there
/// was none).
///
/// Thread safety: reads this thread's own record; any thread may call it.
///
/// # Safety
///
/// None.
#[no_mangle]
pub extern "C" fn sessile_last_error_code() -> sessile_result {
    boundary_value(|| {
        LAST_ERROR
            .try_with(|cell| cell.try_borrow().map_or(sessile_result::Ok, |s| s.0))
            .unwrap_or(sessile_result::Ok)
    })
}

/// Copies the message describing the last failed call on this thread into
/// `buf`, snprintf-style: at most `buf_len - 1` bytes of UTF-8 text (cut at
/// a character boundary) followed by a NUL. Returns the full length of the
/// message in bytes, not counting the NUL, so a caller can size a buffer
/// with `sessile_last_error_message(NULL, 0) + 1`.
///
/// The message is empty when the last `sessile_result`-returning call on
/// this thread succeeded. Messages are for people; match on the code.
///
/// Thread safety: each thread has its own last error; errors on one thread
/// never show on another.
///
/// # Safety
///
/// `buf` must be NULL or point to `buf_len` writable bytes. With `buf` NULL
/// or `buf_len` 0 nothing is written.
#[no_mangle]
pub unsafe extern "C" fn sessile_last_error_message(buf: *mut c_char, buf_len: usize) -> usize {
    boundary_value(|| {
        let copy = |msg: &str| -> usize {
            if !buf.is_null() && buf_len > 0 {
                let mut n = msg.len().min(buf_len - 1);
                while !msg.is_char_boundary(n) {
                    n -= 1;
                }
                // SAFETY: the caller promised `buf` points to `buf_len`
                // writable bytes, and `n + 1 <= buf_len`. The source is a
                // Rust string that cannot overlap caller memory.
                unsafe {
                    std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            msg.len()
        };
        LAST_ERROR
            .try_with(|cell| cell.try_borrow().map_or(0, |s| copy(&s.1)))
            .unwrap_or_else(|_| copy(""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_under_its_own_number() {
        for (i, code) in sessile_result::ALL.iter().enumerate() {
            assert_eq!(*code as u32, i as u32);
            let name = code.c_name();
            assert!(name.starts_with(b"SESSILE_RESULT_") && name.ends_with(b"\0"));
        }
    }

    #[test]
    fn refused_data_and_configuration_keep_their_codes() {
        let data = Fail::from(Error::InvalidData(DataError::TooDeep { key: "k".into() }));
        assert_eq!(data.code, sessile_result::InvalidData);
        let config = Fail::from(Error::InvalidConfig(ConfigError::EmptyUrl));
        assert_eq!(config.code, sessile_result::InvalidArgument);
        assert_eq!(
            config.message,
            "invalid configuration: the store URL is empty"
        );
    }
}
