"""sessile: an embedded session engine (Django's request.session as a library).

    import sessile
    with sessile.open("sessions.db") as engine:
        key = engine.create({"user_id": 42}, expiry=3600)
        engine.load(key).data            # {'user_id': 42}

The same calls work on a Redis server shared by several processes or hosts:
``sessile.open("redis://127.0.0.1:6379/0")`` (``?prefix=app:`` to share a
database between applications).

``sessile.django`` is a Django ``SESSION_ENGINE``; ``sessile.flask`` has a
Flask session interface. Values are anything MessagePack carries (through the
``msgpack`` package): None, bool, int, float, str, bytes, lists (tuples come
back as lists) and dicts with string keys.
"""

from ._errors import (
    AbiMismatch,
    Closed,
    Corrupt,
    Forked,
    InvalidArgument,
    InvalidData,
    InvalidKey,
    InvalidUtf8,
    IOFailure,
    KeyCollision,
    Locked,
    NotADatabase,
    NotFound,
    NullArgument,
    Panic,
    SessileError,
    SessionDeleted,
    TooLarge,
    Unavailable,
    WrongType,
)
from ._ffi import ABI_VERSION, LIBRARY_VERSION
from ._values import KEEP, MAX_AGE_S, Expiry, ExpiryKind
from ._session import Response, Session
from ._engine import Engine, Record, StoredSession, generate_key, is_valid_key, open

__version__ = LIBRARY_VERSION

__all__ = [
    "ABI_VERSION", "KEEP", "LIBRARY_VERSION", "MAX_AGE_S", "AbiMismatch", "Closed", "Corrupt", "Engine",
    "Expiry", "ExpiryKind", "Forked", "IOFailure", "InvalidArgument", "InvalidData", "InvalidKey",
    "InvalidUtf8", "KeyCollision", "Locked", "NotADatabase", "NotFound", "NullArgument", "Panic", "Record",
    "Response", "SessileError", "Session", "SessionDeleted", "StoredSession", "TooLarge", "Unavailable",
    "WrongType",
    "generate_key", "is_valid_key", "open",
]
