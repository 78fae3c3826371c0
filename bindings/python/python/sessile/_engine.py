"""The Pythonic layer over the C ABI: Engine (store level) and Session."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import msgpack

from . import _errors
from ._errors import AbiMismatch, BY_CODE, NotFound, SessileError

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

_KIND_DEFAULT = lib.SESSILE_EXPIRY_KIND_DEFAULT
_KIND_BROWSER_CLOSE = lib.SESSILE_EXPIRY_KIND_BROWSER_CLOSE
_KIND_SECONDS = lib.SESSILE_EXPIRY_KIND_SECONDS
_KIND_AT = lib.SESSILE_EXPIRY_KIND_AT
_KIND_KEEP = lib.SESSILE_EXPIRY_KIND_KEEP
_KIND_NAMES = {
    _KIND_DEFAULT: "default",
    _KIND_BROWSER_CLOSE: "browser_close",
    _KIND_SECONDS: "seconds",
    _KIND_AT: "at",
    _KIND_KEEP: "keep",
}
_KIND_NUMBERS = {name: number for number, name in _KIND_NAMES.items()}


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


# --------------------------------------------------------------------------
# Values: MessagePack through the msgpack package


def pack_value(value: Any, key: str = "") -> bytes:
    """One value as MessagePack, or a TypeError that names the key and type."""
    try:
        return msgpack.packb(value, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        where = f" for session key {key!r}" if key else ""
        raise TypeError(
            f"sessile: the value{where} cannot be stored: {type(value).__name__} "
            f"is not serialisable as MessagePack ({exc})"
        ) from exc


def pack_map(data: Mapping[str, Any]) -> bytes:
    """Session data as one MessagePack map with string keys."""
    for key in data:
        if not isinstance(key, str):
            raise TypeError(f"sessile: session keys must be str, not {type(key).__name__} ({key!r})")
    try:
        return msgpack.packb(data if type(data) is dict else dict(data), use_bin_type=True)
    except (TypeError, ValueError, OverflowError):
        for key, value in data.items():
            pack_value(value, key)  # raises the TypeError naming the key
        raise


def unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


# --------------------------------------------------------------------------
# Expiry


class Expiry(NamedTuple):
    """A session's expiry policy: Django's ``set_expiry`` argument, one kind per form.

    ``kind`` is ``"default"``, ``"browser_close"``, ``"seconds"`` (``value``
    seconds after each save), ``"at"`` (``value`` ms since the Unix epoch) or
    ``"keep"`` (store-level saves only: keep the stored policy).
    """

    kind: str
    value: int = 0

    @classmethod
    def default(cls) -> Expiry:
        return cls("default")

    @classmethod
    def browser_close(cls) -> Expiry:
        return cls("browser_close")

    @classmethod
    def seconds(cls, seconds: int) -> Expiry:
        return cls("seconds", int(seconds))

    @classmethod
    def at(cls, when: datetime | int) -> Expiry:
        return cls("at", when if isinstance(when, int) else to_ms(when))


#: The longest expiry sessile accepts, in seconds: 400 days, the longest
#: browsers keep a cookie (RFC 6265bis). Also the furthest ahead a date may be.
MAX_AGE_S = 400 * 86400

#: Store-level saves and touch: keep the policy the session already has.
KEEP = Expiry("keep")

ExpiryLike = Expiry | datetime | timedelta | int | None


def to_ms(when: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is local time, as in Python."""
    return int(round(when.timestamp() * 1000))


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _c_expiry(expiry: ExpiryLike) -> Any:
    """Django's ``set_expiry`` forms: None, seconds (0 = browser close), timedelta, datetime."""
    if type(expiry) is Expiry:
        # The forms the adapters pass on every request: made once.
        c = _EXPIRY_CACHE.get(expiry)
        if c is None:
            c = _make_c_expiry(expiry)
            if len(_EXPIRY_CACHE) < 1024:
                _EXPIRY_CACHE[expiry] = c
        return c
    return _make_c_expiry(expiry)


_EXPIRY_CACHE: dict[Expiry, Any] = {}


