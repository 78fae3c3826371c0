"""A Django session engine: ``SESSION_ENGINE = "sessile.django"``.

Settings, read at the first use and again whenever Django signals that one
of them changed (``override_settings`` does):

- ``SESSILE_PATH``: the database directory (embedded; one process), or
- ``SESSILE_URL``: a store URL instead, e.g. ``"redis://127.0.0.1:6379/0"``
  for a Redis server that every worker process and host shares (also
  ``rediss://`` for TLS, ``redis+sentinel://``, ``redis+cluster://``; query
  parameters ``prefix``, ``connect_timeout_ms``, ``timeout_ms``,
  ``pool_size``, ``wait``, ``tls_ca``...: docs/OPERATIONS.md). It wins over
  ``SESSILE_PATH`` when both are set.
- ``SESSILE_OPTIONS``: a dict of further ``sessile.open`` options
  (``max_value_size``, ``flush_every_ms``, ``reaper_interval_ms``, ...).
- ``SESSILE_OWNER_KEY``: the data key that names a session's owner, by
  default ``"_auth_user_id"`` (``django.contrib.auth.SESSION_KEY``, which
  ``login()`` sets to the user's primary key); the store keeps an index of
  sessions by it. None: no index (a database that kept one goes on keeping
  it). Another key rebuilds the index when the database opens. The helpers
  below take a user's owner to be its primary key as ``login()`` stores it;
  with a key of your own, pass them the owner value itself.
- ``SESSILE_END_SESSIONS_ON_PASSWORD_CHANGE`` (default True): with
  ``"sessile.django"`` in ``INSTALLED_APPS``, a user's password change ends
  the user's sessions; the request that made it keeps its own through
  ``update_session_auth_hash``, as Django does (see ``sessile.django.apps``).

Django's cookie settings stay Django's: the middleware sets the cookie, this
backend stores the data. It follows ``SessionBase`` exactly (``load`` of an
unknown, expired, malformed or damaged key returns ``{}`` and creates
nothing; ``CreateError`` / ``UpdateError`` as the database backend raises
them), and saves only the data keys changed since the session was loaded,
so two parallel requests that change different keys both keep their change.

"Log out everywhere" through the owner index: ``end_other_sessions(request)``
("sign out my other devices"), ``end_all_sessions(user)`` and
``sessions_of(user)`` (an "active sessions" page). A request still holding
an ended session cannot save it back: Django answers it as after a logout in
another tab (``SessionInterrupted``), and its next request is anonymous.
"""

from __future__ import annotations

import logging
import os
import threading
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .. import _errors
from .._engine import Engine, StoredSession
from .._values import MAX_AGE_S, Expiry, ExpiryKind, pack_map, to_ms, unpack

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], Engine] = {}
_engines_lock = threading.Lock()


# The engine for the current settings, resolved once and kept until one of
# them changes: Django sends `setting_changed` when `override_settings` (or
# a test runner) changes a setting, and that clears it. Looking settings up
# costs microseconds on every request (a missing one raises inside
# LazySettings), which is most of what a session costs here.
_current: Engine | None = None
_SETTINGS = frozenset({"SESSILE_URL", "SESSILE_PATH", "SESSILE_OPTIONS", "SESSILE_OWNER_KEY"})


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting in _SETTINGS:
        _current = None


setting_changed.connect(_on_setting_changed, dispatch_uid="sessile.django")


def owner_key() -> str | None:
    """The data key that names a session's owner: ``SESSILE_OWNER_KEY``, else
    an ``owner_key`` in ``SESSILE_OPTIONS``, else ``"_auth_user_id"``."""
    if hasattr(settings, "SESSILE_OWNER_KEY"):
        return settings.SESSILE_OWNER_KEY
    return (getattr(settings, "SESSILE_OPTIONS", None) or {}).get("owner_key", AUTH_SESSION_KEY)


def get_engine() -> Engine:
    """The engine for the current ``SESSILE_URL`` (or ``SESSILE_PATH``),
    ``SESSILE_OPTIONS`` and ``SESSILE_OWNER_KEY``.

    Engines are opened once per (path or URL, options) and kept for the life
    of the process; the core shares one database per path anyway.
    """
    global _current
    engine = _current
    if engine is not None and not engine.closed:
        return engine
    path = getattr(settings, "SESSILE_URL", None) or getattr(settings, "SESSILE_PATH", None)
    options = dict(getattr(settings, "SESSILE_OPTIONS", None) or {})
    options.pop("owner_key", None)
    key = owner_key()
    if key:
        options["owner_key"] = key
    engine = _resolve_engine(path, options)
    _current = engine
    return engine


