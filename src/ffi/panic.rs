//! The panic boundary. A panic must never unwind into C (since Rust 1.81
//! that aborts the process), so every export runs its body through
//! [`boundary`] or [`boundary_value`], which catch it and report
//! `SESSILE_RESULT_PANIC` (or a neutral value) instead.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{clear_last, sessile_result, set_last, FfiResult};

/// Runs the body of an export that returns a `sessile_result`, and records
/// the outcome as this thread's last error.
///
/// `AssertUnwindSafe` is sound here: after a panic the call reports
/// failure, and the state a panic can leave behind (a session half-way
/// through a change) is only reachable through a handle whose documented
/// contract after `SESSILE_RESULT_PANIC` is "no effect can be relied on".
pub(crate) fn boundary(body: impl FnOnce() -> FfiResult) -> sessile_result {
    match catch_unwind(AssertUnwindSafe(|| {
        before_body();
        body()
    })) {
        Ok(Ok(())) => {
            clear_last();
            sessile_result::Ok
        }
        Ok(Err(fail)) => {
            set_last(fail.code, fail.message);
            fail.code
        }
        Err(payload) => {
            report_panic(payload);
            sessile_result::Panic
        }
    }
}

/// What an export that returns a plain value gives back after a panic.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for u32 {
    fn on_panic() -> Self {
        0
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl OnPanic for sessile_result {
    fn on_panic() -> Self {
        sessile_result::Panic
    }
}

/// Runs the body of an export that returns a plain value (a length, a
/// pointer, nothing). It does not touch the last error unless the body
/// panics; then the last error becomes `SESSILE_RESULT_PANIC` and the
/// export returns [`OnPanic::on_panic`].
pub(crate) fn boundary_value<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| {
        before_body();
        body()
    })) {
        Ok(v) => v,
        Err(payload) => {
            report_panic(payload);
            T::on_panic()
        }
    }
}

#[inline(always)]
fn before_body() {
    #[cfg(feature = "test-hooks")]
    super::test_hooks::panic_if_armed();
}

fn report_panic(payload: Box<dyn Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    // A payload whose destructor panics must not escape either.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    set_last(
        sessile_result::Panic,
        format!("sessile panicked (this is a bug in sessile): {what}"),
    );
}