def _make_c_expiry(expiry: ExpiryLike) -> Any:
    if expiry is None:
        kind, value = _KIND_DEFAULT, 0
    elif isinstance(expiry, Expiry):
        if expiry.kind not in _KIND_NUMBERS:
            raise ValueError(f"sessile: unknown expiry kind {expiry.kind!r}")
        kind, value = _KIND_NUMBERS[expiry.kind], expiry.value
    elif isinstance(expiry, bool):
        raise TypeError("sessile: expiry must be None, int seconds, timedelta, datetime or Expiry")
    elif isinstance(expiry, int):
        # Clamped to int64 so that the library, not cffi, says what the range is.
        kind, value = (_KIND_BROWSER_CLOSE, 0) if expiry == 0 else (_KIND_SECONDS, _i64(expiry))
    elif isinstance(expiry, timedelta):
        kind, value = _KIND_SECONDS, expiry.days * 86400 + expiry.seconds
    elif isinstance(expiry, datetime):
        kind, value = _KIND_AT, to_ms(expiry)
    else:
        raise TypeError(
            "sessile: expiry must be None, int seconds, timedelta, datetime or Expiry, "
            f"not {type(expiry).__name__}"
        )
    c = ffi.new("sessile_expiry *")
    c.kind, c.value = kind, value
    return c[0]


def _i64(n: int) -> int:
    """``n`` clamped to int64: out-of-range values then get the library's error."""
    return max(-(2**63), min(n, 2**63 - 1))


def _py_expiry(c: Any) -> Expiry:
    return Expiry(_KIND_NAMES.get(c.kind, str(c.kind)), int(c.value))


class Record(NamedTuple):
    """A stored session as the store level returns it."""

    data: dict[str, Any]
    expiry: Expiry
    expires_at: datetime  # UTC

    @property
    def expires_at_ms(self) -> int:
        return to_ms(self.expires_at)


class Response(NamedTuple):
    """What ``Session.end_request`` asks the server to send."""

    set_cookie: str | None
    vary_cookie: bool
    saved: bool


# --------------------------------------------------------------------------
# Keys


def generate_key() -> str:
    """A random session key (no session is created)."""
    out = ffi.new("sessile_buf **")
    _check(lib.sessile_key_generate(out))
    return _take(out).decode()


def is_valid_key(key: str | bytes) -> bool:
    """Whether ``key`` is 32 characters of ``[a-z0-9]``."""
    raw = _text(key, "a session key")
    rc = lib.sessile_key_validate(raw, len(raw))
    if rc == lib.SESSILE_RESULT_INVALID_KEY:
        return False
    _check(rc)
    return True


# --------------------------------------------------------------------------
# Engine

_SAMESITE = {
    None: lib.SESSILE_SAMESITE_OMIT,
    False: lib.SESSILE_SAMESITE_OMIT,
    "lax": lib.SESSILE_SAMESITE_LAX,
    "strict": lib.SESSILE_SAMESITE_STRICT,
    "none": lib.SESSILE_SAMESITE_NONE,
}


def _set_text(setter: Any) -> Any:
    return lambda opts, value: setter(opts, _text(value, "option"), len(_text(value, "option")))


def _samesite(opts: Any, value: Any) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key not in _SAMESITE:
        raise ValueError(f"sessile: cookie_samesite must be 'Lax', 'Strict', 'None' or False, not {value!r}")
    return lib.sessile_options_set_cookie_samesite(opts, _SAMESITE[key])


def _manual_clock(opts: Any, value: Any) -> int:
    if value is True:
        start = to_ms(datetime.now(timezone.utc))
    elif isinstance(value, datetime):
        start = to_ms(value)
    else:
        start = int(value)
    return lib.sessile_options_set_manual_clock(opts, start)


