//! `sessile_engine`: one open session database.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use super::error::{sessile_result, Fail};
use super::options::sessile_options;
use super::panic::{boundary, boundary_value};
use super::ptr::{arg_bytes, arg_out, arg_ref, free_c, to_c};
use crate::config::Config;
use crate::engine::Engine;
use crate::expiry::ManualClock;

/// An open session database: the sled directory (or in-memory store) and
/// its settings.
///
/// Open it with `sessile_engine_open`; close it with `sessile_engine_close`
/// (which reports errors) and free it with `sessile_engine_free`.
///
/// Thread safety: an engine is thread-safe. Every function that takes a
/// `const sessile_engine *` may be called from any number of threads at
/// once; `sessile_engine_close` too. Only `sessile_engine_free` needs every
/// other call on the engine to have returned.
///
/// Sessions made from an engine hold the database open by themselves: they
/// keep working after the engine is closed or freed, and the database
/// closes when the engine and the last of its sessions are gone.
pub struct sessile_engine {
    /// `None` once closed.
    engine: RwLock<Option<Engine>>,
    /// The clock the engine reads, when the options asked for a manual one.
    clock: Option<ManualClock>,
}

impl sessile_engine {
    /// The engine, or `SESSILE_RESULT_CLOSED`. A clone (an `Arc`), so no
    /// lock is held while the call works and `close` never waits for it.
    pub(crate) fn get(&self) -> Result<Engine, Fail> {
        self.engine
            .read()
            .clone()
            .ok_or_else(|| Fail::closed("engine"))
    }

    fn clock(&self) -> Result<&ManualClock, Fail> {
        self.get()?;
        self.clock.as_ref().ok_or_else(|| {
            Fail::invalid("the engine was opened without sessile_options_set_manual_clock")
        })
    }
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Result<PathBuf, Fail> {
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Result<PathBuf, Fail> {
    std::str::from_utf8(bytes).map(PathBuf::from).map_err(|e| {
        Fail::new(
            sessile_result::InvalidUtf8,
            format!("path is not UTF-8: {e}"),
        )
    })
}

/// Opens the session database in directory `(path, path_len)`, creating it
/// if missing. The path is bytes, as the operating system takes them (on
/// Unix any bytes but NUL; elsewhere UTF-8). `options` may be NULL for every
/// default; with `sessile_options_set_memory` the path is ignored and may
/// be `(NULL, 0)`.
///
/// `path` may also be a store URL instead (a path that starts with
/// `scheme://` is always taken as one; write `./redis:/x` for a directory
/// of that name):
/// - `redis://[user:password@]host[:port][/db][?prefix=app:&timeout_ms=2000]`
///   opens a Redis server shared by several processes and hosts;
///   `rediss://…` the same over TLS; `redis+unix:///path/to/socket` one on a
///   Unix socket;
/// - `redis+sentinel://host1:26379,host2:26379/mymaster[/db]`: the master
///   that these sentinels know as `mymaster`, followed after a failover;
/// - `redis+cluster://host1:7000,host2:7001/`: a Redis Cluster, learnt from
///   any of its nodes (`rediss+sentinel://`, `rediss+cluster://` with TLS).
///
///   Query parameters for every Redis form: `prefix` (default `sessile:`),
///   `connect_timeout_ms` (1000), `timeout_ms` (2000), `pool_size` (16),
///   `tls_ca`, `tls_cert`, `tls_key` (PEM files), `wait` (replicas each
///   write waits for, 0). Redis expires sessions by itself: no sweeper
///   runs. A server that cannot be reached gives
///   `SESSILE_RESULT_UNAVAILABLE` within the timeouts; a TLS certificate
///   that is not trusted, `SESSILE_RESULT_INVALID_ARGUMENT`. The URL is
///   opened as `Engine::open_url` opens it, as in every binding;
/// - `sled:///absolute/dir` or `sled://relative/dir`: the same as the path;
/// - `memory:`: the same as `sessile_options_set_memory`.
///
/// Opening a directory this process already has open shares one database.
/// Another process holding it gives `SESSILE_RESULT_LOCKED`: a sled
/// directory belongs to one process (use Redis for several).
///
/// On success `*engine_out` receives a new engine that the caller owns:
/// close it with `sessile_engine_close`, free it with `sessile_engine_free`.
///
/// Returns `SESSILE_RESULT_OK`; `SESSILE_RESULT_NULL_ARGUMENT` (`path` NULL
/// with a non-zero length, or `engine_out` NULL);
/// `SESSILE_RESULT_INVALID_ARGUMENT` (an empty path for an on-disk
/// database, cookie settings the engine refuses, or a URL with an unknown
/// scheme or bad parameters);
/// `SESSILE_RESULT_INVALID_UTF8` (non-Unix only);
/// `SESSILE_RESULT_TOO_LARGE`; `SESSILE_RESULT_LOCKED`; `SESSILE_RESULT_IO`
/// (the directory cannot be created or opened, or Redis refused);
/// `SESSILE_RESULT_UNAVAILABLE` (Redis unreachable); `SESSILE_RESULT_CORRUPT`;
/// `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; engines opened on one path from several
/// threads share one database.
///
/// # Safety
///
/// `(path, path_len)` must be readable (NULL is allowed when `path_len` is
/// 0); `options` must be NULL or live options that no thread changes during
/// the call; `engine_out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_open(
    path: *const c_char,
    path_len: usize,
    options: *const sessile_options,
    engine_out: *mut *mut sessile_engine,
) -> sessile_result {
    boundary(|| {
        let path = path.cast::<u8>();
        let path = arg_bytes!(path, path_len)?;
        let out = arg_out!(engine_out)?;
        let (mut config, memory, start) = if options.is_null() {
            (Config::new(""), false, None)
        } else {
            let o = arg_ref!(options)?;
            (o.config.clone(), o.memory, o.manual_clock)
        };
        let url = std::str::from_utf8(path)
            .ok()
            .filter(|p| crate::engine::url_scheme(p).is_some());
        if url.is_none() {
            config.path = path_from_bytes(path)?;
        }
        let clock = start.map(ManualClock::new);
        if let Some(c) = &clock {
            config = config.clock(Arc::new(c.clone()));
        }
        let engine = if memory {
            Engine::memory(config)?
        } else if let Some(url) = url {
            Engine::open_url(url, config)?
        } else {
            if path.is_empty() {
                return Err(Fail::invalid("the database path is empty"));
            }
            Engine::open(config)?
        };
        out.write(to_c(sessile_engine {
            engine: RwLock::new(Some(engine)),
            clock,
        }));
        Ok(())
    })
}

/// Closes the engine: stops its background sweeper, writes everything to
/// disk, and lets go of the database (which closes once no session made
/// from this engine is left). Calls that use the engine afterwards return
/// `SESSILE_RESULT_CLOSED`, and so does a second close. The handle itself
/// stays valid until `sessile_engine_free`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED` (already closed), `SESSILE_RESULT_IO` (the final
/// flush failed; the engine is closed all the same), `SESSILE_RESULT_PANIC`.
///
/// Thread safety: may race with other calls on the engine; those that
/// already started finish normally.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_close(engine: *mut sessile_engine) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let taken = engine.engine.write().take();
        taken.ok_or_else(|| Fail::closed("engine"))?.close()?;
        Ok(())
    })
}

