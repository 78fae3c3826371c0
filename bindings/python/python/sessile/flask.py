"""A Flask session interface storing sessions in sessile.

    app.session_interface = sessile.flask.SessileSessionInterface("sessions.db")

The cookie carries only the session key; the data stays on the server. Flask's
settings are honoured: ``SESSION_COOKIE_NAME``, ``_DOMAIN``, ``_PATH``,
``_HTTPONLY``, ``_SECURE``, ``_SAMESITE``, ``_PARTITIONED``,
``SESSION_REFRESH_EACH_REQUEST`` and ``PERMANENT_SESSION_LIFETIME`` (how long
the server keeps a session after its last save; a permanent session's cookie
expires then too, any other is a browser-session cookie). Saves send only the
keys changed during the request. Values come back as the types Flask's own
session keeps (its tagged JSON: tuples, bytes, Markup, UUID, datetime).

Nothing is signed, so a session works without ``SECRET_KEY`` and a new
``SECRET_KEY`` logs nobody out; ``interface.engine.delete_all()`` does.

"Log out everywhere": with ``owner_key="user_id"`` (the session key your
login stores the user id under; Flask-Login's is ``"_user_id"``),
``interface.sessions_of(user_id)`` lists a
user's sessions and ``interface.end_sessions_of(user_id,
except_key=session.key)`` signs out their other devices.
Otherwise Flask's own test suite passes on it (tests/flask_upstream.py).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from . import _errors
from ._engine import Engine, StoredSession
from ._values import MAX_AGE_S, Expiry, pack_value, to_ms


def _context_tracks_access() -> bool:
    """Whether Flask marks the session accessed itself: from 3.1.3 its request
    context does, whenever the application reaches ``flask.session``, and its
    own session class no longer does on reads. Before, each session class
    marked itself on every read, as Flask's did."""
    numbers = [int(n) for n in re.findall(r"\d+", version("flask"))[:3]]
    return tuple(numbers + [0] * (3 - len(numbers))) >= (3, 1, 3)


_CONTEXT_TRACKS_ACCESS = _context_tracks_access()


class SessileSession(CallbackDict, SessionMixin):  # type: ignore[misc]
    """``flask.session``: a dict that knows its key and what was stored.

    ``accessed`` means what it means for Flask's own session: the application
    reached the session during the request (so the response gets ``Vary:
    Cookie``). Reads made by the session interface itself, such as
    ``should_set_cookie`` asking ``permanent``, do not count.
    """

    def __init__(self, initial: dict[str, Any] | None = None, key: str | None = None,
                 stored: dict[str, bytes] | None = None) -> None:
        def on_update(self: SessileSession) -> None:
            self.modified = True
            if not _CONTEXT_TRACKS_ACCESS:
                self.accessed = True

        super().__init__(initial, on_update)
        self.key = key
        self.new = key is None
        self.modified = False
        self.accessed = False
        # Each key's value as stored (packed), to tell what a request changed.
        self.stored: dict[str, bytes] = (
            stored if stored is not None else {k: pack_value(v, k) for k, v in (initial or {}).items()}
        )

    if not _CONTEXT_TRACKS_ACCESS:
        # Flask before 3.1.3: its session class marked reads itself.

        def __getitem__(self, key: str) -> Any:
            self.accessed = True
            return super().__getitem__(key)

        def get(self, key: str, default: Any = None) -> Any:
            self.accessed = True
            return super().get(key, default)

        def setdefault(self, key: str, default: Any = None) -> Any:
            self.accessed = True
            return super().setdefault(key, default)