_OPTIONS = {
    "cookie_name": _set_text(lib.sessile_options_set_cookie_name),
    "cookie_age": lambda o, v: lib.sessile_options_set_cookie_age(
        o, int(v.total_seconds()) if isinstance(v, timedelta) else int(v)),
    "cookie_domain": lambda o, v: _set_text(lib.sessile_options_set_cookie_domain)(o, v or ""),
    "cookie_path": _set_text(lib.sessile_options_set_cookie_path),
    "cookie_secure": lambda o, v: lib.sessile_options_set_cookie_secure(o, bool(v)),
    "cookie_httponly": lambda o, v: lib.sessile_options_set_cookie_httponly(o, bool(v)),
    "cookie_samesite": _samesite,
    "save_every_request": lambda o, v: lib.sessile_options_set_save_every_request(o, bool(v)),
    "expire_at_browser_close": lambda o, v: lib.sessile_options_set_expire_at_browser_close(o, bool(v)),
    "cache_capacity": lambda o, v: lib.sessile_options_set_cache_capacity(o, int(v)),
    "flush_every_ms": lambda o, v: lib.sessile_options_set_flush_every_ms(o, int(v)),
    "compression": lambda o, v: lib.sessile_options_set_compression(o, bool(v)),
    "max_data_key_len": lambda o, v: lib.sessile_options_set_max_data_key_len(o, int(v)),
    "max_value_size": lambda o, v: lib.sessile_options_set_max_value_size(o, int(v)),
    "max_record_size": lambda o, v: lib.sessile_options_set_max_record_size(o, int(v)),
    "max_keys": lambda o, v: lib.sessile_options_set_max_keys(o, int(v)),
    "reaper_interval_ms": lambda o, v: lib.sessile_options_set_reaper_interval_ms(o, int(v)),
    "reaper_budget": lambda o, v: lib.sessile_options_set_reaper_budget(o, int(v)),
    "memory": lambda o, v: lib.sessile_options_set_memory(o, bool(v)),
    "manual_clock": _manual_clock,
}

#: The keyword arguments ``sessile.open`` accepts.
OPTION_NAMES = frozenset(_OPTIONS)


