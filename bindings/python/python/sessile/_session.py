"""The session level: ``Session``, one visitor's session as a dict-like object.

A ``Session`` owns a ``sessile_session`` handle: the data, the key and
Django's ``SessionBase`` rules (accessed/modified, expiry, cycle_key, the
test cookie) live on the Rust side, and each method converts its arguments
and makes one library call. ``end_request`` gives the ``Response`` a
server sends back.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ._errors import SessileError
from ._ffi import _check, _get, _take, _text, ffi, lib
from ._values import Expiry, ExpiryLike, _c_expiry, _i64, _py_expiry, from_ms, pack_value, unpack


class Response(NamedTuple):
    """What ``Session.end_request`` asks the server to send."""

    set_cookie: str | None
    vary_cookie: bool
    saved: bool


class Session(MutableMapping[str, Any]):
    """One visitor's session, as Django's ``request.session``: a dict of values.

    Nothing is read until the data is first used; ``save()`` stores it (a key
    is issued on the first save), ``flush()`` logs out, ``cycle_key()``
    changes the key at login.
    """

    def __init__(self, handle: Any) -> None:
        self._handle = ffi.gc(handle, lib.sessile_session_free)

    def _key_arg(self, key: str) -> bytes:
        if not isinstance(key, str):
            raise TypeError(f"sessile: session keys must be str, not {type(key).__name__}")
        return _text(key, "a session key")

    # -- mapping

    def __getitem__(self, key: str) -> Any:
        raw = self._key_arg(key)
        out = ffi.new("sessile_buf **")
        rc = lib.sessile_session_get(self._handle, raw, len(raw), out)
        if rc == lib.SESSILE_RESULT_NOT_FOUND:
            raise KeyError(key)
        _check(rc)
        return unpack(_take(out))

    def __setitem__(self, key: str, value: Any) -> None:
        raw = self._key_arg(key)
        packed = pack_value(value, key)
        _check(lib.sessile_session_set(self._handle, raw, len(raw), packed, len(packed)))

    def __delitem__(self, key: str) -> None:
        raw = self._key_arg(key)
        rc = lib.sessile_session_remove(self._handle, raw, len(raw))
        if rc == lib.SESSILE_RESULT_NOT_FOUND:
            raise KeyError(key)
        _check(rc)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        raw = _text(key, "a session key")
        return bool(_get("bool *", lib.sessile_session_contains, self._handle, raw, len(raw)))

    def __len__(self) -> int:
        return int(_get("size_t *", lib.sessile_session_len, self._handle))

    def __iter__(self) -> Iterator[str]:
        out = ffi.new("sessile_buf **")
        _check(lib.sessile_session_keys(self._handle, out))
        return iter(unpack(_take(out)))

    def to_dict(self) -> dict[str, Any]:
        """The whole session data as a dict."""
        out = ffi.new("sessile_buf **")
        _check(lib.sessile_session_data(self._handle, out))
        return unpack(_take(out))

    def __repr__(self) -> str:
        try:
            return f"<sessile.Session key={self.key!r}>"
        except SessileError:
            return "<sessile.Session closed>"

    def is_empty(self) -> bool:
        return bool(_get("bool *", lib.sessile_session_is_empty, self._handle))

    def clear(self) -> None:
        _check(lib.sessile_session_clear(self._handle))

    # -- state

    @property
    def key(self) -> str | None:
        """The session key, or None before the first save."""
        out = ffi.new("sessile_buf **")
        rc = lib.sessile_session_key(self._handle, out)
        if rc == lib.SESSILE_RESULT_NOT_FOUND:
            return None
        _check(rc)
        return _take(out).decode() or None

    @property
    def accessed(self) -> bool:
        return bool(_get("bool *", lib.sessile_session_accessed, self._handle))

    @property
    def modified(self) -> bool:
        return bool(_get("bool *", lib.sessile_session_modified, self._handle))

    @modified.setter
    def modified(self, value: bool) -> None:
        _check(lib.sessile_session_set_modified(self._handle, bool(value)))

    # -- life cycle

    def save(self, *, durable: bool = False) -> None:
        """Stores the session (issuing a key on the first save).

        ``SessionDeleted`` if it was deleted meanwhile (a logout elsewhere).
        """
        _check(lib.sessile_session_save(self._handle, lib.SESSILE_SAVE_DURABLE if durable else 0))

    def delete(self) -> None:
        _check(lib.sessile_session_delete(self._handle))

    def flush(self) -> None:
        """Logout: deletes the stored session, empties the data, drops the key."""
        _check(lib.sessile_session_flush(self._handle))

    def cycle_key(self) -> None:
        """Login: keeps the data under a new key and deletes the old one."""
        _check(lib.sessile_session_cycle_key(self._handle))

    def end_request(self, status: int) -> Response:
        """Django's ``SessionMiddleware.process_response``: what to send back."""
        cookie_out = ffi.new("sessile_buf **")
        flags_out = ffi.new("uint32_t *")
        _check(lib.sessile_request_end(self._handle, int(status), cookie_out, flags_out))
        cookie = _take(cookie_out).decode() if cookie_out[0] != ffi.NULL else None
        flags = flags_out[0]
        return Response(cookie, bool(flags & lib.SESSILE_RESPONSE_VARY_COOKIE),
                        bool(flags & lib.SESSILE_RESPONSE_SAVED))

    def close(self) -> None:
        """Releases the session now; later calls raise ``sessile.Closed``."""
        rc = lib.sessile_session_close(self._handle)
        if rc != lib.SESSILE_RESULT_CLOSED:
            _check(rc)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- expiry

    def set_expiry(self, value: ExpiryLike) -> None:
        """Django's ``set_expiry``: None, seconds (0 = browser close), timedelta, datetime.

        Seconds must be 0 or 1 to 34560000 (400 days, the longest browsers
        keep a cookie), a timedelta more than zero and at most 400 days, a
        datetime later than now and at most 400 days ahead; anything else
        raises ``sessile.InvalidArgument`` (a ``ValueError``) and changes
        nothing. Django accepts any value (a negative one expires the
        session); here, to end a session now, ``flush()`` it.
        """
        if isinstance(value, timedelta):
            ms = _i64(int(value.total_seconds() * 1000))
            _check(lib.sessile_session_set_expiry_in(self._handle, ms))
        else:
            _check(lib.sessile_session_set_expiry(self._handle, _c_expiry(value)))

    def get_expiry(self) -> Expiry:
        out = ffi.new("sessile_expiry *")
        _check(lib.sessile_session_get_expiry(self._handle, out))
        return _py_expiry(out[0])

    def get_expiry_age(self) -> int:
        return int(_get("int64_t *", lib.sessile_session_get_expiry_age, self._handle))

    def get_expiry_date(self) -> datetime:
        return from_ms(_get("int64_t *", lib.sessile_session_get_expiry_date, self._handle))

    def get_expire_at_browser_close(self) -> bool:
        return bool(_get("bool *", lib.sessile_session_get_expire_at_browser_close, self._handle))

    def get_session_cookie_age(self) -> int:
        return int(_get("int64_t *", lib.sessile_session_get_cookie_age, self._handle))

    # -- test cookie

    def set_test_cookie(self) -> None:
        _check(lib.sessile_session_set_test_cookie(self._handle))

    def test_cookie_worked(self) -> bool:
        return bool(_get("bool *", lib.sessile_session_test_cookie_worked, self._handle))

    def delete_test_cookie(self) -> None:
        _check(lib.sessile_session_delete_test_cookie(self._handle))

