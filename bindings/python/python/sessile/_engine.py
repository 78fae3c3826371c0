"""The engine: ``Engine``, an open session database, and its store-level calls.

``sessile.open`` makes an ``Engine`` from a path or store URL and keyword
options; its store-level methods (load, create, save, save_delta,
save_diff, cycle_key, touch, delete, ...) are what framework adapters call,
and ``session``/``begin_request`` give a ``Session``. Session keys can be
made and checked without an engine (``generate_key``, ``is_valid_key``).

The layers below are ``_ffi`` (the library and how it is called),
``_values`` (MessagePack data, expiry policies, times) and ``_session``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from . import _errors
from ._ffi import _check, _get, _outs, _take, _text, ffi, lib
from ._session import Session
from ._values import (
    KEEP,
    Expiry,
    ExpiryLike,
    _c_expiry,
    _i64,
    expiry_of,
    _py_expiry,
    from_ms,
    pack_keys,
    pack_map,
    to_ms,
    unpack,
)

# Importable from here as before the layers had modules of their own: the
# tests and benches/django_engines.py import them from sessile._engine.
from ._errors import BY_CODE as BY_CODE
from ._ffi import ABI_VERSION as ABI_VERSION, LIBRARY_VERSION as LIBRARY_VERSION, check_abi as check_abi
from ._session import Response as Response
from ._values import MAX_AGE_S as MAX_AGE_S, pack_value as pack_value


class Record(NamedTuple):
    """A stored session as the store level returns it."""

    data: dict[str, Any]
    expiry: Expiry
    expires_at: datetime  # UTC

    @property
    def expires_at_ms(self) -> int:
        return to_ms(self.expires_at)


class StoredSession(NamedTuple):
    """One session of a listing (``Engine.sessions_of``): its key and what
    ``load`` would return for it."""

    key: str
    data: dict[str, Any]
    expiry: Expiry
    expires_at: datetime  # UTC

    @property
    def expires_at_ms(self) -> int:
        return to_ms(self.expires_at)


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


def _owner(owner: str | int) -> bytes:
    """An owner as the C calls take it: a string's UTF-8, an integer's decimal
    digits (the index files a stored integer 42 and a string "42" as one
    owner)."""
    if isinstance(owner, int) and not isinstance(owner, bool):
        return str(owner).encode()
    if isinstance(owner, str):
        return _text(owner, "an owner")
    raise TypeError(f"sessile: an owner must be str or int, not {type(owner).__name__}")


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
    "owner_key": _set_text(lib.sessile_options_set_owner_key),
    "manual_clock": _manual_clock,
}

#: The keyword arguments ``sessile.open`` accepts.
OPTION_NAMES = frozenset(_OPTIONS)


class Engine:
    """An open session database. Thread-safe; a context manager that closes it.

    The store-level methods (``load``, ``create``, ``save``, ``save_delta``,
    ``touch``, ``delete``, ``exists``, ``clear_expired``, ``delete_all``) are
    what framework adapters use; ``session`` and ``begin_request`` give dict-like sessions.
    With the ``owner_key`` option, ``sessions_of`` and ``end_sessions_of``
    find and end the sessions of one user ("log out everywhere").
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
                  expiry: ExpiryLike = KEEP, *, upsert: bool = False, durable: bool = False,
                  create_only: bool = False) -> bytes:
        """Saves ``data`` (the whole session) as a change from ``seen``.

        ``seen`` is what ``load_raw`` returned (or what this returned on the
        last save; ``b""`` is the empty session). Only the keys whose value
        differs are written and only the keys that disappeared are removed,
        so parallel requests that change different keys both keep their
        change. Returns the packed ``data``: the ``seen`` of the next save.
        With ``create_only`` the session is created under ``key`` only if
        no live session has it, atomically; otherwise ``KeyCollision`` and
        nothing is written (Django's ``save(must_create=True)``).
        """
        raw = key.encode() if type(key) is str else _text(key, "a session key")
        packed = data if isinstance(data, bytes) else pack_map(data)
        flags = ((lib.SESSILE_SAVE_UPSERT if upsert else 0)
                 | (lib.SESSILE_SAVE_DURABLE if durable else 0)
                 | (lib.SESSILE_SAVE_CREATE_ONLY if create_only else 0))
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
        packed_remove = pack_keys(remove)
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
        return int(_get("uint64_t *", lib.sessile_engine_clear_expired, self._handle))

    def count(self) -> int:
        """How many live sessions are stored (unexpired by the engine's clock;
        damaged records are not counted). Reads every record."""
        return int(_get("uint64_t *", lib.sessile_store_count, self._handle))

    def delete_all(self) -> int:
        """Deletes every stored session and returns how many: logs everyone out.

        Expired sessions not swept yet and damaged records go too. A request
        still holding one of them cannot save it back. Sessions created while
        this runs may survive it.
        """
        return int(_get("uint64_t *", lib.sessile_store_delete_all, self._handle))

    # -- owners (the ``owner_key`` option)

    def sessions_of(self, owner: str | int) -> list[StoredSession]:
        """The live sessions of ``owner``, the one that expires last first.

        ``owner`` is the value the sessions hold under the ``owner_key``
        (a user id; an int stands for its decimal digits, so ``42`` and
        ``"42"`` are one owner). Read through the store's owner index: a
        lookup per session of that owner, whatever the size of the store.
        ``InvalidArgument`` when the engine has no owner key (none given,
        and the database keeps no owner index).
        """
        raw = _owner(owner)
        out = ffi.new("sessile_buf **")
        _check(lib.sessile_store_sessions_of(self._handle, raw, len(raw), out))
        return [
            StoredSession(key, data, expiry_of(kind, value), from_ms(at))
            for key, data, kind, value, at in unpack(_take(out))
        ]

    def end_sessions_of(self, owner: str | int, except_key: str | None = None) -> int:
        """Ends every live session of ``owner`` except ``except_key``; returns how many.

        Pass the current session's key for "sign out my other devices",
        None to end them all (a password reset, a locked account). Each is
        deleted as by ``delete``: a request still holding one cannot save
        it back (``SessionDeleted``). ``InvalidArgument`` without an owner
        key, ``InvalidKey`` when ``except_key`` is not a session key.
        """
        raw = _owner(owner)
        keep = b"" if except_key is None else _text(except_key, "a session key")
        return int(_get("uint64_t *", lib.sessile_store_end_sessions_of, self._handle, raw, len(raw),
                        keep or ffi.NULL, len(keep)))

    def flush(self) -> None:
        """Writes every acknowledged save to disk now."""
        _check(lib.sessile_engine_flush(self._handle))

    # -- clock

    def now_ms(self) -> int:
        """The engine's clock, in ms since the epoch (manual with ``manual_clock``)."""
        return int(_get("int64_t *", lib.sessile_engine_now, self._handle))

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

    ``owner_key`` (default none) names the data key of a session's owner,
    such as ``"user_id"`` or Django's ``"_auth_user_id"`` (a dotted path,
    ``"passport.user"``, reaches into nested maps); the store then keeps an
    index of sessions by owner for ``sessions_of`` and ``end_sessions_of``.
    The database remembers it: opened later without one, it keeps indexing
    by it; opened with another, it rebuilds the index (reading every session).
    """
    return Engine(path, **options)



__all__ = [
    "ABI_VERSION", "LIBRARY_VERSION", "KEEP", "Engine", "Expiry", "Record", "Response",
    "Session", "StoredSession", "check_abi", "generate_key", "is_valid_key", "open",
]
