"""sessile: an embedded session engine (Django's request.session as a library).

    import sessile
    with sessile.open("sessions.db") as engine:
        key = engine.create({"user_id": 42}, expiry=3600)
        engine.load(key).data            # {'user_id': 42}

``sessile.django`` is a Django ``SESSION_ENGINE``; ``sessile.flask`` has a
Flask session interface. Values are anything MessagePack carries (through the
``msgpack`` package): None, bool, int, float, str, bytes, lists (tuples come
back as lists) and dicts with string keys.
"""

from ._errors import (
    AbiMismatch,
    Closed,
    Corrupt,
    InvalidArgument,
    InvalidData,
    InvalidKey,
    InvalidUtf8,
    IOFailure,
    KeyCollision,
    Locked,
    NotFound,
    NullArgument,
    Panic,
    SessileError,
    SessionDeleted,
    TooLarge,
    WrongType,
)
from ._engine import (
    ABI_VERSION,
    KEEP,
    LIBRARY_VERSION,
    Engine,
    Expiry,
    Record,
    Response,
    Session,
    generate_key,
    is_valid_key,
    open,
)

__version__ = LIBRARY_VERSION

__all__ = [
    "ABI_VERSION", "KEEP", "LIBRARY_VERSION", "AbiMismatch", "Closed", "Corrupt", "Engine",
    "Expiry", "IOFailure", "InvalidArgument", "InvalidData", "InvalidKey", "InvalidUtf8",
    "KeyCollision", "Locked", "NotFound", "NullArgument", "Panic", "Record", "Response",
    "SessileError", "Session", "SessionDeleted", "TooLarge", "WrongType", "generate_key",
    "is_valid_key", "open",
]