class Engine:
    """An open session database. Thread-safe; a context manager that closes it.

    The store-level methods (``load``, ``create``, ``save``, ``save_delta``,
    ``touch``, ``delete``, ``exists``, ``clear_expired``) are what framework
    adapters use; ``session`` and ``begin_request`` give dict-like sessions.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise TypeError(
                f"sessile.open() got unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(OPTION_NAMES))}"
            )
        if path is None and not options.get("memory"):
            raise TypeError("sessile.open() needs a path (or memory=True)")
        raw_path = os.fsencode(path) if path is not None else b""
        opts_out = ffi.new("sessile_options **")
        _check(lib.sessile_options_new(opts_out))
        opts = opts_out[0]
        try:
            for name, value in options.items():
                _check(_OPTIONS[name](opts, value))
            engine_out = ffi.new("sessile_engine **")
            _check(lib.sessile_engine_open(raw_path or ffi.NULL, len(raw_path), opts, engine_out))
        finally:
            lib.sessile_options_free(opts)
        self.path = os.fsdecode(raw_path) if raw_path else None
        self.options = dict(options)
        self._handle = ffi.gc(engine_out[0], lib.sessile_engine_free)
        self._close_lock = threading.Lock()
        self._closed = False

    # -- life cycle

    def close(self) -> None:
        """Flushes and lets go of the database; later calls raise ``sessile.Closed``.

        Closing twice is allowed. Sessions made from the engine keep working.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _check(lib.sessile_engine_close(self._handle))

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<sessile.Engine {self.path or ':memory:'} {state}>"

    # -- store level

    def load(self, key: str) -> Record:
        """The live session ``key``; ``NotFound``, ``InvalidKey`` or ``Corrupt`` otherwise.

        Loading never creates a session.
        """
        raw = _text(key, "a session key")
        data_out = ffi.new("sessile_buf **")
        expiry_out = ffi.new("sessile_expiry *")
        at_out = ffi.new("int64_t *")
        _check(lib.sessile_store_load(self._handle, raw, len(raw), data_out, expiry_out, at_out))
        data = unpack(_take(data_out))
        return Record(data, _py_expiry(expiry_out[0]), from_ms(at_out[0]))

    def load_raw(self, key: str) -> bytes:
        """The live session's data as the MessagePack map bytes the store keeps.

        Raises as ``load``. With ``save_diff``, this is how a binding that
        holds a session as a plain dict saves only what it changed.
        """
        raw = key.encode() if type(key) is str else _text(key, "a session key")
        out = _outs
        while True:
            _check(lib.sessile_store_load_copy(self._handle, raw, len(raw), out.data, out.cap, out.len, out.at))
            n = out.len[0]
            if n <= out.cap:
                return ffi.buffer(out.data, n)[:]
            # Larger than this thread's buffer: grow it and read again.
            out.cap = max(n, 2 * out.cap)
            out.data = ffi.new("uint8_t[]", out.cap)

    def save_diff(self, key: str, seen: bytes, data: Mapping[str, Any] | bytes,
                  expiry: ExpiryLike = KEEP, *, upsert: bool = False, durable: bool = False) -> bytes:
        """Saves ``data`` (the whole session) as a change from ``seen``.

        ``seen`` is what ``load_raw`` returned (or what this returned on the
        last save; ``b""`` is the empty session). Only the keys whose value
        differs are written and only the keys that disappeared are removed,
        so parallel requests that change different keys both keep their
        change. Returns the packed ``data``: the ``seen`` of the next save.
        """
        raw = key.encode() if type(key) is str else _text(key, "a session key")
        packed = data if isinstance(data, bytes) else pack_map(data)
        flags = (lib.SESSILE_SAVE_UPSERT if upsert else 0) | (lib.SESSILE_SAVE_DURABLE if durable else 0)
        _check(lib.sessile_store_save_diff(self._handle, raw, len(raw), seen, len(seen), packed, len(packed),
                                           _c_expiry(expiry), flags))
        return packed

    def cycle_key(self, key: str, seen: bytes = b"", data: Mapping[str, Any] | bytes | None = None,
                  expiry: ExpiryLike = KEEP) -> str:
        """Moves session ``key`` to a fresh key, deletes the old one and returns the new key.

        Django's ``cycle_key()``, on login against session fixation. ``data``
        (the whole session) is applied as a change from ``seen``, as
        ``save_diff`` applies it, onto the data stored now; ``None`` moves the
        session as it is stored. A session deleted meanwhile (a logout in
        another tab) or expired is never carried over: ``SessionDeleted``.
        """
        raw = key.encode() if type(key) is str else _text(key, "a session key")
        if data is None:
            packed, seen = b"", b""
        else:
            packed = data if isinstance(data, bytes) else pack_map(data)
        out = ffi.new("sessile_buf **")
        _check(lib.sessile_store_cycle_key(self._handle, raw, len(raw), seen, len(seen), packed, len(packed),
                                           _c_expiry(expiry), out))
        return _take(out).decode()

    def get(self, key: str) -> Record | None:
        """As ``load``, but None for an unknown, expired, malformed or damaged key."""
        try:
            return self.load(key)
        except (_errors.NotFound, _errors.InvalidKey, _errors.Corrupt):
            return None

    def exists(self, key: str) -> bool:
        """Whether a live session has ``key`` (False for a malformed key)."""
        raw = _text(key, "a session key")
        out = ffi.new("bool *")
        rc = lib.sessile_store_exists(self._handle, raw, len(raw), out)
        if rc == lib.SESSILE_RESULT_INVALID_KEY:
            return False
        _check(rc)
        return bool(out[0])

    def create(self, data: Mapping[str, Any] | bytes | None = None, expiry: ExpiryLike = None,
               *, durable: bool = False) -> str:
        """Stores a new session under a fresh random key and returns the key.

        ``data`` is a mapping, or a MessagePack map already packed.
        """
        packed = data if isinstance(data, bytes) else pack_map(data or {})
        out = ffi.new("sessile_buf **")
        flags = lib.SESSILE_SAVE_DURABLE if durable else 0
        _check(lib.sessile_store_create(self._handle, packed, len(packed), _c_expiry(expiry), flags, out))
        return _take(out).decode()

    def save(self, key: str, data: Mapping[str, Any], expiry: ExpiryLike = KEEP, *,
             upsert: bool = False, durable: bool = False) -> None:
        """Replaces the whole data of ``key``.

        Without ``upsert`` a missing or expired session raises
        ``SessionDeleted`` and nothing is written.
        """
        raw = _text(key, "a session key")
        packed = pack_map(data)
        flags = (lib.SESSILE_SAVE_UPSERT if upsert else 0) | (lib.SESSILE_SAVE_DURABLE if durable else 0)
        _check(lib.sessile_store_save(self._handle, raw, len(raw), packed, len(packed),
                                      _c_expiry(expiry), flags))

    def save_delta(self, key: str, set: Mapping[str, Any] | None = None,
                   remove: Iterable[str] = (), expiry: ExpiryLike = KEEP, *,
                   clear: bool = False, upsert: bool = False, durable: bool = False) -> None:
        """Sets and removes the given data keys, keeping what others stored meanwhile."""
        raw = _text(key, "a session key")
        packed_set = pack_map(set or {})
        removed = list(remove)
        for name in removed:
            if not isinstance(name, str):
                raise TypeError(f"sessile: session keys must be str, not {type(name).__name__}")
        packed_remove = msgpack.packb(removed, use_bin_type=True)
        flags = ((lib.SESSILE_SAVE_UPSERT if upsert else 0)
                 | (lib.SESSILE_SAVE_DURABLE if durable else 0)
                 | (lib.SESSILE_SAVE_CLEAR if clear else 0))
        _check(lib.sessile_store_save_delta(self._handle, raw, len(raw), packed_set, len(packed_set),
                                            packed_remove, len(packed_remove), _c_expiry(expiry), flags))

    def touch(self, key: str, expiry: ExpiryLike = KEEP) -> None:
        """Counts the session's deadline again from now; ``NotFound`` if it is gone."""
        raw = _text(key, "a session key")
        _check(lib.sessile_store_touch(self._handle, raw, len(raw), _c_expiry(expiry)))

    def delete(self, key: str) -> None:
        """Deletes the session (deleting a missing one is not an error)."""
        raw = _text(key, "a session key")
        _check(lib.sessile_store_delete(self._handle, raw, len(raw)))

    def clear_expired(self) -> int:
        """Deletes every expired session; returns how many."""
        out = ffi.new("uint64_t *")
        _check(lib.sessile_engine_clear_expired(self._handle, out))
        return int(out[0])

    def flush(self) -> None:
        """Writes every acknowledged save to disk now."""
        _check(lib.sessile_engine_flush(self._handle))

    # -- clock

    def now_ms(self) -> int:
        """The engine's clock, in ms since the epoch (manual with ``manual_clock``)."""
        out = ffi.new("int64_t *")
        _check(lib.sessile_engine_now(self._handle, out))
        return int(out[0])

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    def advance_clock(self, by: timedelta | int) -> None:
        """Moves a manual clock by a timedelta or by milliseconds."""
        ms = int(by.total_seconds() * 1000) if isinstance(by, timedelta) else int(by)
        # The clock stops at its ends (the epoch, the end of 9999).
        _check(lib.sessile_engine_advance_clock(self._handle, _i64(ms)))

    def set_clock(self, when: datetime | int) -> None:
        """Sets a manual clock; outside the epoch to the end of 9999 raises InvalidArgument."""
        ms = when if isinstance(when, int) else to_ms(when)
        _check(lib.sessile_engine_set_clock(self._handle, _i64(ms)))

    # -- session level

    def session(self, key: str | None = None) -> Session:
        """A dict-like session: new (no key yet) or for ``key``.

        A malformed, unknown or expired key gives an empty session with no key.
        """
        out = ffi.new("sessile_session **")
        if key is None:
            _check(lib.sessile_session_new(self._handle, out))
        else:
            raw = _text(key, "a session key")
            _check(lib.sessile_session_open(self._handle, raw, len(raw), out))
        return Session(out[0])

    def begin_request(self, cookie_header: str | bytes | None = None) -> Session:
        """The session named by a request's ``Cookie:`` header (Django's middleware rules)."""
        raw = b"" if cookie_header is None else _text(cookie_header, "the Cookie header")
        out = ffi.new("sessile_session **")
        _check(lib.sessile_request_begin(self._handle, raw or ffi.NULL, len(raw), out))
        return Session(out[0])


