//! Test-only exports, compiled only with the `test-hooks` Cargo feature
//! (the C test suite builds the library with it). They let the C tests
//! reach paths that correct use never reaches: a panic inside an export,
//! a key collision, a damaged record. The header declares them inside
//! `#if defined(SESSILE_TEST_HOOKS)`.

use std::cell::Cell;
use std::sync::Once;

use super::buf::sessile_buf;
use super::engine::sessile_engine;
use super::error::{sessile_result, Fail};
use super::panic::boundary;
use super::ptr::{arg_out, arg_ref, to_c};
use crate::expiry::Expiry;
use crate::key::SessionKey;

thread_local! {
    static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
    static FIXED_KEYS: Cell<bool> = const { Cell::new(false) };
}

const DELIBERATE: &str = "deliberate panic from sessile_test_panic_next_call";
static QUIET_HOOK: Once = Once::new();

/// Called first inside every panic boundary: panics once when armed.
pub(crate) fn panic_if_armed() {
    if PANIC_NEXT.with(|p| p.replace(false)) {
        std::panic::panic_any(DELIBERATE);
    }
}

/// The key store-level creates use: a fixed one while armed.
pub(crate) fn fixed_key() -> Option<SessionKey> {
    FIXED_KEYS
        .with(Cell::get)
        .then(|| SessionKey::parse("testhookfixedkey0000000000000000").ok())
        .flatten()
}

/// TEST ONLY (built with the `test-hooks` feature). Makes the next sessile
/// call on this thread panic inside its panic boundary, before it does
/// anything; that call then returns `SESSILE_RESULT_PANIC` (or its neutral
/// value: 0, NULL, nothing) instead of aborting the process.
///
/// Thread safety: affects only the calling thread.
///
/// # Safety
///
/// None.
#[no_mangle]
pub extern "C" fn sessile_test_panic_next_call() {
    // Not through `boundary_value`: that would fire an already armed hook
    // here instead of in the call under test.
    let _ = std::panic::catch_unwind(|| {
        QUIET_HOOK.call_once(|| {
            // Keep test output readable: the deliberate panic prints
            // nothing; any other panic reaches the previous hook.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if info.payload().downcast_ref::<&str>() != Some(&DELIBERATE) {
                    previous(info);
                }
            }));
        });
        PANIC_NEXT.try_with(|p| p.set(true))
    });
}

/// TEST ONLY (built with the `test-hooks` feature). While `on` is true,
/// `sessile_store_create` on this thread draws every key from a fixed
/// value, so a second create collides and reports
/// `SESSILE_RESULT_KEY_COLLISION`.
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_PANIC`.
///
/// Thread safety: affects only the calling thread.
///
/// # Safety
///
/// None.
#[no_mangle]
pub extern "C" fn sessile_test_fixed_keys(on: bool) -> sessile_result {
    boundary(|| {
        FIXED_KEYS.with(|f| f.set(on));
        Ok(())
    })
}

/// TEST ONLY (built with the `test-hooks` feature). Stores, under a fresh
/// key, a record whose header is sound but whose data part is not a
/// MessagePack map: what a damaged database holds. Loading it reports
/// `SESSILE_RESULT_CORRUPT` at the store level and an empty session at the
/// session level. On success `*key_out` receives the key (free it with
/// `sessile_buf_free`).
///
/// Returns `SESSILE_RESULT_OK`, `SESSILE_RESULT_NULL_ARGUMENT`,
/// `SESSILE_RESULT_CLOSED`, `SESSILE_RESULT_IO`, `SESSILE_RESULT_PANIC`.
///
/// # Safety
///
/// `engine` must be NULL or a live engine handle; `key_out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn sessile_test_store_corrupt(
    engine: *const sessile_engine,
    key_out: *mut *mut sessile_buf,
) -> sessile_result {
    boundary(|| {
        let engine = arg_ref!(engine)?;
        let out = arg_out!(key_out)?;
        let engine = engine.get()?;
        let key = SessionKey::generate();
        let ctx = engine.write_ctx();
        // 0xc1 is the one byte MessagePack never uses.
        let damaged = ctx.record(ctx.new_header(Expiry::Default), b"\xc1damaged")?;
        engine
            .store()
            .create(&key, damaged, ctx.now_ms)?
            .ok_or_else(|| Fail::from(crate::error::Error::KeyCollision(1)))?;
        out.write(to_c(sessile_buf::new(key.as_bytes().to_vec())));
        Ok(())
    })
}
