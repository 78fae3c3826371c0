"""``INSTALLED_APPS += ["sessile.django"]``: a password change ends the
user's sessions in the store.

Django already refuses a session whose password hash is stale, on that
session's next request; this ends the sessions in the store at the change,
so that a session stolen before it is gone at once, ``sessions_of(user)``
lists only the sessions that still work, and nothing waits for the sweeper.

A change is a save of the user model (``AUTH_USER_MODEL``, proxies too)
after ``set_password()``: Django's ``PasswordChangeView`` and
``PasswordResetConfirmView``, the admin's password forms, ``manage.py
changepassword``, or ``user.set_password(...); user.save()`` anywhere.
A hash upgrade at login (``check_password`` re-hashing with a newer hasher)
is no change: Django clears ``_password`` for it. Neither are
``set_unusable_password()`` and ``QuerySet.update(password=...)``, which
leave no pending password (Django's hash check still logs those sessions
out on their next request).

Every session of the user ends, the one of the request that made the
change too: a session goes on only through ``update_session_auth_hash``,
as Django's own hash check has it. So the user who changes their own
password through ``PasswordChangeView`` (or the admin's form) stays signed
in, on a new key, and every other device of theirs is signed out; an
administrator who changes someone else's password stays signed in; a
change made outside a request ends them all.

``SESSILE_END_SESSIONS_ON_PASSWORD_CHANGE = False`` turns this off. It acts
only while ``SESSION_ENGINE`` is ``sessile.django`` (or a module whose
``SessionStore`` derives from it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from . import SessionStore, _ended_by_password_change, get_engine, owner_key, owner_of


class SessileConfig(AppConfig):
    """The app ``sessile.django``: connects the receiver below."""

    name = "sessile.django"
    label = "sessile"
    verbose_name = "sessile sessions"

    def ready(self) -> None:
        # No sender: a swapped AUTH_USER_MODEL and its proxies are checked in
        # the receiver, which returns at once for a model with no pending
        # password.
        post_save.connect(_password_saved, dispatch_uid="sessile.django.password_saved")


def _password_saved(sender: Any, instance: Any, created: bool = False, update_fields: Any = None,
                    raw: bool = False, **kwargs: Any) -> None:
    # AbstractBaseUser.set_password() keeps the new raw password in
    # `_password` until save() has called the password validators, after
    # the save and so after this signal; check_password()'s hash upgrade
    # clears it before saving.
    if getattr(instance, "_password", None) is None or created or raw:
        return
    if update_fields is not None and "password" not in update_fields:
        return  # the new password was not saved
    if not isinstance(instance, get_user_model()):
        return
    if not getattr(settings, "SESSILE_END_SESSIONS_ON_PASSWORD_CHANGE", True) or not _sessile_is_the_engine():
        return
    owner = owner_of(instance)
    if owner is None or not owner_key():
        return
    engine = get_engine()
    # The keys first: the request making the change may carry its session
    # to a new key afterwards (SessionStore.cycle_key).
    _ended_by_password_change.set(frozenset(s.key for s in engine.sessions_of(owner)))
    engine.end_sessions_of(owner)


def _sessile_is_the_engine() -> bool:
    module = import_module(settings.SESSION_ENGINE)
    store = getattr(module, "SessionStore", None)
    return isinstance(store, type) and issubclass(store, SessionStore)