class SessileSessionInterface(SessionInterface):
    """Server-side Flask sessions in the sessile database at ``path``."""

    session_class = SessileSession

    def __init__(self, path: str | os.PathLike[str] | None = None, *, engine: Engine | None = None,
                 **options: Any) -> None:
        if engine is None:
            engine = Engine(path, **options)
        elif path is not None or any(v is not None for v in options.values()):
            # The engine was opened with its own settings: these would be
            # ignored.
            given = ", ".join(["path"] * (path is not None) + sorted(k for k, v in options.items() if v is not None))
            raise _errors.InvalidArgument(f"sessile: {given} cannot be given with engine=: pass it to Engine()")
        self.engine = engine
        # Flask's own session keeps what its tagged JSON keeps (tuples,
        # bytes, Markup, UUID, datetime, dicts whose key looks like a tag):
        # each value is stored as that tagged form, so it comes back as the
        # type it was. Register more tags here, as with Flask's serializer.
        self.serializer = TaggedJSONSerializer()

    def sessions_of(self, owner: str | int) -> list[StoredSession]:
        """The live sessions of ``owner`` (the value under the engine's
        ``owner_key``), the one that expires last first: ``Engine.sessions_of``.
        Their ``data`` is as stored (values tagged as Flask's serializer tags
        them)."""
        return self.engine.sessions_of(owner)

    def end_sessions_of(self, owner: str | int, except_key: str | None = None) -> int:
        """Ends every session of ``owner`` but ``except_key`` (pass
        ``flask.session.key`` for "sign out my other devices"); returns how
        many: ``Engine.end_sessions_of``. Their next requests start empty."""
        return self.engine.end_sessions_of(owner, except_key)

    def _untag(self, value: Any) -> Any:
        """A stored value back as the type it was (each tagged dict, inside
        lists and dicts too, through the serializer's tags)."""
        if isinstance(value, dict):
            return self.serializer.untag({k: self._untag(v) for k, v in value.items()})
        if isinstance(value, list):
            return [self._untag(v) for v in value]
        return value

    def open_session(self, app: Any, request: Any) -> SessileSession:
        key = request.cookies.get(self.get_cookie_name(app))
        if not key:
            return self.session_class()
        record = self.engine.get(key)
        if record is None or not isinstance(record.data, dict):
            return self.session_class()
        data = {k: self._untag(v) for k, v in record.data.items()}
        stored = {k: pack_value(v, k) for k, v in record.data.items()}
        return self.session_class(data, key=key, stored=stored)

    def _expiry(self, app: Any) -> tuple[Expiry, datetime]:
        now = datetime.now(timezone.utc)
        until = now + app.permanent_session_lifetime
        # Browsers keep a cookie 400 days at most, and the engine keeps the
        # record no longer (it refuses a later date).
        at = min(to_ms(until), self.engine.now_ms() + MAX_AGE_S * 1000)
        return Expiry.at(at), until

    def save_session(self, app: Any, session: SessileSession, response: Any) -> None:  # type: ignore[override]
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app) if hasattr(self, "get_cookie_partitioned") else False
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        if session.accessed:
            response.vary.add("Cookie")

        if not session:
            # Emptied during the request (logout): delete it and its cookie.
            if session.modified and session.key is not None:
                self.engine.delete(session.key)
                extra = {"partitioned": partitioned} if partitioned else {}
                response.delete_cookie(name, domain=domain, path=path, secure=secure,
                                       samesite=samesite, httponly=httponly, **extra)
                response.vary.add("Cookie")
            return

        if not self.should_set_cookie(app, session):
            return

        expiry, until = self._expiry(app)
        data = {k: self.serializer.tag(v) for k, v in session.items()}
        encoded = {k: pack_value(v, k) for k, v in data.items()}
        if session.key is None:
            session.key = self.engine.create(data, expiry)
        elif session.modified:
            changed = {k: data[k] for k, raw in encoded.items() if session.stored.get(k) != raw}
            removed = [k for k in session.stored if k not in encoded]
            try:
                self.engine.save_delta(session.key, changed, removed, expiry)
            except (_errors.SessionDeleted, _errors.InvalidKey):
                # Deleted meanwhile (a logout in another tab): not brought back.
                response.delete_cookie(name, domain=domain, path=path, secure=secure,
                                       samesite=samesite, httponly=httponly)
                return
        else:
            # SESSION_REFRESH_EACH_REQUEST: extend the stored session too.
            try:
                self.engine.touch(session.key, expiry)
            except (_errors.NotFound, _errors.InvalidKey):
                return
        session.stored = encoded

        extra = {"partitioned": partitioned} if partitioned else {}
        response.set_cookie(
            name, session.key,
            expires=until if session.permanent else None,
            httponly=httponly, domain=domain, path=path, secure=secure, samesite=samesite,
            **extra,
        )
        response.vary.add("Cookie")


__all__ = ["SessileSession", "SessileSessionInterface"]
