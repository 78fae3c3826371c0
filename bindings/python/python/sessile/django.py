"""A Django session engine: ``SESSION_ENGINE = "sessile.django"``.

Settings, read at each use (so ``override_settings`` works):

- ``SESSILE_PATH``: the database directory (required).
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
from django.core.exceptions import ImproperlyConfigured

from . import _errors
from ._engine import Engine, Expiry, pack_value, to_ms

_engines: dict[tuple[str, tuple[tuple[str, Any], ...]], Engine] = {}
_engines_lock = threading.Lock()


# The last (SESSILE_PATH, SESSILE_OPTIONS, engine) resolved: settings are
# read at every call (so override_settings works), but when they are the
# very same objects as last time, resolving them again is skipped. This is
# on every request's path, twice.
_last: tuple[Any, Any, Engine] | None = None


def get_engine() -> Engine:
    """The engine for the current ``SESSILE_PATH`` and ``SESSILE_OPTIONS``.

    Engines are opened once per (path, options) and kept for the life of the
    process; the core shares one database per path anyway.
    """
    global _last
    path = getattr(settings, "SESSILE_PATH", None)
    raw_options = getattr(settings, "SESSILE_OPTIONS", None)
    last = _last
    if last is not None and last[0] is path and last[1] is raw_options and not last[2].closed:
        return last[2]
    engine = _resolve_engine(path, raw_options)
    _last = (path, raw_options, engine)
    return engine


def _resolve_engine(path: Any, raw_options: Any) -> Engine:
    if not path:
        raise ImproperlyConfigured(
            'SESSION_ENGINE = "sessile.django" needs the setting SESSILE_PATH: '
            "the directory of the session database (created if missing)"
        )
    options = dict(raw_options or {})
    cache_key = (os.path.abspath(os.fspath(path)), tuple(sorted(options.items(), key=lambda kv: kv[0])))
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
    global _last
    _last = None
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()


_security_logger = logging.getLogger("django.security.SuspiciousSession")


class SessionStore(SessionBase):
    """Django's ``SessionBase`` over a sessile database."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # Each data key's MessagePack bytes as last loaded or saved: a save
        # sends only what differs (set) or disappeared (remove).
        self._stored: dict[str, bytes] = {}

    @classmethod
    def get_engine(cls) -> Engine:
        return get_engine()

    # -- helpers

    def _encode_values(self, data: dict[str, Any]) -> dict[str, bytes]:
        encoded = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"sessile: session keys must be str, not {type(key).__name__} ({key!r})")
            encoded[key] = pack_value(value, key)
        return encoded

    def _expiry_for(self, data: dict[str, Any]) -> Expiry:
        # Django keeps the policy in the data (`_session_expiry`) and turns it
        # into a date with get_expiry_date(); the store gets that date.
        when = self.get_expiry_date(expiry=data.get("_session_expiry"))
        return Expiry.at(to_ms(when))

    # -- SessionBase's storage API

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        return self.get_engine().exists(session_key)

    def load(self) -> dict[str, Any]:
        key = self.session_key
        record = None
        if key is not None:
            try:
                record = self.get_engine().load(key)
            except (_errors.NotFound, _errors.InvalidKey):
                record = None
            except (_errors.Corrupt, _errors.InvalidData) as exc:
                _security_logger.warning("Session data corrupted: %s", exc)
                record = None
        if record is None or not isinstance(record.data, dict):
            # As the database backend: an unusable key is dropped, never reused.
            self._session_key = None
            self._stored = {}
            return {}
        self._stored = self._encode_values(record.data)
        return record.data

    def create(self) -> None:
        data = self._get_session(no_load=True)
        encoded = self._encode_values(data)
        # The engine draws the key and inserts only if it is free (retrying
        # on a collision), so no CreateError can reach here.
        key = self.get_engine().create(data, self._expiry_for(data))
        self._session_key = key
        self._stored = encoded
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        encoded = self._encode_values(data)
        engine = self.get_engine()
        expiry = self._expiry_for(data)
        key = self._session_key
        if must_create:
            # A caller-chosen key: Django's contract is CreateError if taken.
            if engine.exists(key):
                raise CreateError
            try:
                engine.save(key, data, expiry, upsert=True)
            except _errors.InvalidKey as exc:
                raise CreateError from exc
        else:
            changed = {k: data[k] for k, raw in encoded.items() if self._stored.get(k) != raw}
            removed = [k for k in self._stored if k not in encoded]
            try:
                engine.save_delta(key, changed, removed, expiry)
            except (_errors.SessionDeleted, _errors.InvalidKey) as exc:
                # Deleted meanwhile (a logout in another tab), or a key that
                # can never have been stored: do not bring it back.
                raise UpdateError from exc
        self._stored = encoded

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
        super().cycle_key()
        # The new record holds everything; the next save is a delta against it.

    @classmethod
    def clear_expired(cls) -> None:
        get_engine().clear_expired()


__all__ = ["SessionStore", "get_engine", "close_engines"]
