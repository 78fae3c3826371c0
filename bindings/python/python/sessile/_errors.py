"""Exceptions, one per sessile result code (docs/ABI.md, "Results and errors").

Every exception carries ``code`` (the ABI's number) and the library's message.
Some also derive from the built-in exception a Python programmer would catch
for the same situation (``KeyError`` for a missing data key, ``ValueError`` for
bad input, ``OSError`` for storage failures).
"""

from __future__ import annotations


class SessileError(Exception):
    """Base class of every error reported by the sessile library."""

    code: int = -1
    name: str = "SESSILE_RESULT_UNKNOWN"

    def __init__(self, message: str = "", code: int | None = None) -> None:
        super().__init__(message or self.name)
        if code is not None:
            self.code = code


class NullArgument(SessileError):
    """A required pointer was NULL (a bug in the binding)."""

    code, name = 1, "SESSILE_RESULT_NULL_ARGUMENT"


class InvalidArgument(SessileError, ValueError):
    """An argument outside its domain (an expiry outside 1 s to 400 days, a bad cookie attribute, ...)."""

    code, name = 2, "SESSILE_RESULT_INVALID_ARGUMENT"


class InvalidUtf8(SessileError, ValueError):
    """A text argument was not UTF-8."""

    code, name = 3, "SESSILE_RESULT_INVALID_UTF8"


class InvalidKey(SessileError, ValueError):
    """A session key that is not 32 characters of ``[a-z0-9]``."""

    code, name = 4, "SESSILE_RESULT_INVALID_KEY"


class InvalidData(SessileError, ValueError):
    """MessagePack data that does not decode or is not a map with string keys."""

    code, name = 5, "SESSILE_RESULT_INVALID_DATA"


class TooLarge(SessileError, ValueError):
    """Over a configured limit: data key length, value size, record size or key count."""

    code, name = 6, "SESSILE_RESULT_TOO_LARGE"


class NotFound(SessileError, KeyError):
    """No live session under the key, or no such data key."""

    code, name = 7, "SESSILE_RESULT_NOT_FOUND"

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else self.name


class SessionDeleted(SessileError):
    """The session was deleted or expired meanwhile; the save wrote nothing."""

    code, name = 8, "SESSILE_RESULT_SESSION_DELETED"


class WrongType(SessileError, TypeError):
    """A stored value cannot be given in the requested form."""

    code, name = 9, "SESSILE_RESULT_WRONG_TYPE"


class Closed(SessileError):
    """The engine or session was closed."""

    code, name = 10, "SESSILE_RESULT_CLOSED"


class Locked(SessileError, OSError):
    """Another process holds the database directory.

    One process per directory: with several worker processes use a shared
    store (``SESSILE_URL=redis://...``) or one worker with threads. The
    message names the holder's pid when its lock file tells it.
    """

    code, name = 11, "SESSILE_RESULT_LOCKED"


class IOFailure(SessileError, OSError):
    """Reading or writing the database failed."""

    code, name = 12, "SESSILE_RESULT_IO"


class Corrupt(SessileError):
    """A stored record is damaged."""

    code, name = 13, "SESSILE_RESULT_CORRUPT"


class KeyCollision(SessileError):
    """No free session key was found (a broken random generator)."""

    code, name = 14, "SESSILE_RESULT_KEY_COLLISION"


class Panic(SessileError):
    """sessile panicked inside the call (a bug in sessile); the process is sound."""

    code, name = 15, "SESSILE_RESULT_PANIC"


class Forked(SessileError):
    """The engine was opened by the parent of this forked process: open one in the child."""

    code, name = 16, "SESSILE_RESULT_FORKED"


class Unavailable(SessileError, ConnectionError):
    """The shared store (Redis) cannot be reached or did not answer in time.

    Usually transient: the engine reconnects by itself, so a later call may
    succeed.
    """

    code, name = 17, "SESSILE_RESULT_UNAVAILABLE"


class NotADatabase(SessileError, OSError):
    """The path is not a sessile database and none is made there.

    A regular file, or a directory that holds other files and no database (a
    project folder given by mistake). A missing or empty directory becomes a
    new database.
    """

    code, name = 18, "SESSILE_RESULT_NOT_A_DATABASE"


class AbiMismatch(ImportError):
    """The loaded library speaks another ABI version than this package."""


BY_CODE: dict[int, type[SessileError]] = {
    cls.code: cls
    for cls in (
        NullArgument, InvalidArgument, InvalidUtf8, InvalidKey, InvalidData, TooLarge,
        NotFound, SessionDeleted, WrongType, Closed, Locked, IOFailure, Corrupt,
        KeyCollision, Panic, Forked, Unavailable, NotADatabase,
    )
}
