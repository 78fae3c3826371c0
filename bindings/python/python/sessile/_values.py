"""Values crossing the C ABI, both ways.

Session data is MessagePack (through the ``msgpack`` package): one value per
data key, or the whole data as one map with string keys. An expiry policy is
an ``Expiry`` here and a ``sessile_expiry`` struct in C; ``_c_expiry`` also
takes Django's ``set_expiry`` forms. Times are ms since the Unix epoch in C
and ``datetime`` here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import msgpack

from ._ffi import ffi, lib


# --------------------------------------------------------------------------
# Session data: MessagePack through the msgpack package


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


def pack_keys(names: Iterable[str]) -> bytes:
    """Data keys as one MessagePack array of strings (``save_delta``'s removals)."""
    keys = list(names)
    for name in keys:
        if not isinstance(name, str):
            raise TypeError(f"sessile: session keys must be str, not {type(name).__name__}")
    return msgpack.packb(keys, use_bin_type=True)


def unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


# --------------------------------------------------------------------------
# Expiry


class ExpiryKind(str, enum.Enum):
    """The kind of an expiry policy: ``Expiry.kind``.

    A ``str`` enum, as the kinds were plain strings before: a member equals,
    hashes and formats as its value (``kind == "at"`` holds), so an
    ``Expiry`` made with the string is the same policy. (``enum.StrEnum``
    does this from Python 3.11; the package supports 3.10.)
    """

    #: ``set_expiry(None)``: the engine's ``cookie_age``.
    DEFAULT = "default"
    #: ``set_expiry(0)``: the cookie ends with the browser.
    BROWSER_CLOSE = "browser_close"
    #: ``value`` seconds after each save.
    SECONDS = "seconds"
    #: At ``value`` ms since the Unix epoch.
    AT = "at"
    #: Store-level saves and touch only: keep the stored policy.
    KEEP = "keep"

    def __str__(self) -> str:
        return self.value


# The C header's number for each kind (SESSILE_EXPIRY_KIND_*), and back.
_KIND_NUMBERS = {
    ExpiryKind.DEFAULT: lib.SESSILE_EXPIRY_KIND_DEFAULT,
    ExpiryKind.BROWSER_CLOSE: lib.SESSILE_EXPIRY_KIND_BROWSER_CLOSE,
    ExpiryKind.SECONDS: lib.SESSILE_EXPIRY_KIND_SECONDS,
    ExpiryKind.AT: lib.SESSILE_EXPIRY_KIND_AT,
    ExpiryKind.KEEP: lib.SESSILE_EXPIRY_KIND_KEEP,
}
_KINDS = {number: kind for kind, number in _KIND_NUMBERS.items()}


class Expiry(NamedTuple):
    """A session's expiry policy: Django's ``set_expiry`` argument, one kind per form.

    ``kind`` is an ``ExpiryKind``; ``value`` is seconds for ``SECONDS``, ms
    since the Unix epoch for ``AT``, and 0 for the other kinds.
    """

    kind: ExpiryKind
    value: int = 0

    @classmethod
    def default(cls) -> Expiry:
        return cls(ExpiryKind.DEFAULT)

    @classmethod
    def browser_close(cls) -> Expiry:
        return cls(ExpiryKind.BROWSER_CLOSE)

    @classmethod
    def seconds(cls, seconds: int) -> Expiry:
        return cls(ExpiryKind.SECONDS, int(seconds))

    @classmethod
    def at(cls, when: datetime | int) -> Expiry:
        return cls(ExpiryKind.AT, when if isinstance(when, int) else to_ms(when))


#: The longest expiry sessile accepts, in seconds: 400 days, the longest
#: browsers keep a cookie (RFC 6265bis). Also the furthest ahead a date may be.
MAX_AGE_S = 400 * 86400

#: Store-level saves and touch: keep the policy the session already has.
KEEP = Expiry(ExpiryKind.KEEP)

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
        kind, value = ExpiryKind.DEFAULT, 0
    elif isinstance(expiry, Expiry):
        if expiry.kind not in _KIND_NUMBERS:
            raise ValueError(f"sessile: unknown expiry kind {expiry.kind!r}")
        kind, value = expiry.kind, expiry.value
    elif isinstance(expiry, bool):
        raise TypeError("sessile: expiry must be None, int seconds, timedelta, datetime or Expiry")
    elif isinstance(expiry, int):
        # Clamped to int64 so that the library, not cffi, says what the range is.
        kind, value = (ExpiryKind.BROWSER_CLOSE, 0) if expiry == 0 else (ExpiryKind.SECONDS, _i64(expiry))
    elif isinstance(expiry, timedelta):
        kind, value = ExpiryKind.SECONDS, expiry.days * 86400 + expiry.seconds
    elif isinstance(expiry, datetime):
        kind, value = ExpiryKind.AT, to_ms(expiry)
    else:
        raise TypeError(
            "sessile: expiry must be None, int seconds, timedelta, datetime or Expiry, "
            f"not {type(expiry).__name__}"
        )
    c = ffi.new("sessile_expiry *")
    c.kind, c.value = _KIND_NUMBERS[kind], value
    return c[0]


def _i64(n: int) -> int:
    """``n`` clamped to int64: out-of-range values then get the library's error."""
    return max(-(2**63), min(n, 2**63 - 1))


def _py_expiry(c: Any) -> Expiry:
    return expiry_of(c.kind, c.value)


def expiry_of(kind: int, value: int) -> Expiry:
    """The policy of a ``sessile_expiry`` given as its two numbers (as
    listings such as ``sessile_store_sessions_of`` give them)."""
    return Expiry(_KINDS.get(kind, str(kind)), int(value))