def open(path: str | os.PathLike[str] | None = None, **options: Any) -> Engine:  # noqa: A001
    """Opens (or creates) the session database in directory ``path``.

    A missing or empty directory becomes a new database; a regular file, or
    a directory holding other files and no database, raises
    ``sessile.NotADatabase``. A directory another process holds raises
    ``sessile.Locked``: one process per directory (several workers need
    ``redis://``, or one worker with threads).

    ``path`` may also be a store URL: ``redis://host:port/db`` (a Redis
    server that several processes and hosts share; query parameters
    ``prefix``, ``connect_timeout_ms``, ``timeout_ms``, ``pool_size``),
    ``sled:///absolute/dir`` or ``memory:``. An unreachable Redis server
    raises ``sessile.Unavailable``.

    Options mirror Django's settings (``cookie_name``, ``cookie_age``,
    ``cookie_domain``, ``cookie_path``, ``cookie_secure``, ``cookie_httponly``,
    ``cookie_samesite``, ``save_every_request``, ``expire_at_browser_close``)
    plus the engine's own (``max_data_key_len``, ``max_value_size``,
    ``max_record_size``, ``max_keys``, ``flush_every_ms``, ``cache_capacity``,
    ``compression`` (fixed when the database is created), ``reaper_interval_ms``, ``reaper_budget``, ``memory``, ``manual_clock``).
    """
    return Engine(path, **options)


