//! Pointer checks and handle ownership: the only functions that turn C
//! pointers into Rust references.
//!
//! Each check relies on the `# Safety` contract of the export that calls
//! it: a pointer argument is NULL or valid for what the export documents.
//! NULL is always caught here; validity otherwise cannot be checked.
//!
//! The `arg_*!` macros below wrap these functions so that an export reads
//! `let session = arg_ref!(session)?;` and the argument's name lands in the
//! error message.

use std::ffi::c_char;
use std::ptr::NonNull;

use super::error::{sessile_result, Fail};

/// The largest byte length a C object may have: Rust slices are limited to
/// `isize::MAX` bytes, and a longer length is a caller bug, not data.
const MAX_LEN: usize = isize::MAX as usize;

/// A shared reference to the object behind a handle.
///
/// # Safety
///
/// `p` is NULL or points to a live `T` created by this library that stays
/// live while the returned reference is used.
pub(crate) unsafe fn check_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, Fail> {
    if p.is_null() {
        return Err(Fail::null(name));
    }
    if !p.is_aligned() {
        return Err(Fail::invalid(format!("argument `{name}` is misaligned")));
    }
    // SAFETY: non-NULL and aligned (checked above); live and of type `T`
    // per this function's contract.
    Ok(unsafe { &*p })
}

/// An exclusive reference to a caller-owned object (an options builder).
///
/// # Safety
///
/// `p` is NULL or points to a live `T` created by this library that no one
/// else uses while the returned reference is used.
pub(crate) unsafe fn check_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    if p.is_null() {
        return Err(Fail::null(name));
    }
    if !p.is_aligned() {
        return Err(Fail::invalid(format!("argument `{name}` is misaligned")));
    }
    // SAFETY: non-NULL and aligned (checked above); live, of type `T` and
    // not aliased per this function's contract.
    Ok(unsafe { &mut *p })
}

/// A `(ptr, len)` byte input. `(NULL, 0)` is the empty input.
///
/// # Safety
///
/// When `len > 0`, `p` is NULL or points to `len` readable bytes that
/// are not written while the returned slice is used.
pub(crate) unsafe fn check_bytes<'a>(
    p: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::null(name));
    }
    if len > MAX_LEN {
        return Err(Fail::new(
            sessile_result::TooLarge,
            format!("argument `{name}` has length {len}, over the largest object size"),
        ));
    }
    // SAFETY: non-NULL, `len` bytes readable per this function's contract,
    // and `len <= isize::MAX` as `from_raw_parts` requires. Alignment 1.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A `(ptr, len)` text input, which must be UTF-8. `(NULL, 0)` is "".
///
/// # Safety
///
/// As [`check_bytes`].
pub(crate) unsafe fn check_str<'a>(
    p: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Fail> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { check_bytes(p.cast::<u8>(), len, name) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        Fail::new(
            sessile_result::InvalidUtf8,
            format!("argument `{name}` is not UTF-8: {e}"),
        )
    })
}

/// An output parameter, checked for NULL before the call does any work and
/// written only once the work succeeded.
pub(crate) struct Out<T> {
    ptr: NonNull<T>,
}

impl<T> Out<T> {
    /// Writes the output. Whatever the location held is overwritten, not
    /// dropped: outputs are plain C values or pointers.
    pub(crate) fn write(self, value: T) {
        // SAFETY: `Out` is only made by `check_out`, whose contract is that
        // the pointer is valid for a write of `T`. Unaligned writes are
        // allowed, so a caller's packed struct field works too.
        unsafe { self.ptr.as_ptr().write_unaligned(value) }
    }
}

/// Checks an output parameter.
///
/// # Safety
///
/// `p` is NULL or valid for one write of `T` until the returned `Out` is
/// written or dropped.
pub(crate) unsafe fn check_out<T>(p: *mut T, name: &str) -> Result<Out<T>, Fail> {
    NonNull::new(p)
        .map(|ptr| Out { ptr })
        .ok_or_else(|| Fail::null(name))
}

/// Handle arguments arrive as `const T *` or `T *`; both are read through
/// a shared reference.
pub(crate) trait ToConst {
    type Target;
    fn to_const(self) -> *const Self::Target;
}

impl<T> ToConst for *const T {
    type Target = T;
    fn to_const(self) -> *const T {
        self
    }
}

impl<T> ToConst for *mut T {
    type Target = T;
    fn to_const(self) -> *const T {
        self.cast_const()
    }
}

/// Moves a value to the heap and hands its ownership to C.
pub(crate) fn to_c<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of a handle and drops it. NULL does nothing.
///
/// # Safety
///
/// `p` is NULL or was returned by [`to_c`] for this `T` and has not been
/// freed; nothing uses it afterwards.
pub(crate) unsafe fn free_c<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per this function's contract `p` came from
        // `Box::into_raw` for a `T` and is freed exactly once.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// `arg_ref!(p)`: a shared reference from a handle argument, or a
/// `SESSILE_RESULT_NULL_ARGUMENT` failure naming it.
macro_rules! arg_ref {
    ($p:ident) => {
        // SAFETY: every export's `# Safety` section requires handle
        // arguments to be NULL or live handles of this type; NULL is
        // checked inside.
        unsafe {
            $crate::ffi::ptr::check_ref($crate::ffi::ptr::ToConst::to_const($p), stringify!($p))
        }
    };
}

/// `arg_mut!(p)`: an exclusive reference to a caller-owned object.
macro_rules! arg_mut {
    ($p:ident) => {
        // SAFETY: the export's `# Safety` section requires the object to be
        // NULL or live and not used by another thread during the call.
        unsafe { $crate::ffi::ptr::check_mut($p, stringify!($p)) }
    };
}

/// `arg_bytes!(p, len)`: a `(ptr, len)` byte input.
macro_rules! arg_bytes {
    ($p:ident, $len:ident) => {
        // SAFETY: the export's `# Safety` section requires `(p, len)` to
        // describe readable memory (or have `len` 0).
        unsafe { $crate::ffi::ptr::check_bytes($p, $len, stringify!($p)) }
    };
}

/// `arg_str!(p, len)`: a `(ptr, len)` UTF-8 text input.
macro_rules! arg_str {
    ($p:ident, $len:ident) => {
        // SAFETY: the export's `# Safety` section requires `(p, len)` to
        // describe readable memory (or have `len` 0).
        unsafe { $crate::ffi::ptr::check_str($p, $len, stringify!($p)) }
    };
}

/// `arg_out!(p)`: an output parameter.
macro_rules! arg_out {
    ($p:ident) => {
        // SAFETY: the export's `# Safety` section requires output pointers
        // to be NULL or valid for one write.
        unsafe { $crate::ffi::ptr::check_out($p, stringify!($p)) }
    };
}

pub(crate) use {arg_bytes, arg_mut, arg_out, arg_ref, arg_str};
