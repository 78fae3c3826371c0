"""The FFI layer: the native library, loaded through cffi, and how it is called.

It holds the ``ffi``/``lib`` pair of the generated ``_native`` module, the
ABI version check made at import, and the helpers every call goes through:
a non-zero result code raised as its exception from ``_errors`` (with the
library's message), library-owned buffers copied out and freed, text
arguments encoded as the C functions take them.
"""

from __future__ import annotations

import threading
from typing import Any

from ._errors import AbiMismatch, BY_CODE, SessileError

try:
    from ._native import ffi, lib
except OSError as exc:  # the shared library next to the module did not load
    raise ImportError(f"sessile: cannot load the native library: {exc}") from exc

#: The C ABI version this package was written for (``SESSILE_ABI_VERSION``).
ABI_VERSION = 1


def check_abi(loaded: int, header: int, expected: int = ABI_VERSION) -> None:
    """Refuses a library whose ABI differs from the header's and this code's."""
    if loaded != header or header != expected:
        raise AbiMismatch(
            f"sessile: ABI version mismatch: the loaded library speaks ABI {loaded}, "
            f"the C header it was packaged with declares SESSILE_ABI_VERSION {header}, "
            f"and this Python package was written for ABI {expected}; "
            "reinstall the sessile package so that library and package match"
        )


check_abi(lib.sessile_abi_version(), lib.SESSILE_ABI_VERSION)

#: The library's version string, such as ``"0.1.0"``.
LIBRARY_VERSION: str = ffi.string(lib.sessile_version()).decode()


# --------------------------------------------------------------------------
# Calling the library


def _last_error_message() -> str:
    length = lib.sessile_last_error_message(ffi.NULL, 0)
    buf = ffi.new("char[]", length + 1)
    lib.sessile_last_error_message(buf, length + 1)
    return ffi.string(buf).decode("utf-8", "replace")


def _check(rc: int) -> None:
    if rc != 0:
        # The message is per thread: read it before anything else calls in.
        cls = BY_CODE.get(rc, SessileError)
        raise cls(_last_error_message(), rc)


def _get(ctype: str, fn: Any, *args: Any) -> Any:
    """Calls ``fn(*args, out)``, a C function whose last parameter is one
    output of type ``ctype`` (a pointer type), and returns what it wrote."""
    out = ffi.new(ctype)
    _check(fn(*args, out))
    return out[0]


def _take(buf_out: Any) -> bytes:
    """The bytes of a library-owned buffer, which is freed."""
    buf = buf_out[0]
    if buf == ffi.NULL:
        return b""
    try:
        return bytes(ffi.buffer(lib.sessile_buf_data(buf), lib.sessile_buf_len(buf)))
    finally:
        lib.sessile_buf_free(buf)


class _Outs(threading.local):
    """Output cells and a data buffer for the hot calls, made once per thread
    instead of per call."""

    def __init__(self) -> None:
        self.cap = 16 * 1024
        self.data = ffi.new("uint8_t[]", self.cap)
        self.len = ffi.new("size_t *")
        self.at = ffi.new("int64_t *")


_outs = _Outs()


def _text(value: str | bytes, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"sessile: {what} must be str, not {type(value).__name__}")
