"""The tiny Django site that benches/e2e_django.py serves under gunicorn,
once per session engine: settings, views, URLs and the WSGI application in
one module (``gunicorn --chdir benches e2e_django_site:application``).

The engine comes from the environment the driver sets:
``E2E_ENGINE`` (a key of ENGINES), ``E2E_DIR`` (a directory for its files),
``E2E_REDIS_URL`` and ``E2E_SECRET_KEY``. Every server runs the same
settings apart from the engine: ``DEBUG = False``, ``SessionMiddleware``
alone in ``MIDDLEWARE``, Django's defaults otherwise (so the ``db`` engine
opens a new SQLite connection per request, ``CONN_MAX_AGE = 0``, as a
default site does). The ``floor`` server has no session middleware at all.

Views:
- ``/login?n=N``: a new session holding a logged-in user's data
  (benchlib.session_data) and ``count = 0``; the middleware sets the cookie.
  The driver creates its pool of sessions through it before timing.
- ``/``: reads two keys of the session, increments ``count``, answers it.
  A session that did not load answers 500 (the keys are missing), so a
  lost session cannot pass unnoticed; the floor answers without a session.
"""

from __future__ import annotations

import os
from pathlib import Path

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

from benchlib import session_data

SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
# key: (the settings that choose the engine, MIDDLEWARE)
ENGINES = {
    "sessile": ({"SESSION_ENGINE": "sessile.django"}, [SESSIONS]),
    "db": ({"SESSION_ENGINE": "django.contrib.sessions.backends.db"}, [SESSIONS]),
    "locmem": ({"SESSION_ENGINE": "django.contrib.sessions.backends.cache", "SESSION_CACHE_ALIAS": "default"},
               [SESSIONS]),
    "redis": ({"SESSION_ENGINE": "django.contrib.sessions.backends.cache", "SESSION_CACHE_ALIAS": "redis"},
              [SESSIONS]),
    "file": ({"SESSION_ENGINE": "django.contrib.sessions.backends.file"}, [SESSIONS]),
    "signed_cookies": ({"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}, [SESSIONS]),
    "floor": ({}, []),
}

ENGINE = os.environ["E2E_ENGINE"]
DIR = Path(os.environ["E2E_DIR"])


def login(request):
    s = request.session
    s.update(session_data(int(request.GET.get("n", "0"))))
    s["count"] = 0
    return HttpResponse("ok")


def counter(request):
    s = request.session
    s["_auth_user_id"]
    s["_auth_user_hash"]
    s["count"] += 1
    return HttpResponse(str(s["count"]))


_served = 0


def floor(request):
    """The same answer's size without a session: what Django and gunicorn
    cost per request on their own."""
    global _served
    _served += 1
    return HttpResponse(str(_served))


def up(request):
    return HttpResponse("up")


urlpatterns = [
    path("", floor if ENGINE == "floor" else counter),
    path("login", up if ENGINE == "floor" else login),
    path("up", up),
]

engine_settings, middleware = ENGINES[ENGINE]
settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY=os.environ["E2E_SECRET_KEY"],
    USE_TZ=True,
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=middleware,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DIR / "db.sqlite3")}},
    CACHES={
        # LocMemCache culls at 300 entries by default, which would evict
        # most of the pool: room for all of it.
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "sessions", "OPTIONS": {"MAX_ENTRIES": 1_000_000}},
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                  "LOCATION": os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/0")},
    },
    SESSION_FILE_PATH=str(DIR),
    SESSILE_PATH=str(DIR / "sessile"),
    **engine_settings,
)
django.setup()

if ENGINE == "db":
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after settings

application = get_wsgi_application()