def _resolve_engine(path: Any, raw_options: Any) -> Engine:
    if not path:
        raise ImproperlyConfigured(
            'SESSION_ENGINE = "sessile.django" needs the setting SESSILE_PATH (the directory '
            "of the session database, created if missing) or SESSILE_URL (e.g. "
            '"redis://127.0.0.1:6379/0")'
        )
    options = dict(raw_options or {})
    location = os.fspath(path)
    if "://" not in location and location != "memory:":
        location = os.path.abspath(location)
    cache_key = (location, tuple(sorted(options.items(), key=lambda kv: kv[0])))
    engine = _engines.get(cache_key)
    if engine is None or engine.closed:
        with _engines_lock:
            engine = _engines.get(cache_key)
            if engine is None or engine.closed:
                engine = Engine(cache_key[0], **options)
                _engines[cache_key] = engine
    return engine


def close_engines() -> None:
    """Closes every engine this module opened (tests; process shutdown)."""
    global _current
    _current = None
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()


_security_logger = logging.getLogger("django.security.SuspiciousSession")

# Expiry policies by seconds: a site uses one or two (SESSION_COOKIE_AGE).
_SECONDS: dict[int, Expiry] = {}


# The sessions the last password change in this context ended
# (sessile.django.apps): a request that changed its user's password and
# then calls update_session_auth_hash cycles the key of a session that is
# gone, and carries it to the new key. Per context (thread, asyncio task),
# so no other request sees it; replaced at each change.
_ended_by_password_change: ContextVar[frozenset[str]] = ContextVar(
    "sessile_ended_by_password_change", default=frozenset()
)


