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

Django's cookie settings stay Django's: the middleware sets the cookie, this
backend stores the data. It follows ``SessionBase`` exactly (``load`` of an
unknown, expired, malformed or damaged key returns ``{}`` and creates
nothing; ``CreateError`` / ``UpdateError`` as the database backend raises
them), and saves only the data keys changed since the session was loaded,
so two parallel requests that change different keys both keep their change.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from . import _errors
from ._engine import Engine
from ._values import MAX_AGE_S, Expiry, ExpiryKind, pack_map, to_ms, unpack

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], Engine] = {}
_engines_lock = threading.Lock()


# The engine for the current settings, resolved once and kept until one of
# them changes: Django sends `setting_changed` when `override_settings` (or
# a test runner) changes a setting, and that clears it. Looking settings up
# costs microseconds on every request (a missing one raises inside
# LazySettings), which is most of what a session costs here.
_current: Engine | None = None
_SETTINGS = frozenset({"SESSILE_URL", "SESSILE_PATH", "SESSILE_OPTIONS"})


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting in _SETTINGS:
        _current = None


setting_changed.connect(_on_setting_changed, dispatch_uid="sessile.django")


def get_engine() -> Engine:
    """The engine for the current ``SESSILE_URL`` (or ``SESSILE_PATH``) and
    ``SESSILE_OPTIONS``.

    Engines are opened once per (path or URL, options) and kept for the life
    of the process; the core shares one database per path anyway.
    """
    global _current
    engine = _current
    if engine is not None and not engine.closed:
        return engine
    path = getattr(settings, "SESSILE_URL", None) or getattr(settings, "SESSILE_PATH", None)
    engine = _resolve_engine(path, getattr(settings, "SESSILE_OPTIONS", None))
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

    @classmethod
    def clear_expired(cls) -> None:
        cls.get_engine().clear_expired()


__all__ = ["SessionStore", "get_engine", "close_engines"]