# --------------------------------------------------------------------------
# Session


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
        out = ffi.new("bool *")
        _check(lib.sessile_session_contains(self._handle, raw, len(raw), out))
        return bool(out[0])

    def __len__(self) -> int:
        out = ffi.new("size_t *")
        _check(lib.sessile_session_len(self._handle, out))
        return int(out[0])

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
        out = ffi.new("bool *")
        _check(lib.sessile_session_is_empty(self._handle, out))
        return bool(out[0])

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
        out = ffi.new("bool *")
        _check(lib.sessile_session_accessed(self._handle, out))
        return bool(out[0])

    @property
    def modified(self) -> bool:
        out = ffi.new("bool *")
        _check(lib.sessile_session_modified(self._handle, out))
        return bool(out[0])

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
        out = ffi.new("int64_t *")
        _check(lib.sessile_session_get_expiry_age(self._handle, out))
        return int(out[0])

    def get_expiry_date(self) -> datetime:
        out = ffi.new("int64_t *")
        _check(lib.sessile_session_get_expiry_date(self._handle, out))
        return from_ms(out[0])

    def get_expire_at_browser_close(self) -> bool:
        out = ffi.new("bool *")
        _check(lib.sessile_session_get_expire_at_browser_close(self._handle, out))
        return bool(out[0])

    def get_session_cookie_age(self) -> int:
        out = ffi.new("int64_t *")
        _check(lib.sessile_session_get_cookie_age(self._handle, out))
        return int(out[0])

    # -- test cookie

    def set_test_cookie(self) -> None:
        _check(lib.sessile_session_set_test_cookie(self._handle))

    def test_cookie_worked(self) -> bool:
        out = ffi.new("bool *")
        _check(lib.sessile_session_test_cookie_worked(self._handle, out))
        return bool(out[0])

    def delete_test_cookie(self) -> None:
        _check(lib.sessile_session_delete_test_cookie(self._handle))


__all__ = [
    "ABI_VERSION", "LIBRARY_VERSION", "KEEP", "Engine", "Expiry", "Record", "Response",
    "Session", "check_abi", "generate_key", "is_valid_key", "open",
]
_ = NotFound  # re-exported through the package