class SessionStore(SessionBase):
    """Django's ``SessionBase`` over a sessile database."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The data map's MessagePack bytes as last loaded or saved: a save
        # sends the whole map with these, and the engine writes only the
        # keys that differ (set) or disappeared (remove).
        self._seen = b""

    @classmethod
    def get_engine(cls) -> Engine:
        return get_engine()

    # -- helpers

    def _expiry_for(self, data: dict[str, Any]) -> Expiry:
        # Django keeps the policy in the data (`_session_expiry`) and turns it
        # into a date with get_expiry_date(); the store gets the same
        # deadline. No expiry, or 0 (browser close: the cookie goes, the
        # record lives SESSION_COOKIE_AGE), or n seconds is counted from now
        # by the engine; a date is passed as it is.
        #
        # Django takes any value; the engine keeps a record at most 400 days
        # (MAX_AGE_S, the longest browsers keep a cookie), so a longer age or
        # later date is cut to that, which no visitor can tell. A negative
        # age or past date (Django's way to expire a session at once) is
        # stored as a past date: the session is expired, as in Django.
        expiry = data.get("_session_expiry")
        if not expiry:
            expiry = self.get_session_cookie_age()
        elif type(expiry) is not int:
            at = to_ms(self.get_expiry_date(expiry=expiry))
            return Expiry.at(min(at, self.get_engine().now_ms() + MAX_AGE_S * 1000))
        if expiry < 0:
            return Expiry.at(self.get_engine().now_ms() + max(expiry, -MAX_AGE_S) * 1000)
        expiry = min(expiry, MAX_AGE_S)
        policy = _SECONDS.get(expiry)
        if policy is None:
            policy = Expiry(ExpiryKind.SECONDS, expiry)
            if len(_SECONDS) < 64:
                _SECONDS[expiry] = policy
        return policy

    # -- SessionBase's storage API

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        return self.get_engine().exists(session_key)

    def load(self) -> dict[str, Any]:
        key = self.session_key
        raw = None
        if key is not None:
            try:
                raw = self.get_engine().load_raw(key)
                data = unpack(raw)
            except (_errors.NotFound, _errors.InvalidKey):
                raw = None
            except (_errors.Corrupt, _errors.InvalidData, ValueError) as exc:
                _security_logger.warning("Session data corrupted: %s", exc)
                raw = None
        if raw is None or not isinstance(data, dict):
            # As the database backend: an unusable key is dropped, never reused.
            self._session_key = None
            self._seen = b""
            return {}
        self._seen = raw
        return data

    def create(self) -> None:
        data = self._get_session(no_load=True)
        packed = pack_map(data)
        # The engine draws the key and inserts only if it is free (retrying
        # on a collision), so no CreateError can reach here.
        key = self.get_engine().create(packed, self._expiry_for(data))
        self._session_key = key
        self._seen = packed
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        engine = self.get_engine()
        expiry = self._expiry_for(data)
        key = self._session_key
        if must_create:
            # A caller-chosen key: Django's contract is CreateError if taken,
            # decided atomically by the store (two racing creates of one key:
            # one wins, the other raises).
            try:
                self._seen = engine.save_diff(key, b"", data, expiry, create_only=True)
            except (_errors.KeyCollision, _errors.InvalidKey) as exc:
                raise CreateError from exc
        else:
            try:
                self._seen = engine.save_diff(key, self._seen, data, expiry)
            except (_errors.SessionDeleted, _errors.InvalidKey) as exc:
                # Deleted meanwhile (a logout in another tab), or a key that
                # can never have been stored: do not bring it back.
                raise UpdateError from exc

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self.get_engine().delete(session_key)
        except _errors.InvalidKey:
            pass  # no such session can exist

    def cycle_key(self) -> None:
        data = self._session
        key = self.session_key
        if key is None:
            # Never stored (or gone before this request read it): Django's
            # create.
            self.create()
            self._session_cache = data
            return
        packed = pack_map(data)
        try:
            self._session_key = self.get_engine().cycle_key(key, self._seen, packed, self._expiry_for(data))
        except (_errors.SessionDeleted, _errors.InvalidKey) as exc:
            ended = _ended_by_password_change.get()
            if key in ended:
                # This request changed its user's password, which ended every
                # session of the user, this one too, and now keeps the user
                # signed in (update_session_auth_hash): as Django's own
                # cycle_key, the data it holds goes to a new key.
                _ended_by_password_change.set(ended - {key})
                self._session_key = self.get_engine().create(packed, self._expiry_for(data))
                self._seen = packed
                self.modified = True
                return
            # Logged out in another tab while this request held the session
            # (SessionBase.cycle_key would copy it to a new key and so bring
            # the user back). The middleware answers a deleted session so.
            raise SessionInterrupted(
                "The request's session was deleted before the request completed. The user may "
                "have logged out in a concurrent request, for example."
            ) from exc
        # Our data as the next save's base: the store holds it merged with
        # what other requests saved meanwhile, and the next save writes only
        # what changes from here.
        self._seen = packed
        self.modified = True

    async def acycle_key(self) -> None:
        # SessionBase's async version creates the new key and deletes the old
        # one whether or not the session is still stored (a logout in another
        # tab would be undone by an async login): the same checked move as
        # cycle_key, off the event loop.
        await sync_to_async(self.cycle_key)()

    @classmethod
    def clear_expired(cls) -> None:
        cls.get_engine().clear_expired()


# --------------------------------------------------------------------------
# Log out everywhere: the sessions of one user, through the owner index


def owner_of(user: Any) -> str | None:
    """The owner a user's sessions name: what ``login()`` stores under
    ``_auth_user_id`` (``user._meta.pk.value_to_string(user)``). A str or int
    is taken as the owner itself; an anonymous user (or None) owns nothing.
    """
    if isinstance(user, str):
        return user
    if isinstance(user, int) and not isinstance(user, bool):
        return str(user)
    if user is None or getattr(user, "pk", None) is None:
        return None
    return user._meta.pk.value_to_string(user)


def sessions_of(user: Any) -> list[StoredSession]:
    """The live sessions of ``user`` (a user, or an owner as a str or int),
    the one that expires last first: an "active sessions" page.

    Each has ``key``, ``data`` and ``expires_at`` (UTC). A session key is a
    credential: show the user something else (``data`` the site stored at
    login, such as a device name, and ``expires_at``), and compare
    ``key == request.session.session_key`` to mark the current one.
    """
    owner = owner_of(user)
    return [] if owner is None else get_engine().sessions_of(owner)


def end_all_sessions(user: Any) -> int:
    """Ends every session of ``user`` (a user, or an owner as a str or int);
    returns how many. A locked account, "log out everywhere"."""
    owner = owner_of(user)
    return 0 if owner is None else get_engine().end_sessions_of(owner)


def end_other_sessions(request: Any) -> int:
    """Ends every session of ``request.user`` but ``request.session``
    ("sign out my other devices"); returns how many.

    Their next requests are anonymous, with a new session when they write;
    a request of theirs still running cannot save its session back.
    """
    owner = owner_of(getattr(request, "user", None))
    if owner is None:
        return 0
    return get_engine().end_sessions_of(owner, except_key=request.session.session_key)


__all__ = [
    "SessionStore", "close_engines", "end_all_sessions", "end_other_sessions", "get_engine",
    "owner_key", "owner_of", "sessions_of",
]