/// Frees an engine handle, closing it first if needed (errors of that
/// close are lost: call `sessile_engine_close` to see them).
/// `sessile_engine_free(NULL)` does nothing.
///
/// Sessions made from the engine stay valid and must still be freed.
///
/// Thread safety: call it once, after every other call on the engine, on
/// every thread, has returned.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle that no other thread is
/// using, and it must not be used afterwards: freeing it twice is undefined
/// behaviour.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_free(engine: *mut sessile_engine) {
    boundary_value(|| {
        if engine.is_null() {
            return;
        }
        // SAFETY: non-NULL, so per the contract above a live handle made by
        // `to_c`; no other thread uses it.
        let taken = unsafe { &*engine }.engine.write().take();
        if let Some(e) = taken {
            let _ = e.close();
        }
        // SAFETY: as above; freed exactly once.
        unsafe { free_c(engine) }
    })
}

/// Writes every acknowledged save to disk now.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
/// `SESSILE_RESULT_IO` also when the disk filled up since a flush last
/// returned: the engine reopens its database by itself once there is room,
/// but saves acknowledged (without `SESSILE_SAVE_DURABLE`) before the
/// failure that had not reached the disk are lost, and the first flush
/// after it says so (the flushes after it succeed). And when the database
/// directory was deleted while open.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_flush(engine: *const sessile_engine) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        engine.get()?.flush()?;
        Ok(())
    })
}

/// Deletes every session expired by now (Django's `clear_expired`,
/// `manage.py clearsessions`). On success `*removed_out` receives how many
/// were deleted.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; it may run alongside the background sweeper
/// and other calls (each expired session is counted once).
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `removed_out` must be
/// NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_clear_expired(
    engine: *const sessile_engine,
    removed_out: *mut u64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(removed_out)?;
        let n = engine.get()?.clear_expired()?;
        out.write(n as u64);
        Ok(())
    })
}

/// The time by the engine's clock, in milliseconds since the Unix epoch:
/// the system clock, or the manual clock of
/// `sessile_options_set_manual_clock`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `now_ms_out` must be NULL
/// or valid for writing an `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_now(
    engine: *const sessile_engine,
    now_ms_out: *mut i64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(now_ms_out)?;
        out.write(engine.get()?.now_ms());
        Ok(())
    })
}

/// Moves the engine's manual clock by `ms` milliseconds (negative moves it
/// back). Sessions then expire exactly as if that time had passed. The
/// clock stops at the ends of its range, 0 (the Unix epoch) to
/// 253402300799999 (the end of the year 9999): a move past either end
/// leaves it there (saturates) instead of wrapping. Moves from several
/// threads add up.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (the engine has no manual clock),
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// Thread safety: thread-safe; every thread sees the new time at once.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_advance_clock(
    engine: *const sessile_engine,
    ms: i64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        engine.clock()?.advance_ms(ms);
        Ok(())
    })
}

/// Sets the engine's manual clock to `now_ms` milliseconds since the Unix
/// epoch: 0 to 253402300799999 (the end of the year 9999).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_INVALID_ARGUMENT` (the engine has no manual clock, or
/// `now_ms` is out of range; the clock does not change),
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn sessile_engine_set_clock(
    engine: *const sessile_engine,
    now_ms: i64,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let clock = engine.clock()?;
        clock.set_ms(check_clock_ms("now_ms", now_ms)?);
        Ok(())
    })
}

/// A manual clock's time from C: in `ManualClock::RANGE_MS`, else
/// `SESSILE_RESULT_INVALID_ARGUMENT` naming the argument (Rust callers get
/// the value clamped instead).
pub(crate) fn check_clock_ms(name: &str, ms: i64) -> Result<i64, Fail> {
    if ManualClock::RANGE_MS.contains(&ms) {
        Ok(ms)
    } else {
        Err(Fail::invalid(format!(
            "argument `{name}` must be {} to {} (ms since the Unix epoch, up to the end of \
             the year 9999), not {ms}",
            ManualClock::RANGE_MS.start(),
            ManualClock::RANGE_MS.end()
        )))
    }
}
