//! The library version and the ABI version.

use std::ffi::c_char;

use super::panic::boundary_value;

/// The version of the C ABI described by this header. It changes only when
/// a change breaks existing callers (a function removed or its signature or
/// meaning changed); additions keep it. A binding checks at load time that
/// `sessile_abi_version()` equals the value it was written for.
pub const SESSILE_ABI_VERSION: u32 = 1;

/// The library's version as a static NUL-terminated string, such as
/// `"0.1.0"`; equal to `SESSILE_VERSION_STRING` when the header and the
/// library come from the same build.
///
/// The string is owned by the library: never free it.
///
/// # Safety
///
/// None.
#[no_mangle]
pub extern "C" fn sessile_version() -> *const c_char {
    boundary_value(|| {
        concat!(env!("CARGO_PKG_VERSION"), "\0")
            .as_ptr()
            .cast::<c_char>()
    })
}

/// The ABI version of the loaded library; compare it with
/// `SESSILE_ABI_VERSION` from the header the caller was compiled against.
///
/// # Safety
///
/// None.
#[no_mangle]
pub extern "C" fn sessile_abi_version() -> u32 {
    boundary_value(|| SESSILE_ABI_VERSION)
}
