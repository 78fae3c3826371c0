//! `sessile_buf`: bytes the library hands to C.

use super::panic::boundary_value;
use super::ptr::free_c;

/// Bytes owned by the library: a MessagePack value, JSON text, a session
/// key, a `Set-Cookie` header value.
///
/// Read it with `sessile_buf_data()` and `sessile_buf_len()`; free it with
/// `sessile_buf_free()` and nothing else. The bytes are always followed by
/// one NUL byte that `sessile_buf_len()` does not count, so a buffer that
/// holds text (a key, a header, JSON) can be used directly as a C string.
///
/// Thread safety: a buffer is immutable; it may be read from several
/// threads at once and freed from any thread, once, after the last read.
pub struct sessile_buf {
    /// The bytes and the trailing NUL.
    bytes: Box<[u8]>,
}

impl sessile_buf {
    pub(crate) fn new(mut bytes: Vec<u8>) -> sessile_buf {
        bytes.push(0);
        sessile_buf {
            bytes: bytes.into_boxed_slice(),
        }
    }

    pub(crate) fn from_string(s: String) -> sessile_buf {
        sessile_buf::new(s.into_bytes())
    }
}

/// A pointer to the buffer's bytes, valid until `sessile_buf_free(buf)`.
/// `data[sessile_buf_len(buf)]` is a NUL byte. Returns NULL when `buf` is
/// NULL.
///
/// Thread safety: may be called concurrently with other reads of `buf`.
///
/// # Safety
///
/// `buf` must be NULL or a live buffer from this library.
#[no_mangle]
pub unsafe extern "C" fn sessile_buf_data(buf: *const sessile_buf) -> *const u8 {
    boundary_value(|| {
        if buf.is_null() {
            return std::ptr::null();
        }
        // SAFETY: non-NULL, and a live buffer per the contract above.
        unsafe { &*buf }.bytes.as_ptr()
    })
}

/// The number of bytes in the buffer, not counting the trailing NUL.
/// Returns 0 when `buf` is NULL.
///
/// Thread safety: may be called concurrently with other reads of `buf`.
///
/// # Safety
///
/// `buf` must be NULL or a live buffer from this library.
#[no_mangle]
pub unsafe extern "C" fn sessile_buf_len(buf: *const sessile_buf) -> usize {
    boundary_value(|| {
        if buf.is_null() {
            return 0;
        }
        // SAFETY: non-NULL, and a live buffer per the contract above.
        unsafe { &*buf }.bytes.len() - 1
    })
}

/// Frees a buffer. `sessile_buf_free(NULL)` does nothing.
///
/// Thread safety: call it once, after every other use of `buf` on every
/// thread has finished.
///
/// # Safety
///
/// `buf` must be NULL or a live buffer from this library that is not used
/// afterwards: freeing it twice is undefined behaviour.
#[no_mangle]
pub unsafe extern "C" fn sessile_buf_free(buf: *mut sessile_buf) {
    boundary_value(|| {
        // SAFETY: per the contract above `buf` is NULL or a live buffer
        // made by `to_c`, freed exactly once.
        unsafe { free_c(buf) }
    })
}
